// `luv merge`: shard reports of one campaign → one report. Blocks are united by index (a block
// is the same work in every shard), runs and steps summed over them, a property fails if any
// shard failed it, failures are deduplicated (one per property and bucket title, as a campaign keeps
// them) and their bundle folders copied.

// issue 13
import { mergeCoverage } from '../coverage/coverage.ts'
import { readFileSync, statSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import type { PropertyName } from '../check/executor.types.ts'
import { blockSeed } from './blocks.ts'
import type { CampaignResult } from './campaign.ts'
import { InputError } from './errors.ts'
import { checkOutDir } from './options.ts'
import { buildSummary, SUMMARY_FORMAT, SUMMARY_VERSION, type BlockEntry, type CampaignContext, type CampaignSummary, type FailureEntry } from './summary.ts'
import type { BundleSource } from './write.ts'

export interface Shard {
  dir: string
  summary: CampaignSummary
}

/** Read and check one shard report folder. */
export function loadShard(dir: string): Shard {
  try {
    if (!statSync(dir).isDirectory()) throw new InputError(`${dir}: not a directory (give the report folders of the shards)`)
  } catch (e) {
    if (e instanceof InputError) throw e
    const code = (e as NodeJS.ErrnoException).code
    throw new InputError(`${dir}: ${code === 'ENOENT' ? 'no such directory' : (e as Error).message}`)
  }
  const file = join(dir, 'summary.json')
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new InputError(`${file}: cannot read (${code === 'ENOENT' ? 'no summary.json: not a campaign report folder' : (code ?? (e as Error).message)})`)
  }
  let s: CampaignSummary
  try {
    s = JSON.parse(text) as CampaignSummary
  } catch (e) {
    throw new InputError(`${file}: invalid JSON: ${(e as Error).message}`)
  }
  if (typeof s !== 'object' || s === null || s.format !== SUMMARY_FORMAT)
    throw new InputError(`${file}: not a luv campaign summary (format is not "${SUMMARY_FORMAT}")`)
  if (s.formatVersion !== SUMMARY_VERSION) throw new InputError(`${file}: formatVersion ${s.formatVersion}, this luv reads ${SUMMARY_VERSION}`)
  const needs: [string, boolean][] = [
    ['seed', Number.isInteger(s.seed)],
    ['blocks.list', Array.isArray(s.blocks?.list)],
    ['failures', Array.isArray(s.failures)],
    ['properties', typeof s.properties === 'object' && s.properties !== null],
    ['design.axes', typeof s.design?.axes === 'object'],
    ['platform.spec', typeof s.platform?.spec === 'object'],
  ]
  for (const [field, ok] of needs) if (!ok) throw new InputError(`${file}: ${field}: missing or malformed`)
  for (const [i, b] of s.blocks.list.entries())
    if (!Number.isInteger(b.index) || b.seed !== blockSeed(s.seed, b.index))
      throw new InputError(`${file}: blocks.list[${i}]: seed ${b.seed} is not block ${b.index}'s seed for campaign seed ${s.seed}`)
  for (const f of s.failures) {
    const bdir = join(dir, f.bundle)
    try {
      statSync(join(bdir, 'scenario.json'))
    } catch {
      throw new InputError(`${file}: failure ${f.bundle} (${f.property}): bundle folder ${bdir} is missing or incomplete`)
    }
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
]

export function mergeShards(shards: Shard[], out: string): CampaignResult {
  if (shards.length === 0) throw new InputError('no report folders given (luv merge DIR... --out DIR)')
  checkOutDir(out)
  for (const sh of shards)
    if (resolve(sh.dir) === resolve(out)) throw new InputError(`--out ${out}: is one of the inputs; merge into a new folder`)
  const [first] = shards
  for (const sh of shards.slice(1))
    for (const [field, get] of SAME)
      if (!isDeepStrictEqual(get(sh.summary), get(first.summary)))
        throw new InputError(
          `${sh.dir}: ${field} ${JSON.stringify(get(sh.summary))} differs from ${first.dir}'s ${JSON.stringify(get(first.summary))}: not shards of one campaign`,
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
      const key = `${x.property}\u0000${x.title}`
      const seen = failures.get(key)
      const blocksOf = (a: FailureEntry, b: FailureEntry) => [...new Set([...a.blocks, ...b.blocks])].sort((m, n) => m - n)
      if (!seen) {
        failures.set(key, { ...x, blocks: [...x.blocks] })
        sources.set(key, join(sh.dir, x.bundle))
        continue
      }
      if (x.bundle === seen.bundle) {
        seen.blocks = blocksOf(seen, x)
        continue
      }
      const [keep, drop] = Math.min(...x.blocks) < Math.min(...seen.blocks) ? [x, seen] : [seen, x]
      failures.set(key, { ...keep, blocks: blocksOf(seen, x) })
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
  }
  const sum = (g: (s: CampaignSummary) => number) => shards.reduce((n, sh) => n + g(sh.summary), 0)
  const summary = buildSummary(ctx, [...blocks.values()], [...failures.values()], {
    interrupted: shards.some((sh) => sh.summary.interrupted),
    aborted: shards.flatMap((sh) => sh.summary.blocks.aborted ?? []),
    outcomes: shards.flatMap((sh) => sh.summary.reach?.outcomes ?? []),
    errors: shards.flatMap((sh) => sh.summary.errors ?? []),
    seconds: sum((s) => s.seconds ?? 0),
    started: shards.map((sh) => sh.summary.timing?.started ?? '').sort()[0],
    finished: shards.map((sh) => sh.summary.timing?.finished ?? '').sort().reverse()[0],
    workers: sum((s) => s.timing?.workers ?? 0),
    reruns: sum((s) => s.timing?.reruns ?? 0),
    // issue 13: coverage in model terms, summed over shards
    coverage: mergeCoverage(shards.map((sh) => sh.summary.coverage)),
    notes: [
      `Merged from ${shards.length} report${shards.length === 1 ? '' : 's'} (${shards.map((sh) => basename(sh.dir)).join(', ')}): seconds is the sum of the shards' seconds (machine time), not wall-clock time.`,
      ...new Set(notes),
    ],
  })
  return { summary, bundles }
}
