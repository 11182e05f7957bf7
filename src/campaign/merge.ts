// `luv merge`: shard reports of one campaign → one report. Blocks are united by index (a block
// is the same work in every shard), runs and steps summed over them, a property fails if any
// shard failed it, failures are deduplicated (one per property and bucket title, as a campaign keeps
// them) and their bundle folders copied.

import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs'
import { basename, join, relative, resolve, sep } from 'node:path'
// issue 13
import { coverageSchema, mergeCoverage } from '../coverage/coverage.ts'
import { isDeepStrictEqual } from 'node:util'
import { z } from 'zod'
import { DesignError } from '../../models/design.ts'
import { PROPERTY_NAMES, type PropertyName } from '../check/executor.types.ts'
import { resolveDesignStrict } from '../input/design.ts'
import { InputFileError, parseWith, readJsonFile } from '../input/read.ts'
import { excerpt, safeText, showPath } from '../input/text.ts'
import { KNOWN_DEFECT_NAMES } from '../kernel/defects/index.ts' // s4-heldout: held-out names too
import { blockSeed } from './blocks.ts'
import type { CampaignResult } from './campaign.ts'
import { InputError } from './errors.ts'
import { IMPLS, checkOutDir, validatePlatform } from './options.ts'
import { loadReplayInput } from './replay.ts'
import { buildSummary, SUMMARY_FORMAT, SUMMARY_VERSION, type BlockEntry, type CampaignContext, type CampaignSummary, type FailureEntry } from './summary.ts'
import type { BundleSource } from './write.ts'

export interface Shard {
  dir: string
  summary: CampaignSummary
}

// ---- summary.json as luv writes it: every field merge reads, typed -----------------------

const BUNDLE_RE = /^[0-9a-f]{12}$/
const nat = z.number({ error: 'expected a non-negative integer' }).int({ error: 'expected a non-negative integer' }).min(0, { error: 'expected a non-negative integer' }).max(Number.MAX_SAFE_INTEGER)
const pos = nat.min(1, { error: 'expected a positive integer' })
const str = z.string({ error: 'expected a string' })
const property = z.enum(PROPERTY_NAMES as unknown as [PropertyName, ...PropertyName[]], { error: `expected a property name (${PROPERTY_NAMES.join(', ')})` })
const bundleName = str.regex(BUNDLE_RE, { error: 'expected a bundle name as luv writes it (12 hex digits)' })
const seed = nat.max(0xffffffff, { error: 'expected a u32 seed' })
const blockSeedS = nat.max(0x7fffffff, { error: 'expected a block seed (31 bits)' })
const shardS = z.strictObject({ index: pos, count: pos }, { error: 'expected { index, count }' }).refine((x) => x.index <= x.count, { error: 'index is past count' })

const blockEntry = z.strictObject({
  index: nat,
  seed: blockSeedS,
  runs: nat,
  steps: nat,
  properties: z.array(property),
  kexecWithPreservedDma: nat,
  fullRecovery: nat,
  failed: property.optional(),
  bundle: bundleName.optional(),
  error: str.optional(),
  skipped: z.literal(true).optional(),
  profile: str.optional(),
  faults: z.strictObject({ armed: nat, reached: nat }).optional(), // issue 13
})

const failureEntry = z.strictObject({
  property,
  bundle: bundleName,
  title: str,
  sentence: str,
  message: str,
  length: nat,
  divergenceIndex: nat,
  blocks: z.array(nat).min(1),
  seed: blockSeedS,
  path: str.regex(/^\d{1,9}(:\d{1,9})*$/, { error: "expected fast-check's path" }),
  shrinks: nat,
  checked: z.array(property),
  replay: z.strictObject({ bundle: str, fastCheck: str }),
  profile: str.optional(),
  shrink: z
    .strictObject({ tried: nat, skipped: nat.optional(), kept: nat, budgetSpent: z.boolean(), budgetMs: nat.optional(), originalLength: nat, finalLength: nat })
    .optional(),
})

const versions = z.object({ luv: str, node: str, fastCheck: str, gitRev: str.optional() })

