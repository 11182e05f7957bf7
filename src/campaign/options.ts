// Campaign options: the command line's strings turned into a checked CampaignOptions. Every
// check happens here, before a report folder is created, so a typo costs nothing (exit 2).

import { resolveDesignStrict } from '../input/design.ts'
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { availableParallelism } from 'node:os'
import { DEFAULT_PROFILE, DesignError, PROFILES, PROFILE_NAMES, type Design, type ProfileName } from '../../models/design.ts'
import {
  DEFAULT_CAMPAIGN_PLATFORMS,
  DEFAULT_PLATFORM,
  PlatformError,
  SUPERPAGE_PLATFORM,
  SMALL_PLATFORM,
  TINY_PLATFORM,
  checkPlatform,
  largePlatform,
  type Platform,
} from '../../models/platform.ts'
import { createExecutor } from '../check/index.ts'
import { PROPERTY_NAMES, type ImplChoice, type PropertyName } from '../check/executor.types.ts'
import { InputFileError, describeZodIssue, readJsonFile } from '../input/read.ts'
import { platformOverLimit } from '../input/limits.ts'
import { safeText } from '../input/text.ts'
import { platformSchema } from '../scenario/schema.ts'
import { BLOCK_RUNS, planBlocks } from './blocks.ts'
import { InputError } from './errors.ts'

/** The CI profile's seed (properties/harness.ts): `npm start` is reproducible by default. */
export const DEFAULT_SEED = 0x1b5
export const DEFAULT_TIME = '60s'
/** --shrink-budget default: shrinking one failure stops after this (issue 12: it took 10–60 s
 *  for a design finding and up to 520 s for a kernel defect, dominating a campaign that finds
 *  something); the smallest failing trace found by then is the bundle. */
export const DEFAULT_SHRINK_BUDGET = '30s'
export const IMPLS: readonly ImplChoice[] = ['model', 'kernel', 'both']
export const NAMED_PLATFORMS = ['default', 'small', 'tiny', 'large', 'mixed'] as const

/** `--platform mixed`: each run draws one of these (shrinking towards the first), so the
 *  exhaustion paths of the small platforms are reached beside the default one. */
// --- generators (issue 13): the superpage platform (2 MiB leaves) joins `mixed` ---
export const MIXED_PLATFORMS: readonly Platform[] = [DEFAULT_PLATFORM, SMALL_PLATFORM, TINY_PLATFORM, SUPERPAGE_PLATFORM]

export interface Shard {
  /** 1-based, as written: `--shard 2/4` is index 2 of count 4 */
  index: number
  count: number
}

export interface CampaignOptions {
  seed: number
  /** total fast-check runs; the campaign has ceil(runs / blockRuns) blocks */
  runs?: number
  /** wall-clock budget: no block starts after it */
  timeMs?: number
  /** the budget as written (`60s`), for the report */
  time?: string
  profile: ProfileName
  /** axis → option, as given with --set (in the order given) */
  overrides: Record<string, string>
  design: Design
  /** the platform (the first of `platforms`) */
  platform: Platform
  /** what runs draw from: one platform, or several with `mixed` */
  platforms: Platform[]
  /** `default`, `small`, `tiny`, `large`, `mixed` or the file given */
  platformName: string
  /** requested properties in PROPERTY_NAMES order */
  properties: PropertyName[]
  workers: number
  shard?: Shard
  impl: ImplChoice
  defect?: string
  /** report folder */
  out: string
  /** the campaign's name (report folder name by default) */
  name: string
  blockRuns: number
  /** false: failures are reported unshrunk (bench/campaign.ts only; not a command-line flag) */
  shrink?: boolean
  /** why `workers` is fewer than asked for (or than the cores), when it is */
  workersNote?: string
  /** --shrink-budget: ms one failure's shrinking may take, and the text as given */
  shrinkBudgetMs: number
  shrinkBudget: string
  /** --profiles: each block draws its profile from these (block seed); absent: every block
   *  runs `profile` (--profile P, or the default) */
  profiles?: BlockDesign[]
  /** --paranoid: kernel invariants swept at every step (ExecutorOptions.paranoid) */
  paranoid?: boolean
  /** issue 13 (fault injection): the fraction of steps given a random fail-nth; 0 = off */
  failRate: number
}

