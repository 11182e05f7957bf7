// `luv failnth FILE`: the fail-nth sweep (src/explore/failnth.ts over src/check/failnth.ts)
// over a scenario file, a bundle folder or an ITF trace: every fault-injectable allocation
// of every op failed in turn, n = 1, 2, ... until the op reaches no n-th allocation.

import { parseArgs } from 'node:util'
import type { CliDeps } from './deps.ts'
import { EXIT, UsageError, parseArgsMessage } from './usage.ts'

export const FAILNTH_USAGE = `usage: luv failnth FILE [--profile P] [--set AXIS=OPTION]... [--defect NAME] [--no-continue] [--out FILE]

Sweep allocation failures over a scenario (iommufd_fail_nth.c): for each op, fail its n-th
fault-injectable allocation (a page of any zone, an object id, a DID), n = 1, 2, ... until
the op reaches no n-th allocation. Each point must give -ENOMEM, leave the kernel's
observation as before the op, equal the model's observation of the state before the op,
and the rest of the trace must then agree with the model run without the op.
  FILE              a scenario file, a bundle folder or a trace.itf.json
  --profile, --set  design, applied over the file's
  --defect NAME     seed a defect into the kernel implementation (default: the bundle's)
  --no-continue     do not run the rest of the trace after each injected failure
  --out FILE        also write the table as markdown
Exit status: 0 every point holds, 1 one does not, 2 bad usage or bad input.`

export async function failnthCommand(argv: string[], deps: CliDeps): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        profile: { type: 'string' },
        set: { type: 'string', multiple: true },
        defect: { type: 'string' },
        'no-continue': { type: 'boolean' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    })
  } catch (e) {
    throw new UsageError('failnth', parseArgsMessage(e))
  }
  const { values: v, positionals } = parsed
  if (v.help) {
    deps.stdout.write(FAILNTH_USAGE + '\n')
    return EXIT.ok
  }
  if (positionals.length !== 1) throw new UsageError('failnth', positionals.length ? `expected one FILE, got ${positionals.length}` : 'expected a FILE (a scenario, a bundle folder or a trace.itf.json)')
  const [{ loadReplayInput }, { InputError }, { designFor, parseDesignFlags }, { sweepFailNth, failNthTable }, { ModelExecutor }, { runScenario }, { checkExecutor }, { writeFileAtomic }] = await Promise.all([
    import('../campaign/replay.ts'),
    import('../campaign/errors.ts'),
    import('./run.ts'),
    import('../explore/failnth.ts'),
    import('../check/executor.ts'),
    import('../scenario/run.ts'),
    import('../campaign/options.ts'),
    import('../campaign/atomic.ts'),
  ])
  let input
  try {
    input = loadReplayInput(positionals[0])
  } catch (e) {
    if (e instanceof InputError) throw new UsageError('failnth', e.message)
    throw e
  }
  const sc = input.scenario
  const { design, label } = designFor(sc, parseDesignFlags('failnth', v.profile, v.set ?? []))
  const defect = v.defect ?? input.recorded.defect
  if (defect !== undefined)
    try {
      checkExecutor(sc.platform, design, 'both', defect)
    } catch (e) {
      if (e instanceof InputError) throw new UsageError('failnth', e.message)
      throw e
    }
  // the ops as the model resolves them ($name bindings)
  const ops = runScenario(sc, { executor: new ModelExecutor(sc.platform, design, new Set()) }).steps.map((s) => s.op)
  deps.stdout.write(`luv failnth ${input.source}: ${ops.length} ops, design ${label}${defect ? `, defect ${defect}` : ''}\n`)
  const r = sweepFailNth(sc.platform, design, ops, { ...(defect !== undefined && { defect }), continueRest: !v['no-continue'] })
  const L: string[] = []
  for (const x of r.rows) {
    const facts = [x.result, x.unchanged ? 'unchanged' : 'CHANGED', x.modelAgrees ? 'model agrees' : 'MODEL DIFFERS', ...(v['no-continue'] ? [] : [x.continuation === undefined ? `rest: ${x.continued} steps agree` : `rest DIVERGED: ${x.continuation}`])]
    L.push(`${x.problem ? 'FAIL' : 'ok  '} step ${x.step} ${x.op} fail-nth ${x.n}: ${facts.join(', ')}`)
  }
  const opsHit = r.pointsPerOp.filter((p) => p > 0).length
  L.push('', `${r.points} allocation points in ${opsHit} of ${r.ops} ops swept (until no op reached another); ${r.failed} failed.`)
  L.push(r.failed ? `FAIL: ${r.failed} injected failure${r.failed === 1 ? '' : 's'} did not behave` : 'PASS: every injected allocation failure gave -ENOMEM and changed nothing')
  deps.stdout.write(L.join('\n') + '\n')
  if (v.out !== undefined) {
    const md = [`# luv failnth ${input.source}`, '', `Design ${label}${defect ? `, defect ${defect}` : ''}; ${r.points} points, ${r.failed} failed.`, '', ...failNthTable(r), '']
    await writeFileAtomic(v.out, md.join('\n'))
  }
  return r.failed ? EXIT.failed : EXIT.ok
}
