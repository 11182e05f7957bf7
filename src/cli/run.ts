// `luv run FILE|DIR... [--impl model|kernel|both] [--profile P] [--set AXIS=OPTION]...
//                      [--defect NAME] [--quiet]`
// Every file is loaded and validated before any runs, so a typo in the tenth file stops the
// command before it spends time on the first nine (exit 2). Then each scenario runs on a fresh
// executor; exit 0 when every expectation and property holds, 1 otherwise.

import { resolveDesignStrict } from '../input/design.ts'
import { parseArgs } from 'node:util'
import { DEFAULT_PROFILE, DesignError, describeDesign } from '../../models/design.ts'
import type { Design, DesignSpec, ProfileName } from '../../models/design.ts'
import type { ImplChoice } from '../check/executor.types.ts'
import { ScenarioError, loadScenario } from '../scenario/load.ts'
import type { Scenario } from '../scenario/types.ts'
import { UnboundNameError, runScenario } from '../scenario/run.ts'
import { colorEnabled, paint, renderRun, summaryLine } from '../scenario/print.ts'
import { loadCreateExecutor } from './deps.ts'
import type { CliDeps, CreateExecutor } from './deps.ts'
import { expandPaths } from './files.ts'
import { safeText } from '../input/text.ts'
import { EXIT, UsageError, parseArgsMessage } from './usage.ts'

export const RUN_USAGE = `usage: luv run FILE|DIR... [--impl model|kernel|both] [--profile P] [--set AXIS=OPTION]...
               [--defect NAME] [--quiet]

Run scenario files (a directory: its *.json files, sorted) and print each trace.
  --impl I          model, kernel or both (default both: results and observations compared)
  --profile P       design profile, replacing the file's (its axis overrides still apply)
  --set AXIS=OPT    design axis override, applied after the file's own; repeatable
  --defect NAME     seed a defect into the kernel implementation (not with --impl model)
  --quiet, -q       print only failing scenarios and the final count
Exit status: 0 all expectations and properties hold, 1 some failed, 2 bad usage or bad input.`

const IMPLS: readonly ImplChoice[] = ['model', 'kernel', 'both']

interface RunFlags {
  impl: ImplChoice
  design: DesignSpec
  defect?: string
  quiet: boolean
  paths: string[]
}

export async function runCommand(argv: string[], deps: CliDeps): Promise<number> {
  const flags = parseRunFlags(argv)
  if (flags === 'help') {
    deps.stdout.write(RUN_USAGE + '\n')
    return EXIT.ok
  }
  const scenarios = loadAll('run', flags.paths, deps)
  if (!scenarios) return EXIT.usage

  let create: CreateExecutor
  try {
    create = deps.createExecutor ?? (await loadCreateExecutor())
  } catch (e) {
    throw new UsageError('run', `cannot load the executor: ${(e as Error).message}`)
  }
  const color = colorEnabled(deps.stdout, deps.env)
  let passed = 0
  let failed = 0
  let aborted = false
  for (const scenario of scenarios) {
    const { design, label } = designFor(scenario, flags.design)
    let executor
    try {
      executor = create(scenario.platform, design, { impl: flags.impl, ...(flags.defect && { defect: flags.defect }) })
    } catch (e) {
      // The factory refuses what the command line asked for (an unknown --defect, say).
      throw new UsageError('run', (e as Error).message)
    }
    try {
      const run = runScenario(scenario, { executor })
      if (run.passed) passed++
      else failed++
      if (!run.passed || !flags.quiet) deps.stdout.write(paint(renderRun(run, { design: label }), color) + '\n')
    } catch (e) {
      if (!(e instanceof UnboundNameError)) throw e
      failed++
      aborted = true
      deps.stdout.write(paint(renderRun(e.partial, { design: label, aborted: e.message }), color) + '\n')
      deps.stderr.write(`luv run: ${e.message}\n`)
    }
  }
  deps.stdout.write(paint([summaryLine(passed, failed)], color))
  return aborted ? EXIT.usage : failed ? EXIT.failed : EXIT.ok
}

function parseRunFlags(argv: string[]): RunFlags | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        impl: { type: 'string' },
        profile: { type: 'string' },
        set: { type: 'string', multiple: true },
        defect: { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    })
  } catch (e) {
    throw new UsageError('run', parseArgsMessage(e))
  }
  const { values, positionals } = parsed
  if (values.help) return 'help'
  const impl = (values.impl ?? 'both') as ImplChoice
  if (!IMPLS.includes(impl)) throw new UsageError('run', `--impl: unknown implementation '${impl}' (known: ${IMPLS.join(', ')})`)
  if (values.defect !== undefined && impl === 'model')
    throw new UsageError('run', '--defect seeds the kernel implementation; it needs --impl kernel or --impl both')
  if (positionals.length === 0) throw new UsageError('run', 'no scenario file or directory given (see luv run --help)')
  const design = parseDesignFlags('run', values.profile, values.set ?? [])
  return {
    impl,
    design,
    ...(values.defect !== undefined && { defect: values.defect }),
    quiet: values.quiet ?? false,
    paths: positionals,
  }
}

/** --profile and --set AXIS=OPTION..., checked now so a typo fails before anything runs. */
export function parseDesignFlags(cmd: string, profile: string | undefined, sets: string[]): DesignSpec {
  const check = (flag: string, spec: DesignSpec) => {
    try {
      resolveDesignStrict(spec)
    } catch (e) {
      if (e instanceof DesignError) throw new UsageError(cmd, `${flag}: ${e.message}`)
      throw e
    }
  }
  if (profile !== undefined) check(`--profile ${profile}`, { profile })
  const overrides: Record<string, string> = {}
  for (const s of sets) {
    const eq = s.indexOf('=')
    if (eq <= 0 || eq === s.length - 1) throw new UsageError(cmd, `--set ${s}: expected AXIS=OPTION`)
    const [axis, option] = [s.slice(0, eq), s.slice(eq + 1)]
    check(`--set ${s}`, { overrides: { [axis]: option } })
    overrides[axis] = option
  }
  return { ...(profile !== undefined && { profile }), overrides }
}

/** The file's design with the command line's on top: CLI profile replaces the file's, then the
 *  file's axis overrides apply, then the CLI's --set. */
export function designFor(scenario: Scenario, cli: DesignSpec): { design: Design; label: string } {
  const profile = cli.profile ?? scenario.designSpec.profile ?? DEFAULT_PROFILE
  const spec = { profile, overrides: { ...scenario.designSpec.overrides, ...cli.overrides } }
  let design: Design
  try {
    design = resolveDesignStrict(spec)
  } catch (e) {
    if (e instanceof DesignError) throw new ScenarioError(scenario.source, 'design', e.message)
    throw e
  }
  return { design, label: describeDesign(design, profile as ProfileName) }
}

/** Load every file; print each problem as one line; undefined when any file is bad. */
export function loadAll(cmd: string, paths: string[], deps: CliDeps): Scenario[] | undefined {
  const files = expandPaths(cmd, paths)
  // nothing to run is not a pass: a folder without *.json files is bad input
  if (files.length === 0) throw new UsageError(cmd, `no scenario files (*.json) in ${paths.map((p) => safeText(p, 200)).join(', ')}`)
  const scenarios: Scenario[] = []
  let bad = 0
  for (const f of files) {
    try {
      scenarios.push(loadScenario(f))
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e
      deps.stderr.write(`luv ${cmd}: ${e.message}\n`)
      bad++
    }
  }
  return bad ? undefined : scenarios
}