export const summarySchema = z.object({
  format: z.literal(SUMMARY_FORMAT, { error: `expected "${SUMMARY_FORMAT}" (not a luv campaign summary)` }),
  formatVersion: z.literal(SUMMARY_VERSION, { error: `expected ${SUMMARY_VERSION} (the summary format this luv reads)` }),
  name: str.regex(/^[A-Za-z0-9._-]{1,200}$/, { error: 'expected a campaign name as luv writes it (letters, digits, . _ -)' }),
  out: str,
  verdict: z.enum(['pass', 'fail']),
  interrupted: z.boolean(),
  seed,
  runs: nat,
  steps: nat,
  design: z.object({ profile: str, overrides: z.record(str, str), label: str, axes: z.record(str, str) }),
  // --- generators (issue 13): keep the coverage tables (z.object drops unknown keys) ---
  coverage: coverageSchema.optional(),
  platform: z.object({ name: str, spec: z.unknown(), mixed: z.array(z.unknown()).optional() }),
  impl: z.enum(IMPLS as unknown as ['model', 'kernel', 'both']),
  defect: z.enum(KNOWN_DEFECT_NAMES as [string, ...string[]], { error: "expected a seeded defect's name or a held-out one (luv defects lists the seeded ones)" }).optional(),
  budget: z.strictObject({ runs: pos.optional(), time: str.max(40).optional() }),
  shard: shardS.nullable(),
  shards: z.array(z.object({ index: pos, count: pos, name: str })).optional(),
  blocks: z.object({ runsPerBlock: pos, count: nat, indices: str, seedDerivation: str, aborted: z.array(nat), list: z.array(blockEntry) }),
  properties: z.partialRecord(property, z.object({ verdict: z.enum(['pass', 'fail', 'not-checked']), blocks: nat, runs: nat, bundles: z.array(bundleName), knownFinding: str.optional() })),
  failures: z.array(failureEntry),
  buckets: z.array(z.object({ title: str, property, bundles: z.array(bundleName) })),
  reach: z.object({ runs: nat, kexecWithPreservedDma: nat, fullRecovery: nat, kexecWithPreservedDmaPercent: z.number(), fullRecoveryPercent: z.number(), outcomes: z.array(str) }),
  errors: z.array(z.strictObject({ block: nat, seed: blockSeedS, message: str })),
  notes: z.array(str),
  faults: z.strictObject({ rate: z.number().min(0).max(1), armed: nat, reached: nat }).optional(), // issue 13
  versions,
  seconds: z.number().min(0),
  timing: z.object({
    started: str,
    finished: str,
    stepsPerSecond: z.number().min(0),
    workers: nat,
    reruns: nat,
    shrink: z.array(z.strictObject({ bundle: bundleName, seconds: z.number().min(0), budgetSpent: z.boolean() })).optional(),
  }),
  profiles: z.record(str, z.unknown()).optional(),
  shrinkBudget: str.max(40).optional(),
})

/** Read and check one shard report folder completely: its summary.json and every bundle it names. */
export function loadShard(dir: string): Shard {
  const where = showPath(dir)
  let st
  try {
    st = statSync(dir)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new InputError(`${where}: ${code === 'ENOENT' ? 'no such directory' : safeText((e as Error).message, 200)}`)
  }
  if (!st.isDirectory()) throw new InputError(`${where}: not a directory (give the report folders of the shards)`)
  const file = join(dir, 'summary.json')
  if (!existsSync(file)) throw new InputError(`${safeText(file, 200)}: cannot read (no summary.json: not a campaign report folder)`)
  let s: CampaignSummary
  try {
    const json = readJsonFile(file, { what: 'campaign summary' })
    s = parseWith(summarySchema, json, file) as unknown as CampaignSummary
  } catch (e) {
    if (e instanceof InputFileError) throw new InputError(e.message)
    throw e
  }
  const at = (path: string, what: string) => new InputError(`${safeText(file, 200)}: ${path}: ${what}`)
  // the design: a known profile and axes, and `axes` what profile + overrides resolve to
  let axes
  try {
    axes = resolveDesignStrict({ profile: s.design.profile, overrides: s.design.overrides })
  } catch (e) {
    if (e instanceof DesignError) throw at('design', safeText(e.message, 300))
    throw e
  }
  if (!isDeepStrictEqual({ ...axes }, { ...s.design.axes })) throw at('design.axes', `does not match profile ${s.design.profile} with its overrides`)
  validatePlatform(s.platform.spec, `${file}: platform.spec`)
  for (const [i, p] of (s.platform.mixed ?? []).entries()) validatePlatform(p, `${file}: platform.mixed[${i}]`)
  const seen = new Set<number>()
  for (const [i, b] of s.blocks.list.entries()) {
    if (b.seed !== blockSeed(s.seed, b.index)) throw at(`blocks.list[${i}]`, `seed ${b.seed} is not block ${b.index}'s seed for campaign seed ${s.seed}`)
    if (seen.has(b.index)) throw at(`blocks.list[${i}]`, `block ${b.index} is listed twice`)
    seen.add(b.index)
    if (b.runs > s.blocks.runsPerBlock) throw at(`blocks.list[${i}].runs`, `${b.runs} runs in a block of ${s.blocks.runsPerBlock}`)
  }
  const sum = (f: (b: BlockEntry) => number) => s.blocks.list.reduce((n, b) => n + f(b), 0)
  if (sum((b) => b.runs) !== s.runs) throw at('runs', `${s.runs} is not the sum of blocks.list's runs (${sum((b) => b.runs)})`)
  if (sum((b) => b.steps) !== s.steps) throw at('steps', `${s.steps} is not the sum of blocks.list's steps (${sum((b) => b.steps)})`)
  // the summary agrees with itself: its property set covers every block and failure
  const props = new Set(Object.keys(s.properties))
  if (props.size === 0) throw at('properties', 'empty: a campaign checks at least one property')
  for (const [i, b] of s.blocks.list.entries())
    for (const p of [...b.properties, ...(b.failed !== undefined ? [b.failed] : [])])
      if (!props.has(p)) throw at(`blocks.list[${i}]`, `${p} is not among the campaign's properties`)
  for (const [i, f] of s.failures.entries())
    if (!props.has(f.property) || s.properties[f.property]!.verdict !== 'fail' || !s.properties[f.property]!.bundles.includes(f.bundle))
      throw at(`failures[${i}]`, `${f.property} (bundle ${f.bundle}) is not a failed property of properties`)
  const names = new Set<string>()
  for (const [i, f] of s.failures.entries()) {
    if (names.has(f.bundle)) throw at(`failures[${i}].bundle`, `bundle ${f.bundle} is listed twice`)
    names.add(f.bundle)
    const bdir = join(dir, f.bundle)
    let bst
    try {
      bst = lstatSync(bdir)
    } catch {
      throw at(`failures[${i}]`, `bundle folder ${safeText(bdir, 200)} is missing`)
    }
    if (!bst.isDirectory()) throw at(`failures[${i}]`, `${safeText(bdir, 200)} is not a folder (a symbolic link or a file is not a bundle)`)
    for (const n of readdirSync(bdir)) {
      const l = lstatSync(join(bdir, n))
      if (!l.isFile() || !/^[A-Za-z0-9._-]+$/.test(n)) throw at(`failures[${i}]`, `bundle ${f.bundle} holds ${excerpt(n)}, which is not a plain file as luv writes them`)
    }
    // the bundle itself, as strictly as luv replay reads it (its files must agree)
    const input = loadReplayInput(bdir)
    if (input.recorded.property !== undefined && input.recorded.property !== f.property)
      throw at(`failures[${i}].property`, `${f.property}, but bundle ${f.bundle} records ${input.recorded.property}`)
  }
  return { dir, summary: s }
}

