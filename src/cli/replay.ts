// `luv replay PATH` (a bundle folder, scenario.json or trace.itf.json) and
// `luv replay --seed S --path P ...` (fast-check). Exit 1 when the failure reproduces, 0 when
// it does not, 2 on bad input. The heavy modules are loaded only when the command runs.

import { parseArgs } from 'node:util'
import { InputError } from '../campaign/errors.ts'
import { safeText } from '../input/text.ts'
import { DEFECTS } from '../kernel/defects/index.ts'
import type { PropertyName } from '../check/executor.types.ts'
import { describeDesign } from '../../models/design.ts'
import { colorEnabled, paint, renderRun, summaryLine, type TraceLine } from '../scenario/print.ts'
import { loadCreateExecutor, type CliDeps, type CreateExecutor } from './deps.ts'
import { designFor, parseDesignFlags } from './run.ts'
import { EXIT, UsageError, parseArgsMessage } from './usage.ts'

export const REPLAY_USAGE = `usage: luv replay PATH [--impl model|kernel|both] [--defect NAME] [--profile P] [--set AXIS=OPTION]...
       luv replay --seed S --path P [--profile P] [--set AXIS=OPTION]... [--platform NAME|FILE]
                  [--properties a,b] [--impl model|kernel|both] [--defect NAME] [--fail-rate R]

Replay a failure and print its trace with the divergence.
  PATH              a bundle folder (its scenario.json, else its trace.itf.json), a
                    scenario.json, or an ITF trace: replays without fast-check, so it works
                    after the generators change
  --seed S --path P the fast-check seed and path of a campaign failure (summary.md lists the
                    full command): re-runs that block's runs and shrinks again; same luv and
                    fast-check versions only
  --impl I          model, kernel or both (default both)
  --defect NAME     seed a defect into the kernel (default: the one the bundle records)
  --profile, --set  design; PATH mode: applied over the file's design
  --platform, --properties  as for luv campaign (seed mode)
  --fail-rate R     seed mode: the campaign's fail-nth rate (the commands summary.md lists
                    give it; absent: 0, as before fault injection existed)
Exit status: 1 the failure reproduces (a property violation or divergence), 0 it does not,
2 bad usage or bad input.`

export async function replayCommand(argv: string[], deps: CliDeps): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        impl: { type: 'string' },
        defect: { type: 'string' },
        profile: { type: 'string' },
        set: { type: 'string', multiple: true },
        platform: { type: 'string' },
        properties: { type: 'string' },
        seed: { type: 'string' },
        path: { type: 'string' },
        'fail-rate': { type: 'string' }, // issue 13: seed mode
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    })
  } catch (e) {
    throw new UsageError('replay', parseArgsMessage(e))
  }
  const { values: v, positionals } = parsed
  if (v.help) {
    deps.stdout.write(REPLAY_USAGE + '\n')
    return EXIT.ok
  }
  try {
    if (v.seed !== undefined || v.path !== undefined) {
      if (positionals.length > 0) throw new UsageError('replay', `give either PATH or --seed S --path P, not both (got '${positionals[0]}')`)
      if (v.seed === undefined || v.path === undefined) throw new UsageError('replay', '--seed and --path go together (see luv replay --help)')
      return await seedReplay(v as Record<string, string | string[] | undefined>, deps)
    }
    if (positionals.length !== 1)
      throw new UsageError('replay', positionals.length === 0 ? 'no PATH given (a bundle folder, scenario.json or trace.itf.json; see luv replay --help)' : `one PATH at a time (got ${positionals.length})`)
    for (const f of ['platform', 'properties', 'fail-rate'] as const)
      if (v[f] !== undefined) throw new UsageError('replay', `--${f} goes with --seed/--path; a PATH carries its own`)
    return await pathReplay(positionals[0], v as Record<string, string | string[] | undefined>, deps)
  } catch (e) {
    if (e instanceof InputError) throw new UsageError('replay', e.message)
    throw e
  }
}

const IMPLS = ['model', 'kernel', 'both']

function implOf(v: Record<string, unknown>): 'model' | 'kernel' | 'both' {
  const impl = (v.impl as string | undefined) ?? 'both'
  if (!IMPLS.includes(impl)) throw new UsageError('replay', `--impl ${impl}: unknown implementation (known: ${IMPLS.join(', ')})`)
  return impl as 'model' | 'kernel' | 'both'
}