/** A profile a block may draw, with the --set overrides resolved against it. */
export interface BlockDesign {
  profile: ProfileName
  overrides: Record<string, string>
  design: Design
}

/** What the command line gives, unparsed. */
export interface CampaignFlags {
  time?: string
  runs?: string
  seed?: string
  profile?: string
  set?: string[]
  platform?: string
  properties?: string
  workers?: string
  shard?: string
  defect?: string
  impl?: string
  out?: string
  'shrink-budget'?: string
  profiles?: string
  paranoid?: boolean
  /** issue 13: --fail-rate R */
  'fail-rate'?: string
}

/** `60s`, `2m`, `1h`, `500ms`, `90` (seconds); fractional values allowed. */
export function parseDuration(text: string, flag = '--time'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  const ms = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'] : NaN
  if (!Number.isFinite(ms) || ms <= 0) throw new InputError(`${flag} ${safeText(text, 40)}: expected a positive duration like 60s, 5m, 1h or 500ms`)
  // a budget that rounds to nothing would check nothing and say pass
  if (Math.round(ms) < 1) throw new InputError(`${flag} ${safeText(text, 40)}: rounds to 0 ms: give at least 1ms`)
  if (ms > 366 * 86_400_000) throw new InputError(`${flag} ${safeText(text, 40)}: more than a year`)
  return Math.round(ms)
}

export function parsePositiveInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || !Number.isSafeInteger(Number(text)))
    throw new InputError(`${flag} ${text}: expected a positive integer`)
  return Number(text)
}

/** Decimal or 0x-hex; a campaign seed is a u32, a fast-check seed (replay) any int32 too. */
export function parseSeed(text: string, flag = '--seed', allowNegative = false): number {
  const t = text.trim()
  const ok = /^0[xX][0-9a-fA-F]{1,8}$/.test(t) || /^\d{1,10}$/.test(t) || (allowNegative && /^-\d{1,10}$/.test(t))
  const n = ok ? Number(t) : NaN
  const min = allowNegative ? -(2 ** 31) : 0
  if (!Number.isSafeInteger(n) || n < min || n > 0xffffffff)
    throw new InputError(`${flag} ${text}: expected an integer in ${min}..4294967295 (decimal or 0x hex)`)
  return n
}

/** `I/N` with 1 ≤ I ≤ N. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim())
  const [i, n] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN]
  if (!m || n < 1 || i < 1 || i > n) throw new InputError(`--shard ${text}: expected I/N with 1 ≤ I ≤ N, e.g. --shard 1/4`)
  return { index: i, count: n }
}

/** The platforms runs draw from: `mixed` gives several, `default` the default platform and the
 *  same machine with memory for 2 MiB leaves (models/platform.ts DEFAULT_CAMPAIGN_PLATFORMS;
 *  generators, issue 13), anything else one. */
export function resolvePlatforms(spec: string): Platform[] {
  if (spec === 'default') return [...DEFAULT_CAMPAIGN_PLATFORMS]
  return spec === 'mixed' ? [...MIXED_PLATFORMS] : [resolvePlatform(spec)]
}

/** A named platform or a JSON file holding a platform object (the scenario format's). */
export function resolvePlatform(spec: string): Platform {
  switch (spec) {
    case 'default':
      return DEFAULT_PLATFORM
    case 'small':
      return SMALL_PLATFORM
    case 'tiny':
      return TINY_PLATFORM
    case 'large':
      return largePlatform()
  }
  if (!existsSync(spec))
    throw new InputError(`--platform ${safeText(spec, 200)}: not one of ${NAMED_PLATFORMS.join(', ')}, and not a readable platform file (no such file)`)
  let json: unknown
  try {
    json = readJsonFile(spec, { what: 'platform file' })
  } catch (e) {
    if (e instanceof InputFileError) throw new InputError(`--platform ${e.message}`)
    throw e
  }
  return validatePlatform(json, `--platform ${spec}`)
}

