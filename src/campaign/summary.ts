// The campaign summary as data: what summary.json holds and summary.md / junit.xml render.
// Built from per-block records, so `luv merge` rebuilds it from shards' summary.json files the
// same way a campaign builds it from its blocks.
//
// Everything but `seconds` and `timing` is a function of the command line (and the tree under
// test): the same seed and --runs give the same summary.

import { PROFILES, type Design, type ProfileName } from '../../models/design.ts'
import type { Platform } from '../../models/platform.ts'
import { FINDINGS } from '../../properties/findings.ts'
import type { ImplChoice, PropertyName } from '../check/executor.types.ts'
import { compactRanges } from './blocks.ts'
// issue 13: coverage in model terms
import type { CoverageData } from '../coverage/coverage.ts'

export const SUMMARY_FORMAT = 'luv-campaign-summary'
export const SUMMARY_VERSION = 1

export type Verdict = 'pass' | 'fail'
/** `not-checked`: no run checked the property (an interrupted or empty campaign) */
export type PropertyVerdict = Verdict | 'not-checked'

/** One block as the summary records it (summary.json `blocks.list`, one line each). */
export interface BlockEntry {
  index: number
  seed: number
  runs: number
  steps: number
  /** properties checked in this block */
  properties: PropertyName[]
  kexecWithPreservedDma: number
  fullRecovery: number
  failed?: PropertyName
  bundle?: string
  error?: string
  /** nothing was left to check */
  skipped?: boolean
  /** --profiles: the profile this block drew */
  profile?: ProfileName
  /** issue 13: faulted steps of its generated runs (armed, and reached their n-th allocation) */
  faults?: { armed: number; reached: number }
}

/** One distinct failure (a bundle). */
export interface FailureEntry {
  property: PropertyName
  /** bundle folder, relative to the report folder (the op-list hash) */
  bundle: string
  /** the syzbot-like bucket title (src/report bucketTitle) */
  title: string
  /** the report's title sentence */
  sentence: string
  message: string
  /** ops in the shrunk trace */
  length: number
  divergenceIndex: number
  /** the block(s) that found it and the fast-check coordinates of the first */
  blocks: number[]
  seed: number
  path: string
  shrinks: number
  /** properties checked when it was found (the fast-check replay needs the same set) */
  checked: PropertyName[]
  replay: { bundle: string; fastCheck: string }
  /** --profiles: the profile of the block that found it */
  profile?: ProfileName
  /** what shrinking it cost (--shrink-budget); its time is in timing.shrink */
  shrink?: { tried: number; skipped?: number; kept: number; budgetSpent: boolean; budgetMs?: number; originalLength: number; finalLength: number }
}

export interface CampaignContext {
  name: string
  /** the report folder as given (replay commands name bundles through it) */
  out: string
  seed: number
  profile: ProfileName
  overrides: Record<string, string>
  design: Design
  designLabel: string
  platformName: string
  platform: Platform
  platforms: Platform[]
  impl: ImplChoice
  defect?: string
  properties: PropertyName[]
  budget: { runs?: number; time?: string }
  runsPerBlock: number
  shard: { index: number; count: number } | null
  shards?: { index: number; count: number; name: string }[]
  versions: { luv: string; node: string; fastCheck: string; gitRev?: string }
  /** --profiles: what blocks draw from */
  profiles?: ProfileName[]
  /** --shrink-budget as given */
  shrinkBudget?: string
  /** issue 13: --fail-rate (0 or absent: no fault injection) */
  failRate?: number
}

