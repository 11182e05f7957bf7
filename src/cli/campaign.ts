// `luv campaign`: parse the flags, run src/campaign, print progress, traces and the verdict.
// Every flag is checked before anything is written (exit 2); SIGINT/SIGTERM stop dispatching
// and the report of what ran is still written.

import { parseArgs } from 'node:util'
import { InputError } from '../campaign/errors.ts'
import { checkOutWritable } from '../campaign/options.ts'
import { DEFECTS } from '../kernel/defects/index.ts'
import { safeText } from '../input/text.ts'
import type { CampaignFlags, CampaignOptions } from '../campaign/options.ts'
import { countLine, counts, joinPath, propertyCell, type CampaignSummary } from '../campaign/summary.ts'
import type { PropertyName } from '../check/executor.types.ts'
import { counterexampleTrace } from '../campaign/trace.ts'
import type { Counterexample } from '../report/types.ts'
import { colorEnabled, paint, type TraceLine } from '../scenario/print.ts'
import type { CliDeps } from './deps.ts'
import { EXIT, UsageError, parseArgsMessage } from './usage.ts'

export const CAMPAIGN_USAGE = `usage: luv campaign [--time 60s] [--runs N] [--seed S] [--profile P] [--set AXIS=OPTION]...
                    [--platform default|small|tiny|large|mixed|FILE] [--properties a,b] [--workers N]
                    [--shard I/N] [--defect NAME] [--impl model|kernel|both] [--out DIR]
                    [--profiles LIST|all] [--shrink-budget D] [--paranoid]
                    [--fail-rate R]

Run the named properties on random live-update traces, in blocks of 25 fast-check runs
spread over a worker pool, and write reports/<campaign>/ (summary.md, summary.json,
junit.xml, one bundle per distinct failure).
  --time D          stop starting blocks after D (60s, 5m, 1h; default 60s without --runs)
  --runs N          run N fast-check runs (ceil(N/25) blocks): the reproducible form
  --seed S          campaign seed, decimal or 0x hex (default 437); block seeds derive from it
  --profile P       design profile (lpc2025, rfc-v2, phase1; default lpc2025)
  --set AXIS=OPT    design axis override; repeatable
  --platform P      default (each run draws the default platform or the same machine with
                    1024 pages, room for 2 MiB leaves), small, tiny, large, mixed (each
                    run draws default, small, tiny or the 1024-page one), or a JSON file
                    holding a platform object
  --properties L    comma-separated properties to check (default: all)
  --workers N       worker threads (default: one per core; capped at the cores and the blocks)
  --shard I/N       run only the blocks k with k mod N = I-1
  --defect NAME     seed a defect into the kernel implementation
  --impl I          model, kernel or both (default both: conformance checked too)
  --out DIR         report folder (default reports/<profile>-seed-<seed>[-shard-I-of-N]);
                    checked writable before the campaign starts
  --profiles L      each block draws its profile from L (comma-separated, or all), from its
                    block seed; a property failed in one profile is still checked in others
  --shrink-budget D time shrinking one failure may take (default 30s); when spent, the
                    smallest failing trace found so far is the bundle (said in the report)
  --paranoid        sweep every kernel invariant at every step (slower)
  --fail-rate R     fraction of steps that fail a random n-th allocation (fail-nth n in 1..8;
                    default 0.05; 0 turns fault injection off): the op must give -ENOMEM and
                    change nothing (models/fault.ts); the summary counts faulted steps
SIGINT/SIGTERM stop it and still write the report; a failure found but not yet shrunk is
reported with the smallest failing trace found so far (a second signal: at once).
Exit status: 0 every checked property holds, 1 one failed (a bundle per failure), 2 bad usage,
bad input, or nothing checked (no block finished).`