/** Schema + structural checks; `where` prefixes the message (a flag, or a file's field). */
export function validatePlatform(json: unknown, where: string): Platform {
  const parsed = platformSchema.safeParse(json)
  if (!parsed.success) {
    const { at, detail } = describeZodIssue(parsed.error.issues[0], json)
    throw new InputError(`${safeText(where, 200)}: ${at ? `${at}: ` : ''}${detail}`)
  }
  const p = parsed.data as Platform
  const over = platformOverLimit(p)
  if (over) throw new InputError(`${safeText(where, 200)}: ${over[0]}: ${over[1]}`)
  try {
    checkPlatform(p)
  } catch (e) {
    if (e instanceof PlatformError) throw new InputError(`${safeText(where, 200)}: ${safeText(e.message, 300)}`)
    throw e
  }
  return p
}

/** Profile plus `AXIS=OPTION` overrides, each checked (unknown profile, axis or option). */
export function resolveDesignFlags(profile: string | undefined, sets: string[]): { profile: ProfileName; overrides: Record<string, string>; design: Design } {
  const name = profile ?? DEFAULT_PROFILE
  const check = (flag: string, f: () => Design): Design => {
    try {
      return f()
    } catch (e) {
      if (e instanceof DesignError) throw new InputError(`${flag}: ${e.message}`)
      throw e
    }
  }
  check(`--profile ${name}`, () => resolveDesignStrict({ profile: name }))
  const overrides: Record<string, string> = {}
  for (const s of sets) {
    const eq = s.indexOf('=')
    if (eq <= 0 || eq === s.length - 1) throw new InputError(`--set ${s}: expected AXIS=OPTION`)
    const [axis, option] = [s.slice(0, eq), s.slice(eq + 1)]
    check(`--set ${s}`, () => resolveDesignStrict({ overrides: { [axis]: option } }))
    overrides[axis] = option
  }
  // drop overrides equal to the profile's value: the design, its label and the name agree
  const base = PROFILES[name as ProfileName].design as Record<string, string>
  for (const [a, o] of Object.entries(overrides)) if (base[a] === o) delete overrides[a]
  return { profile: name as ProfileName, overrides, design: resolveDesignStrict({ profile: name, overrides }) }
}

/** `--profiles LIST|all`: profile names read from models/design.ts (never a fixed list), in the
 *  order given, each once; with --set, every profile must accept the overrides. */
export function resolveProfilesFlag(text: string, sets: string[]): BlockDesign[] {
  const t = text.trim()
  const names = t === 'all' ? [...PROFILE_NAMES] : t.split(',').map((x) => x.trim()).filter(Boolean)
  if (names.length === 0) throw new InputError(`--profiles ${safeText(text, 80)}: expected a comma-separated list of profiles, or all (known: ${PROFILE_NAMES.join(', ')})`)
  const out: ProfileName[] = []
  for (const n of names) {
    if (!(PROFILE_NAMES as readonly string[]).includes(n)) throw new InputError(`--profiles: unknown profile '${safeText(n, 80)}' (known: ${PROFILE_NAMES.join(', ')}, or all)`)
    if (!out.includes(n as ProfileName)) out.push(n as ProfileName)
  }
  return out.map((p) => resolveDesignFlags(p, sets))
}

/** `conformance` compares the kernel with the model, so it needs --impl both. */
export function resolveProperties(text: string | undefined, impl: ImplChoice, flag = '--properties'): PropertyName[] {
  const all = PROPERTY_NAMES.filter((p) => p !== 'conformance' || impl === 'both')
  if (text === undefined) return all
  const wanted = text.split(',').map((s) => s.trim()).filter(Boolean)
  if (wanted.length === 0) throw new InputError(`${flag} ${text}: expected a comma-separated list of properties`)
  for (const w of wanted) {
    if (!(PROPERTY_NAMES as readonly string[]).includes(w))
      throw new InputError(`${flag}: unknown property '${w}' (known: ${PROPERTY_NAMES.join(', ')})`)
    if (w === 'conformance' && impl !== 'both')
      throw new InputError(`${flag}: conformance compares the kernel with the model; it needs --impl both`)
  }
  return PROPERTY_NAMES.filter((p) => wanted.includes(p))
}