export interface CampaignSummary {
  format: typeof SUMMARY_FORMAT
  formatVersion: typeof SUMMARY_VERSION
  name: string
  out: string
  verdict: Verdict
  interrupted: boolean
  seed: number
  runs: number
  steps: number
  design: { profile: ProfileName; overrides: Record<string, string>; label: string; axes: Design }
  /** `spec` is the platform; with `mixed`, `mixed` lists every platform runs draw from */
  platform: { name: string; spec: Platform; mixed?: Platform[] }
  impl: ImplChoice
  defect?: string
  budget: { runs?: number; time?: string }
  shard: { index: number; count: number } | null
  shards?: { index: number; count: number; name: string }[]
  blocks: {
    runsPerBlock: number
    count: number
    /** the block set, compactly (`0-39`, `0,2,4-9`) */
    indices: string
    /** block seeds are sha256-derived from (seed, index): see docs/campaign.md */
    seedDerivation: string
    aborted: number[]
    list: BlockEntry[]
  }
  properties: Partial<Record<PropertyName, { verdict: PropertyVerdict; blocks: number; runs: number; bundles: string[]; knownFinding?: string }>>
  failures: FailureEntry[]
  buckets: { title: string; property: PropertyName; bundles: string[] }[]
  reach: {
    runs: number
    kexecWithPreservedDma: number
    fullRecovery: number
    kexecWithPreservedDmaPercent: number
    fullRecoveryPercent: number
    /** distinct `OP errno` outcomes seen */
    outcomes: string[]
  }
  errors: { block: number; seed: number; message: string }[]
  /** coverage in model terms, summed over blocks (src/coverage/; issue 13) */
  coverage?: CoverageData
  /** --profiles: blocks, runs, steps and failed properties per profile drawn */
  profiles?: Partial<Record<ProfileName, { blocks: number; runs: number; steps: number; failed: PropertyName[]; bundles: string[] }>>
  /** --shrink-budget as given */
  shrinkBudget?: string
  /** issue 13: fault injection: the rate, faulted steps of the generated runs, and how many
   *  reached their n-th allocation (the rest ran as ordinary steps) */
  faults?: { rate: number; armed: number; reached: number }
  notes: string[]
  versions: { luv: string; node: string; fastCheck: string; gitRev?: string }
  // ---- the only fields that differ between identical campaigns -------------------------------
  seconds: number
  timing: {
    started: string
    finished: string
    stepsPerSecond: number
    workers: number
    reruns: number
    /** seconds each bundle's shrinking took (--shrink-budget bounds it) */
    shrink?: { bundle: string; seconds: number; budgetSpent: boolean }[]
  }
}

export const SEED_DERIVATION = 'the seed of block k is the first 31 bits of sha256("luv-campaign:<seed>:<k>")'

const pct = (n: number, d: number) => (d === 0 ? 0 : Math.round((1000 * n) / d) / 10)

/** `luv replay --seed … --path …` with everything the block's run depended on. */
export function fastCheckReplay(ctx: CampaignContext, seed: number, path: string, checked: readonly PropertyName[], profile: ProfileName = ctx.profile): string {
  const parts = ['luv replay', `--seed ${seed}`, `--path ${path}`, `--profile ${profile}`]
  for (const [a, o] of Object.entries(ctx.overrides)) parts.push(`--set ${a}=${o}`)
  if (ctx.platformName !== 'default') parts.push(`--platform ${ctx.platformName}`)
  parts.push(`--properties ${checked.join(',')}`, `--impl ${ctx.impl}`)
  if (ctx.defect !== undefined) parts.push(`--defect ${ctx.defect}`)
  if (ctx.failRate) parts.push(`--fail-rate ${ctx.failRate}`) // issue 13: the draws depend on it
  return parts.join(' ')
}

export const bundleReplay = (out: string, bundle: string): string => `luv replay ${joinPath(out, bundle)}`

export const joinPath = (dir: string, name: string): string => (dir === '' || dir === '.' ? name : `${dir.replace(/\/+$/, '')}/${name}`)