export function parseCampaignArgs(argv: string[]): Record<string, string | string[] | boolean | undefined> {
  try {
    return parseArgs({
      args: argv,
      options: {
        time: { type: 'string' },
        runs: { type: 'string' },
        seed: { type: 'string' },
        profile: { type: 'string' },
        set: { type: 'string', multiple: true },
        platform: { type: 'string' },
        properties: { type: 'string' },
        workers: { type: 'string' },
        shard: { type: 'string' },
        defect: { type: 'string' },
        impl: { type: 'string' },
        out: { type: 'string' },
        // --- issue 12/13 (campaign helper) ---
        profiles: { type: 'string' },
        'shrink-budget': { type: 'string' },
        paranoid: { type: 'boolean' },
        // --- end campaign helper ---
        'fail-rate': { type: 'string' }, // issue 13: fault injection
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }).values
  } catch (e) {
    throw new UsageError('campaign', parseArgsMessage(e))
  }
}

export async function campaignCommand(argv: string[], deps: CliDeps): Promise<number> {
  const values = parseCampaignArgs(argv)
  if (values.help) {
    deps.stdout.write(CAMPAIGN_USAGE + '\n')
    return EXIT.ok
  }
  // loaded here, not at startup: they bring the model, the kernel and the worker pool
  const [{ resolveCampaignOptions }, { runCampaign }, { progressDisplay }, { writeReport }] = await Promise.all([
    import('../campaign/options.ts'),
    import('../campaign/campaign.ts'),
    import('../campaign/progress.ts'),
    import('../campaign/write.ts'),
  ])
  let opts: CampaignOptions
  try {
    opts = resolveCampaignOptions(values as CampaignFlags)
  } catch (e) {
    if (e instanceof InputError) throw new UsageError('campaign', e.message)
    throw e
  }
  try {
    // before the budget is spent: a report that cannot be written is a campaign lost
    checkOutWritable(opts.out)
  } catch (e) {
    if (e instanceof InputError) throw new UsageError('campaign', e.message)
    throw e
  }
  const color = colorEnabled(deps.stdout, deps.env)
  deps.stdout.write(startLine(opts) + '\n')
  if (opts.workersNote) deps.stdout.write(`note: ${opts.workersNote}\n`)

  // first signal: finish (or, after a few seconds, abort) in-flight blocks; second: abort now
  const stop = new AbortController()
  const kill = new AbortController()
  const onSignal = (sig: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      deps.stderr.write(`\nluv campaign: ${sig}: no new blocks; finishing the running ones (${sig} again aborts them)\n`)
      stop.abort(sig)
    } else kill.abort(sig)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const display = progressDisplay(deps.stderr)
  let result
  try {
    result = await runCampaign(opts, { onProgress: (p) => display.update(p) }, { stop: stop.signal, kill: kill.signal, inline: deps.env.LUV_CAMPAIGN_INLINE === '1' })
  } finally {
    display.stop()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  const cxs = new Map([...result.bundles].flatMap(([h, b]) => ('cx' in b ? [[h, b.cx] as [string, Counterexample]] : [])))
  let writeError: string | undefined
  // a signal while the report is written must not kill the process half-way: it is short
  const whileWriting = (sig: NodeJS.Signals) => deps.stderr.write(`\nluv campaign: ${sig}: writing the report first\n`)
  process.on('SIGINT', whileWriting)
  process.on('SIGTERM', whileWriting)
  try {
    await writeReport(result.summary, result.bundles)
  } catch (e) {
    // the traces are still printed below: a found failure is not lost with the report
    writeError = `cannot write the report to ${opts.out}: ${(e as NodeJS.ErrnoException).code ?? ''} ${(e as Error).message}`.trim()
  } finally {
    process.off('SIGINT', whileWriting)
    process.off('SIGTERM', whileWriting)
  }
  deps.stdout.write(paint(resultLines(result.summary, cxs), color))
  if (writeError) deps.stderr.write(`luv campaign: ${safeText(writeError, 2000)}\n`)
  return campaignExit(result.summary, writeError !== undefined)
}

/** 1 a property failed (even if the report could not be written); 0 every checked property
 *  held and something was checked; 2 nothing was checked or the report was not written. */
export function campaignExit(s: CampaignSummary, writeFailed = false): number {
  if (s.verdict === 'fail') return EXIT.failed
  if (s.runs === 0 || writeFailed) return EXIT.usage
  return EXIT.ok
}

function startLine(o: CampaignOptions): string {
  const budget = [...(o.runs !== undefined ? [`${o.runs} runs`] : []), ...(o.time !== undefined ? [`${o.time}`] : [])].join(', ')
  const design = [o.profiles ? `drawn per block from ${o.profiles.map((p) => p.profile).join(',')}` : o.profile, ...Object.entries(o.overrides).map(([a, v]) => `${a}=${v}`)].join(' ')
  return (
    `luv campaign ${o.name}: seed ${o.seed} (0x${o.seed.toString(16)}), design ${design}, platform ${o.platformName}, impl ${o.impl}` +
    `${o.defect ? `, defect ${o.defect}` : ''}, ${o.properties.length} properties, ${o.workers} worker${o.workers === 1 ? '' : 's'}` +
    `${o.shard ? `, shard ${o.shard.index}/${o.shard.count}` : ''}, budget ${budget} -> ${o.out}/`
  )
}

/** Each failure's trace, the verdict per property, the verdict line, the report, the count. */
export function resultLines(s: CampaignSummary, cxs: Map<string, Counterexample>): TraceLine[] {
  const L: TraceLine[] = []
  for (const f of s.failures) {
    L.push({ text: '', tone: 'plain' }, { text: `${f.title}  (${f.sentence}; block ${f.blocks[0]}, seed ${f.seed})`, tone: 'head' })
    const cx = cxs.get(f.bundle)
    if (cx) L.push(...counterexampleTrace(cx))
    // node bin/luv.mjs, not npx: `npx luv` outside this clone runs another package of that name
    L.push({ text: `  bundle ${joinPath(s.out, f.bundle)}/   replay: node bin/luv.mjs ${f.replay.bundle.replace(/^luv /, '')}`, tone: 'dim' })
  }
  // the defect's catalogued property and the one the campaign reports: the difference explained
  const catalogued = s.defect !== undefined ? DEFECTS.find((d) => d.name === s.defect)?.property : undefined
  if (catalogued !== undefined && s.failures.length > 0 && !s.failures.some((f) => f.property === catalogued))
    L.push({
      text: `note: defect ${s.defect} is catalogued (luv defects) as breaking ${catalogued}; this campaign reports ${[...new Set(s.failures.map((f) => f.property))].join(', ')}: a property that fails first stops the run${s.failures.some((f) => f.property === 'conformance') ? ' (conformance compares every step with the model, so it sees the defect as soon as any result or observation differs)' : ''}`,
      tone: 'dim',
    })
  for (const e of s.errors) L.push({ text: `harness error in block ${e.block} (seed ${e.seed}): ${e.message.split('\n')[0]}`, tone: 'fail' })
  L.push({ text: '', tone: 'plain' })
  const width = Math.max(...Object.keys(s.properties).map((p) => p.length))
  for (const [name, p] of Object.entries(s.properties))
    L.push({ text: `  ${name.padEnd(width)}  ${propertyCell(s, name as PropertyName)}`, tone: p.verdict === 'fail' ? 'fail' : p.verdict === 'pass' ? 'pass' : 'dim' })
  const { passed, failed } = counts(s)
  const sps = s.timing.stepsPerSecond.toLocaleString('en-US')
  const what = `${s.runs.toLocaleString('en-US')} runs, ${s.steps.toLocaleString('en-US')} steps in ${s.seconds.toFixed(1)} s (${sps} steps/s), seed ${s.seed}`
  const verdict =
    s.runs === 0
      ? s.verdict === 'fail'
        ? `FAIL: ${failed} of ${passed + failed} properties failed on ${s.design.label} before any run was counted (interrupted while shrinking), seed ${s.seed}`
        : `NOTHING CHECKED: no block finished (${s.interrupted ? 'interrupted' : 'empty campaign'}): this is not a pass, seed ${s.seed}`
      : s.verdict === 'pass'
      ? `PASS: all ${passed} properties hold on ${s.design.label}: ${what}`
      : `FAIL: ${failed} of ${passed + failed} properties failed on ${s.design.label}${s.errors.length ? ` (and ${s.errors.length} harness error${s.errors.length > 1 ? 's' : ''})` : ''}: ${what}`
  L.push({ text: '', tone: 'plain' }, { text: verdict + (s.interrupted && s.runs > 0 ? ' (interrupted)' : ''), tone: s.verdict === 'pass' && s.runs > 0 ? 'pass' : 'fail' })
  L.push({ text: `report: ${joinPath(s.out, 'summary.md')}`, tone: 'dim' }, { text: countLine(s), tone: failed ? 'fail' : 'pass' })
  return L
}