async function pathReplay(path: string, v: Record<string, string | string[] | undefined>, deps: CliDeps): Promise<number> {
  const { loadReplayInput, replayScenario } = await import('../campaign/replay.ts')
  const impl = implOf(v)
  const cliDesign = parseDesignFlags('replay', v.profile as string | undefined, (v.set as string[] | undefined) ?? [])
  const input = loadReplayInput(path)
  const { design, label } = designFor(input.scenario, cliDesign)
  const notes: string[] = [...input.notes]
  const rec = input.recorded
  let defect = v.defect as string | undefined
  let defectFrom = defect !== undefined ? '--defect' : undefined
  if (defect === undefined && rec.defect !== undefined) {
    if (impl === 'model') notes.push(`the recorded defect ${rec.defect} is not seeded: --impl model runs no kernel`)
    else {
      defect = rec.defect
      defectFrom = `recorded in ${input.recordedFrom ?? input.source}`
    }
  } else if (defect !== undefined && rec.defect !== undefined && defect !== rec.defect)
    notes.push(`--defect ${defect} replaces the recorded defect ${rec.defect}`)
  if (defect !== undefined && impl === 'model') throw new UsageError('replay', '--defect seeds the kernel implementation; it needs --impl kernel or --impl both')
  let create: CreateExecutor
  try {
    create = deps.createExecutor ?? (await loadCreateExecutor())
  } catch (e) {
    throw new UsageError('replay', `cannot load the executor: ${(e as Error).message}`)
  }
  let executor
  try {
    executor = create(input.scenario.platform, design, { impl, ...(defect !== undefined && { defect }) })
  } catch (e) {
    throw new UsageError('replay', (e as Error).message)
  }
  const out = replayScenario(input.scenario, executor, input.recorded.property)
  const color = colorEnabled(deps.stdout, deps.env)
  const kind = input.kind === 'bundle' ? 'bundle' : input.kind === 'itf' ? 'ITF trace' : 'scenario'
  const designFrom = cliDesign.profile !== undefined || Object.keys(cliDesign.overrides ?? {}).length > 0 ? 'the file, with the command line on top' : 'the file'
  // what runs, said before any verdict: a reader must know what NOT REPRODUCED was checked against
  const lines: TraceLine[] = [
    { text: `luv replay ${safeText(input.source)} (${kind}, ${input.scenario.steps.length} steps)`, tone: 'dim' },
    ...input.checked.map((text) => ({ text: `  checked: ${text}`, tone: 'dim' as const })),
    { text: `  against: design ${label} (from ${designFrom}); impl ${impl}; defect ${defect !== undefined ? `${defect} (${defectFrom})` : impl === 'model' ? 'none (no kernel runs)' : 'none (the clean kernel implementation)'}`, tone: 'head' },
    ...notes.map((text) => ({ text: `note: ${safeText(text)}`, tone: 'dim' as const })),
    ...renderRun(out.run, { design: label }),
  ]
  const recordedText = rec.property !== undefined ? `recorded: ${rec.property}${rec.step !== undefined ? ` at step ${rec.step}` : ''}` : undefined
  if (out.first) {
    // the recorded property where the replay violates it too, else the first violated one; a
    // divergence is the conformance property (DESIGN.md §2.4): one name everywhere
    const shown = out.recorded ?? out.first
    const nameOf = (p: PropertyName | 'divergence') => (p === 'divergence' ? 'conformance' : p)
    const prop = nameOf(shown.property)
    const what = shown.property === 'divergence' ? 'conformance (the kernel implementation diverged from the model)' : prop
    const same = rec.property === undefined || (rec.property === prop && (rec.step === undefined || rec.step === shown.step))
    lines.push({ text: `REPRODUCED: ${what} at step ${shown.step}${recordedText ? ` (${recordedText}${same ? '' : '; this differs'})` : ''}`, tone: 'fail' })
    if (out.recorded && (out.first.property !== out.recorded.property || out.first.step !== out.recorded.step))
      lines.push({ text: `note: ${nameOf(out.first.property)} was violated first, at step ${out.first.step}`, tone: 'dim' })
    const expected = defect !== undefined ? DEFECTS.find((d) => d.name === defect)?.property : undefined
    if (expected !== undefined && expected !== prop)
      lines.push({
        text: `note: defect ${defect} is catalogued (luv defects) as breaking ${expected}; ${prop} tripped first, at step ${shown.step}: ${prop === 'conformance' ? 'conformance compares every step with the model, so it sees the defect as soon as any result or observation differs, before its effect on ' + expected + ' shows' : 'the first violated property is reported'}`,
        tone: 'dim',
      })
  } else lines.push({ text: `NOT REPRODUCED: no property violation and no divergence${recordedText ? ` (${recordedText})` : ''}`, tone: 'pass' })
  lines.push(summaryLine(out.reproduced ? 0 : 1, out.reproduced ? 1 : 0))
  deps.stdout.write(paint(lines, color))
  return out.reproduced ? EXIT.failed : EXIT.ok
}