export function buildSummary(
  ctx: CampaignContext,
  blocks: BlockEntry[],
  failures: FailureEntry[],
  extra: {
    interrupted: boolean
    aborted: number[]
    outcomes: Iterable<string>
    errors: { block: number; seed: number; message: string }[]
    seconds: number
    started: string
    finished: string
    workers: number
    reruns: number
    notes?: string[]
    coverage?: CoverageData
    shrink?: { bundle: string; seconds: number; budgetSpent: boolean }[]
  },
): CampaignSummary {
  const list = [...blocks].sort((a, b) => a.index - b.index)
  const runs = list.reduce((n, b) => n + b.runs, 0)
  const steps = list.reduce((n, b) => n + b.steps, 0)
  const kd = list.reduce((n, b) => n + b.kexecWithPreservedDma, 0)
  const fr = list.reduce((n, b) => n + b.fullRecovery, 0)
  const fails = [...failures].sort((a, b) => a.blocks[0] - b.blocks[0] || a.bundle.localeCompare(b.bundle))
  for (const f of fails) f.replay = { bundle: bundleReplay(ctx.out, f.bundle), fastCheck: f.replay.fastCheck }

  // --profiles: a known finding belongs to one profile, so none is claimed for the campaign
  const mixed = list.some((b) => b.profile !== undefined)
  const known = Object.keys(ctx.overrides).length === 0 && !mixed ? FINDINGS[ctx.profile] : {}
  const properties: CampaignSummary['properties'] = {}
  for (const p of ctx.properties) {
    const checked = list.filter((b) => b.properties.includes(p))
    const bundles = fails.filter((f) => f.property === p).map((f) => f.bundle)
    const runs = checked.reduce((n, b) => n + b.runs, 0)
    properties[p] = {
      verdict: list.some((b) => b.failed === p) || bundles.length > 0 ? 'fail' : runs > 0 ? 'pass' : 'not-checked',
      blocks: checked.length,
      runs,
      bundles,
      ...(known[p] !== undefined && { knownFinding: known[p] }),
    }
  }
  const buckets = new Map<string, { title: string; property: PropertyName; bundles: string[] }>()
  for (const f of fails) {
    const b = buckets.get(f.title) ?? { title: f.title, property: f.property, bundles: [] }
    b.bundles.push(f.bundle)
    buckets.set(f.title, b)
  }
  const verdict: Verdict = Object.values(properties).some((p) => p.verdict === 'fail') || extra.errors.length > 0 ? 'fail' : 'pass'
  const notes = [
    'A property that fails in a block is not checked in later blocks, so one design finding does not starve the others. Blocks that ran at the same time may fail the same property; failures are kept once per bucket title (one bundle each, listing every block that found it).',
    ...(ctx.budget.runs !== undefined && runs < ctx.budget.runs
      ? [
          `${runs} of the ${ctx.budget.runs} runs asked for (--runs) were generated: a block stops at its first failing run (fast-check then shrinks that run), ` +
            `and blocks with no property left to check do not run${list.some((b) => b.failed) ? ` (failing blocks: ${list.filter((b) => b.failed).map((b) => `${b.index} at run ${b.runs}`).join(', ')})` : ''}.`,
        ]
      : []),
    ...(ctx.budget.time !== undefined
      ? [`A time-boxed campaign (--time ${ctx.budget.time}): no block starts after the budget, so the number of blocks depends on the machine's speed. Use --runs N for a reproducible block set.`]
      : []),
    ...(ctx.impl === 'model' ? ['conformance was not checked: --impl model runs the reference model alone.'] : []),
    ...(extra.interrupted ? ['Interrupted (SIGINT/SIGTERM): the report covers the blocks that finished.'] : []),
    ...(extra.aborted.length ? [`Blocks started but not finished, not counted: ${compactRanges(extra.aborted)}.`] : []),
    ...(list.some((b) => b.skipped) ? ['Blocks marked skipped had no property left to check (every requested property had failed).'] : []),
    ...(extra.notes ?? []),
  ]
  return {
    format: SUMMARY_FORMAT,
    formatVersion: SUMMARY_VERSION,
    name: ctx.name,
    out: ctx.out,
    verdict,
    interrupted: extra.interrupted,
    seed: ctx.seed,
    runs,
    steps,
    design: { profile: ctx.profile, overrides: ctx.overrides, label: ctx.designLabel, axes: ctx.design },
    platform: { name: ctx.platformName, spec: ctx.platform, ...(ctx.platforms.length > 1 && { mixed: ctx.platforms }) },
    impl: ctx.impl,
    ...(ctx.defect !== undefined && { defect: ctx.defect }),
    budget: ctx.budget,
    shard: ctx.shard,
    ...(ctx.shards && { shards: ctx.shards }),
    blocks: {
      runsPerBlock: ctx.runsPerBlock,
      count: list.length,
      indices: compactRanges(list.map((b) => b.index)),
      seedDerivation: SEED_DERIVATION,
      aborted: [...extra.aborted].sort((a, b) => a - b),
      list,
    },
    properties,
    failures: fails,
    buckets: [...buckets.values()],
    reach: {
      runs,
      kexecWithPreservedDma: kd,
      fullRecovery: fr,
      kexecWithPreservedDmaPercent: pct(kd, runs),
      fullRecoveryPercent: pct(fr, runs),
      outcomes: [...new Set(extra.outcomes)].sort(),
    },
    errors: extra.errors,
    ...(extra.coverage && { coverage: extra.coverage }),
    ...(mixed && { profiles: perProfile(list, fails) }),
    ...(ctx.shrinkBudget !== undefined && { shrinkBudget: ctx.shrinkBudget }),
    ...(ctx.failRate && { faults: { rate: ctx.failRate, armed: list.reduce((n, b) => n + (b.faults?.armed ?? 0), 0), reached: list.reduce((n, b) => n + (b.faults?.reached ?? 0), 0) } }),
    notes,
    versions: ctx.versions,
    seconds: Math.round(extra.seconds * 1000) / 1000,
    timing: {
      started: extra.started,
      finished: extra.finished,
      stepsPerSecond: extra.seconds > 0 ? Math.round(steps / extra.seconds) : 0,
      workers: extra.workers,
      reruns: extra.reruns,
      ...(extra.shrink && extra.shrink.length > 0 && { shrink: extra.shrink }),
    },
  }
}