/** The fields every shard of one campaign shares; a difference means they are not shards of it. */
const SAME: [string, (s: CampaignSummary) => unknown][] = [
  ['seed', (s) => s.seed],
  ['design', (s) => s.design.axes],
  ['platform', (s) => [s.platform.spec, s.platform.mixed ?? null]],
  ['impl', (s) => s.impl],
  ['defect', (s) => s.defect ?? null],
  ['properties', (s) => Object.keys(s.properties)],
  ['budget', (s) => s.budget],
  ['blocks.runsPerBlock', (s) => s.blocks.runsPerBlock],
  ['fail rate', (s) => s.faults?.rate ?? 0], // issue 13: the draws depend on it
]

export function mergeShards(shards: Shard[], out: string): CampaignResult {
  if (shards.length === 0) throw new InputError('no report folders given (luv merge DIR... --out DIR)')
  if (out.trim() === '') throw new InputError('--out: empty: give the folder to write the merged report to')
  checkOutDir(out)
  for (const sh of shards) {
    const rel = relative(resolve(sh.dir), resolve(out))
    if (rel === '') throw new InputError(`--out ${safeText(out, 200)}: is one of the inputs; merge into a new folder`)
    if (!rel.startsWith('..') && !rel.startsWith(sep)) throw new InputError(`--out ${safeText(out, 200)}: is inside the input ${safeText(sh.dir, 200)}; merge into a folder outside the inputs`)
  }
  const [first] = shards
  for (const sh of shards.slice(1))
    for (const [field, get] of SAME)
      if (!isDeepStrictEqual(get(sh.summary), get(first.summary)))
        throw new InputError(
          `${safeText(sh.dir, 200)}: ${field} ${excerpt(get(sh.summary), 120)} differs from ${safeText(first.dir, 200)}'s ${excerpt(get(first.summary), 120)}: not shards of one campaign`,
        )

  const f = first.summary
  const notes: string[] = []
  const blocks = new Map<number, BlockEntry>()
  for (const sh of shards)
    for (const b of sh.summary.blocks.list) {
      if (blocks.has(b.index)) {
        notes.push(`Block ${b.index} is in more than one input (${sh.dir} among them): counted once.`)
        continue
      }
      blocks.set(b.index, b)
    }
  // one bundle per distinct failure (property and bucket title), as a campaign keeps them: the
  // one found in the lowest block stands, whatever the order of the inputs
  const failures = new Map<string, FailureEntry>()
  const sources = new Map<string, string>()
  const alias = new Map<string, string>()
  for (const sh of shards)
    for (const x of sh.summary.failures) {
      const key = `${x.profile ?? ''}\u0000${x.property}\u0000${x.title}`
      const seen = failures.get(key)
      const blocksOf = (a: FailureEntry, b: FailureEntry) => [...new Set([...a.blocks, ...b.blocks])].sort((m, n) => m - n)
      // strings from a shard go into the merged report: control characters escaped
      const clean = (e: FailureEntry): FailureEntry => ({ ...e, title: safeText(e.title), sentence: safeText(e.sentence), message: safeText(e.message) })
      if (!seen) {
        failures.set(key, { ...clean(x), blocks: [...x.blocks] })
        sources.set(key, join(sh.dir, x.bundle))
        continue
      }
      if (x.bundle === seen.bundle) {
        seen.blocks = blocksOf(seen, x)
        continue
      }
      const [keep, drop] = Math.min(...x.blocks) < Math.min(...seen.blocks) ? [x, seen] : [seen, x]
      failures.set(key, { ...(keep === x ? clean(x) : seen), blocks: blocksOf(seen, x) })
      if (keep === x) sources.set(key, join(sh.dir, x.bundle))
      alias.set(drop.bundle, keep.bundle)
    }
  const bundles = new Map<string, BundleSource>()
  for (const [key, f] of failures) bundles.set(f.bundle, { dir: sources.get(key)! })
  const kept = (b: string): string => {
    let x = b
    while (alias.has(x)) x = alias.get(x)!
    return x
  }
  for (const b of blocks.values()) if (b.bundle !== undefined) b.bundle = kept(b.bundle)

  const shardList = shards
    .map((sh) => ({ index: sh.summary.shard?.index ?? 1, count: sh.summary.shard?.count ?? 1, name: sh.summary.name }))
    .sort((a, b) => a.index - b.index)
  const ctx: CampaignContext = {
    name: f.name.replace(/-shard-\d+-of-\d+$/, ''),
    out,
    seed: f.seed,
    profile: f.design.profile,
    overrides: f.design.overrides,
    design: f.design.axes,
    designLabel: f.design.label,
    platformName: f.platform.name,
    platform: f.platform.spec,
    platforms: f.platform.mixed ?? [f.platform.spec],
    impl: f.impl,
    ...(f.defect !== undefined && { defect: f.defect }),
    properties: Object.keys(f.properties) as PropertyName[],
    budget: f.budget,
    runsPerBlock: f.blocks.runsPerBlock,
    shard: null,
    shards: shardList,
    versions: f.versions,
    ...(f.shrinkBudget !== undefined && { shrinkBudget: f.shrinkBudget }),
    ...(f.blocks.list.some((b) => b.profile !== undefined) && { profiles: [...new Set(shards.flatMap((sh) => sh.summary.blocks.list.flatMap((b) => (b.profile ? [b.profile] : []))))] }),
    ...(f.faults?.rate && { failRate: f.faults.rate }), // issue 13
  }
  const sum = (g: (s: CampaignSummary) => number) => shards.reduce((n, sh) => n + g(sh.summary), 0)
  const summary = buildSummary(ctx, [...blocks.values()], [...failures.values()], {
    interrupted: shards.some((sh) => sh.summary.interrupted),
    aborted: shards.flatMap((sh) => sh.summary.blocks.aborted ?? []),
    outcomes: shards.flatMap((sh) => sh.summary.reach?.outcomes ?? []),
    errors: shards.flatMap((sh) => (sh.summary.errors ?? []).map((e) => ({ ...e, message: safeText(e.message) }))),
    seconds: sum((s) => s.seconds ?? 0),
    started: shards.map((sh) => sh.summary.timing?.started ?? '').sort()[0],
    finished: shards.map((sh) => sh.summary.timing?.finished ?? '').sort().reverse()[0],
    workers: sum((s) => s.timing?.workers ?? 0),
    reruns: sum((s) => s.timing?.reruns ?? 0),
    // issue 12: each kept bundle's shrink time, as its shard measured it
    shrink: shards.flatMap((sh) => sh.summary.timing?.shrink ?? []).filter((x) => bundles.has(x.bundle)),
    // issue 13: coverage in model terms, summed over shards
    coverage: mergeCoverage(shards.map((sh) => sh.summary.coverage)),
    notes: [
      `Merged from ${shards.length} report${shards.length === 1 ? '' : 's'} (${shards.map((sh) => basename(sh.dir)).join(', ')}): seconds is the sum of the shards' seconds (machine time), not wall-clock time.`,
      ...new Set(notes),
    ],
  })
  return { summary, bundles }
}