async function seedReplay(v: Record<string, string | string[] | undefined>, deps: CliDeps): Promise<number> {
  const [{ parseSeed, resolveDesignFlags, resolvePlatforms, resolveProperties, checkExecutor, parseFailRate }, { parsePath, replaySeed }, { counterexampleTrace }] = await Promise.all([
    import('../campaign/options.ts'),
    import('../campaign/replay.ts'),
    import('../campaign/trace.ts'),
  ])
  const impl = implOf(v)
  const seed = parseSeed(v.seed as string, '--seed', true)
  const path = v.path as string
  parsePath(path)
  const { profile, design } = resolveDesignFlags(v.profile as string | undefined, (v.set as string[] | undefined) ?? [])
  const platformName = (v.platform as string | undefined) ?? 'default'
  const platforms = resolvePlatforms(platformName)
  const properties = resolveProperties(v.properties as string | undefined, impl)
  const defect = v.defect as string | undefined
  if (defect !== undefined && impl === 'model') throw new UsageError('replay', '--defect seeds the kernel implementation; it needs --impl kernel or --impl both')
  checkExecutor(platforms[0], design, impl, defect)
  const failRate = v['fail-rate'] === undefined ? 0 : parseFailRate(v['fail-rate'] as string) // issue 13
  const color = colorEnabled(deps.stdout, deps.env)
  deps.stdout.write(
    `luv replay: seed ${seed}, path ${path.length > 60 ? path.slice(0, 57) + '...' : path}, design ${describeDesign(design, profile)}, platform ${safeText(platformName, 200)}, impl ${impl}, defect ${defect ?? 'none'}, properties ${properties.join(',')}\n`,
  )
  const r = replaySeed({ seed, path, platforms, design, profile, impl, ...(defect !== undefined && { defect }), properties, ...(failRate && { failRate }) })
  const lines: TraceLine[] = []
  if (r.result.error !== undefined) {
    lines.push({ text: `harness error (not a property violation):`, tone: 'fail' }, ...r.result.error.split('\n').map((text) => ({ text, tone: 'fail' as const })))
    lines.push(summaryLine(0, 1))
    deps.stdout.write(paint(lines, color))
    return EXIT.failed
  }
  if (!r.cx) {
    lines.push({ text: `NOT REPRODUCED: ${r.result.runs} runs pass with seed ${seed} (the generators or the model changed; replay the bundle's scenario.json instead)`, tone: 'pass' })
    lines.push(summaryLine(1, 0))
    deps.stdout.write(paint(lines, color))
    return EXIT.ok
  }
  lines.push({ text: `${r.cx.property}: shrunk to ${r.cx.steps.length} steps`, tone: 'head' }, ...counterexampleTrace(r.cx))
  if (r.pathDiffers)
    lines.push({ text: `note: this shrank along a different path than the one given: the generators changed since; the bundle's scenario.json replays the original trace`, tone: 'dim' })
  // 0-based, as scenario files number steps: the failing step is the trace's last
  lines.push({ text: `REPRODUCED: ${r.cx.property} at step ${r.cx.steps.length - 1}`, tone: 'fail' }, summaryLine(0, 1))
  deps.stdout.write(paint(lines, color))
  return EXIT.failed
}