/** --profiles: per drawn profile, what its blocks ran and found (profiles in first-drawn order). */
function perProfile(list: BlockEntry[], fails: FailureEntry[]): NonNullable<CampaignSummary['profiles']> {
  const out: NonNullable<CampaignSummary['profiles']> = {}
  for (const b of list) {
    if (b.profile === undefined) continue
    const p = (out[b.profile] ??= { blocks: 0, runs: 0, steps: 0, failed: [], bundles: [] })
    if (!b.skipped) p.blocks++
    p.runs += b.runs
    p.steps += b.steps
    if (b.failed && !p.failed.includes(b.failed)) p.failed.push(b.failed)
  }
  for (const f of fails) if (f.profile !== undefined && out[f.profile] && !out[f.profile]!.bundles.includes(f.bundle)) out[f.profile]!.bundles.push(f.bundle)
  return out
}

/** How many properties passed, failed, and were not checked at all. */
export function counts(s: CampaignSummary): { passed: number; failed: number; skipped: number } {
  const vs = Object.values(s.properties)
  const n = (v: PropertyVerdict) => vs.filter((p) => p.verdict === v).length
  return { passed: n('pass'), failed: n('fail'), skipped: n('not-checked') }
}

/** The closing line CI log scrapers read: `N passed, N failed[, N skipped]`. */
export function countLine(s: CampaignSummary): string {
  const { passed, failed, skipped } = counts(s)
  return `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`
}

/** `pass`, `FAIL  <bundles>` or `not checked`, for the per-property lines. */
export function propertyCell(s: CampaignSummary, name: PropertyName): string {
  const p = s.properties[name]!
  if (p.verdict === 'fail') return `FAIL  ${p.bundles.map((b) => joinPath(s.out, b) + '/').join(' ')}`
  return p.verdict === 'pass' ? 'pass' : 'not checked'
}

export const isProfile = (p: string): p is ProfileName => p in PROFILES