export function parseImpl(text: string | undefined): ImplChoice {
  const impl = (text ?? 'both') as ImplChoice
  if (!IMPLS.includes(impl)) throw new InputError(`--impl ${text}: unknown implementation (known: ${IMPLS.join(', ')})`)
  return impl
}

/** The executor factory refuses what it cannot build (--impl without the kernel, an unknown
 *  --defect, a defect on the model): ask it once now rather than in every block. */
export function checkExecutor(platform: Platform, design: Design, impl: ImplChoice, defect: string | undefined): void {
  try {
    createExecutor(platform, design, { impl, ...(defect !== undefined && { defect }) })
  } catch (e) {
    throw new InputError((e as Error).message)
  }
}

/** `lpc2025-seed-437`, with overrides, defect and shard when given. */
export function defaultName(o: Pick<CampaignOptions, 'profile' | 'overrides' | 'seed' | 'defect' | 'shard'>): string {
  const parts = [o.profile, ...Object.entries(o.overrides).map(([a, v]) => `${a}-${v}`)]
  if (o.defect) parts.push(`defect-${o.defect}`)
  parts.push(`seed-${o.seed}`)
  if (o.shard) parts.push(`shard-${o.shard.index}-of-${o.shard.count}`)
  return parts.join('-').replace(/[^A-Za-z0-9._-]/g, '_')
}

/** An existing --out must be a folder (a file in the way is bad input, not a crash later). */
export function checkOutDir(out: string, flag = '--out'): void {
  try {
    if (!statSync(out).isDirectory()) throw new InputError(`${flag} ${out}: exists and is not a directory`)
  } catch (e) {
    if (e instanceof InputError) throw e
    const code = (e as NodeJS.ErrnoException).code
    if (code !== 'ENOENT') throw new InputError(`${flag} ${out}: ${(e as Error).message}`)
  }
}

// ---- fault injection (issue 13) ----
/** The default campaign arms a random fail-nth on 1 step in 20 (models/fault.ts): at 0.02 only
 *  4 of 59 armed steps reached their allocation in 100 runs (seed 7), at 0.05 about 1 in 10 do. */
export const DEFAULT_FAIL_RATE = 0.05

/** `--fail-rate R`: a fraction of steps in 0..1 (decimal; 0 turns fault injection off). */
export function parseFailRate(text: string | undefined, flag = '--fail-rate'): number {
  if (text === undefined) return DEFAULT_FAIL_RATE
  const t = text.trim()
  const r = /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(t) ? Number(t) : NaN
  if (!(r >= 0 && r <= 1)) throw new InputError(`${flag} ${safeText(text, 40)}: expected the fraction of steps given a random fail-nth, a number from 0 to 1 (e.g. ${DEFAULT_FAIL_RATE}; 0 turns fault injection off)`)
  return r
}
// ---- end fault injection

export function resolveCampaignOptions(f: CampaignFlags, defaults: { reportsRoot?: string } = {}): CampaignOptions {
  const impl = parseImpl(f.impl)
  if (f.defect !== undefined && impl === 'model')
    throw new InputError('--defect seeds the kernel implementation; it needs --impl kernel or --impl both')
  const seed = f.seed !== undefined ? parseSeed(f.seed) : DEFAULT_SEED
  const runs = f.runs !== undefined ? parsePositiveInt(f.runs, '--runs') : undefined
  // neither bound given: the one-minute default
  const time = f.time ?? (runs === undefined ? DEFAULT_TIME : undefined)
  const timeMs = time !== undefined ? parseDuration(time) : undefined
  const shard = f.shard !== undefined ? parseShard(f.shard) : undefined
  if (shard && runs !== undefined && [...planBlocks({ seed, runs, shard })].length === 0)
    throw new InputError(`--shard ${shard.index}/${shard.count}: a ${runs}-run campaign has ${Math.ceil(runs / BLOCK_RUNS)} block${Math.ceil(runs / BLOCK_RUNS) === 1 ? '' : 's'} of ${BLOCK_RUNS} runs; shard ${shard.index} would check nothing`)
  const { workers, note: workersNote } = capWorkers(f.workers !== undefined ? parsePositiveInt(f.workers, '--workers') : undefined, runs, shard)
  if (f.profiles !== undefined && f.profile !== undefined)
    throw new InputError('--profile and --profiles: give one (--profile P keeps every block on P; --profiles LIST draws each block\'s profile from LIST)')
  const profiles = f.profiles !== undefined ? resolveProfilesFlag(f.profiles, f.set ?? []) : undefined
  // the campaign's profile: --profile, or the first of --profiles (names the report folder)
  const { profile, overrides, design } = resolveDesignFlags(f.profile ?? profiles?.[0].profile, f.set ?? [])
  const shrinkBudget = f['shrink-budget'] ?? DEFAULT_SHRINK_BUDGET
  const shrinkBudgetMs = parseDuration(shrinkBudget, '--shrink-budget')
  const platformName = f.platform ?? 'default'
  const platforms = resolvePlatforms(platformName)
  const platform = platforms[0]
  const properties = resolveProperties(f.properties, impl)
  const failRate = parseFailRate(f['fail-rate']) // issue 13
  checkExecutor(platform, design, impl, f.defect)
  const base = { profile, overrides, seed, ...(f.defect !== undefined && { defect: f.defect }), ...(shard && { shard }) }
  // several profiles: the name says so (`profiles-lpc2025-rfc-v2-seed-437`)
  const name = profiles && profiles.length > 1 ? defaultName({ ...base, profile: `profiles-${profiles.map((p) => p.profile).join('-')}` as ProfileName, overrides: Object.assign({}, ...profiles.map((p) => p.overrides)) }) : defaultName(base)
  if (f.out !== undefined && f.out.trim() === '') throw new InputError('--out: empty: give the report folder')
  const out = f.out ?? `${defaults.reportsRoot ?? 'reports'}/${name}`
  checkOutDir(out)
  return {
    ...base,
    ...(runs !== undefined && { runs }),
    ...(timeMs !== undefined && { timeMs, time }),
    design,
    platform,
    platforms,
    platformName,
    properties,
    workers,
    impl,
    out,
    name,
    blockRuns: BLOCK_RUNS,
    failRate,
    ...(workersNote !== undefined && { workersNote }),
    shrinkBudgetMs,
    shrinkBudget,
    // one profile in --profiles is the same campaign as --profile P
    ...(profiles && profiles.length > 1 && { profiles }),
    ...(f.paranoid && { paranoid: true }),
  }
}

/**
 * Worker threads: at most one per core (a block is CPU-bound: more threads only share the
 * cores and cost memory, ~10 MB each) and at most one per block of a --runs campaign.
 */
export function capWorkers(asked: number | undefined, runs: number | undefined, shard: Shard | undefined, cores = availableParallelism()): { workers: number; note?: string } {
  const blocks = runs === undefined ? Infinity : [...planBlocks({ seed: 0, runs, ...(shard && { shard }) })].length
  const want = asked ?? cores
  const workers = Math.max(1, Math.min(want, cores, blocks))
  if (workers === want) return { workers }
  const why = workers === blocks && blocks < Math.min(want, cores) ? `${blocks} block${blocks === 1 ? '' : 's'} to run` : `${cores} core${cores === 1 ? '' : 's'}`
  return { workers, note: `${asked !== undefined ? `--workers ${asked}` : 'one worker per core'} capped at ${workers}: ${why}` }
}

/**
 * --out must be a folder luv can write: made if missing, and a probe file written and removed
 * in it, before the campaign spends its budget (a report that cannot be written is a run lost).
 */
export function checkOutWritable(out: string, flag = '--out'): void {
  checkOutDir(out, flag)
  try {
    mkdirSync(out, { recursive: true })
    const probe = join(out, `.luv-write-probe.${process.pid}.tmp`)
    writeFileSync(probe, '')
    rmSync(probe, { force: true })
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new InputError(`${flag} ${out}: cannot write the report there (${code ?? (e as Error).message})`)
  }
}
