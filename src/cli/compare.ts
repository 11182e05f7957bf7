// `luv compare`: the design matrix. Parse the flags (every one checked before anything is
// written: exit 2), run one campaign per design on the same seed (src/compare), show progress,
// write the matrix and print it. SIGINT/SIGTERM: no new cells; the matrix of what finished is
// still written.

import { parseArgs } from 'node:util'
import { InputError } from '../campaign/errors.ts'
import type { CompareFlags, CompareOptions } from '../compare/options.ts'
import type { Matrix } from '../compare/matrix.ts'
import { colorEnabled, paint, type TraceLine } from '../scenario/print.ts'
import type { CliDeps } from './deps.ts'
import { EXIT, UsageError, parseArgsMessage } from './usage.ts'

export const COMPARE_USAGE = `usage: luv compare [--profile P] [--set AXIS=OPTION]... [--axes a,b|all] [--cross]
                   [--profiles a,b,c|all] [--design FILE]... [--runs N] [--time D] [--total D]
                   [--seed S] [--workers N] [--platform P] [--properties a,b] [--impl I]
                   [--out DIR] [--doc FILE]

Compare design alternatives: run the same campaign (same seed, same budget) on each design
and write reports/<name>/design-matrix.md, design-matrix.json and junit.xml: rows are
designs, columns the named properties, each cell holds (runs, steps) or breaks, with its
minimal failure bundle and a one-line explanation. Each design's campaign report is a
folder beside the matrix.
  --profile P       the base design's profile (default lpc2025)
  --set AXIS=OPT    an override of the base design; repeatable
  --axes L          axes varied from the base, one at a time (default: every axis, when
                    neither --profiles nor --design is given)
  --cross           every combination of the --axes options instead (a few axes only)
  --profiles L      compare whole profiles (posted versions), in the order given; the
                    matrix says what changed between consecutive ones
  --design FILE     a design file (JSON: name, description, profile, axes); repeatable
  --runs N          fast-check runs per design (default 200 without --time): reproducible
  --time D          budget per design: no block starts after D (30s, 2m)
  --total D         budget for the whole comparison: no design starts after D
  --seed S          campaign seed of every design (default 437)
  --workers N       worker threads shared by the designs (default: one per core)
  --platform P      as for luv campaign (default, small, tiny, large, mixed, FILE)
  --properties L    properties to check (default: all)
  --impl I          model, kernel or both (default both: conformance is a column)
  --out DIR         folder (default reports/compare-<base>-seed-<seed>)
  --doc FILE        also write the matrix markdown to FILE (no timing; links into --out)
Exit status: 0 every design keeps every checked property, 1 a cell breaks (a finding) or a
harness error, 2 bad usage or bad input.`

function parseCompareArgs(argv: string[]): Record<string, string | string[] | boolean | undefined> {
  try {
    return parseArgs({
      args: argv,
      options: {
        profile: { type: 'string' },
        set: { type: 'string', multiple: true },
        axes: { type: 'string' },
        cross: { type: 'boolean' },
        profiles: { type: 'string' },
        design: { type: 'string', multiple: true },
        runs: { type: 'string' },
        time: { type: 'string' },
        total: { type: 'string' },
        seed: { type: 'string' },
        workers: { type: 'string' },
        platform: { type: 'string' },
        properties: { type: 'string' },
        impl: { type: 'string' },
        out: { type: 'string' },
        doc: { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }).values
  } catch (e) {
    throw new UsageError('compare', parseArgsMessage(e))
  }
}

export async function compareCommand(argv: string[], deps: CliDeps): Promise<number> {
  const values = parseCompareArgs(argv)
  if (values.help) {
    deps.stdout.write(COMPARE_USAGE + '\n')
    return EXIT.ok
  }
  // loaded here, not at startup: they bring the model, the kernel and the worker pool
  const [{ resolveCompareOptions }, { runCompare }, { buildMatrix }, { writeComparison }, { compareProgressDisplay }] = await Promise.all([
    import('../compare/options.ts'),
    import('../compare/run.ts'),
    import('../compare/matrix.ts'),
    import('../compare/write.ts'),
    import('../compare/progress.ts'),
  ])
  let opts: CompareOptions
  try {
    opts = resolveCompareOptions(values as CompareFlags)
  } catch (e) {
    if (e instanceof InputError) throw new UsageError('compare', e.message)
    throw e
  }
  const doc = values.doc as string | undefined
  if (doc !== undefined && doc.trim() === '') throw new UsageError('compare', '--doc: expected a file name')
  const color = colorEnabled(deps.stdout, deps.env)
  deps.stdout.write(startLine(opts) + '\n')

  const stop = new AbortController()
  const kill = new AbortController()
  const onSignal = (sig: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      deps.stderr.write(`\nluv compare: ${sig}: no new designs; finishing the running ones (${sig} again aborts them); the matrix of what finished will be written\n`)
      stop.abort()
    } else kill.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const display = compareProgressDisplay(deps.stderr)
  let run
  try {
    run = await runCompare(opts, { onProgress: (p) => display.update(p) }, { stop: stop.signal, kill: kill.signal, inline: deps.env.LUV_CAMPAIGN_INLINE === '1' })
  } finally {
    display.stop()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  const matrix = buildMatrix(opts, run)
  await writeComparison(matrix, run, doc)
  deps.stdout.write(paint(resultLines(matrix, doc), color))
  return matrix.verdict === 'pass' ? EXIT.ok : EXIT.failed
}

function startLine(o: CompareOptions): string {
  const budget = [...(o.runs !== undefined ? [`${o.runs} runs`] : []), ...(o.cellTime ? [o.cellTime] : [])].join(', ')
  return (
    `luv compare ${o.name}: ${o.rows.length} design${o.rows.length === 1 ? '' : 's'} × ${o.properties.length} properties, seed ${o.seed} (0x${o.seed.toString(16)}), ` +
    `budget ${budget} per design${o.totalTime ? `, ${o.totalTime} in total` : ''}, impl ${o.impl}, platform ${o.platformName}, ${o.workers} worker${o.workers === 1 ? '' : 's'} -> ${o.out}/`
  )
}

/** One line per design: its label and the properties it breaks; then the findings, the verdict. */
export function resultLines(m: Matrix, doc?: string): TraceLine[] {
  const L: TraceLine[] = [{ text: '', tone: 'plain' }]
  const width = Math.max(...m.rows.map((r) => r.label.length))
  for (const r of m.rows) {
    const broke = m.properties.filter((p) => r.cells[p]?.verdict === 'breaks')
    const state = r.status === 'not-run' ? 'not run' : broke.length ? `breaks ${broke.join(', ')}` : `keeps every property (${r.runs.toLocaleString('en-US')} runs)`
    L.push({ text: `  ${r.label.padEnd(width)}  ${state}${r.status === 'interrupted' ? ' (interrupted)' : ''}`, tone: r.status === 'not-run' ? 'dim' : broke.length ? 'fail' : 'pass' })
    for (const p of broke) {
      const c = r.cells[p]!
      L.push({ text: `      ${p}: ${c.explanation ?? ''}`, tone: 'plain' }, { text: `      ${c.replay ?? ''}`, tone: 'dim' })
    }
  }
  const breaking = m.rows.filter((r) => m.properties.some((p) => r.cells[p]?.verdict === 'breaks')).length
  const notRun = m.rows.filter((r) => r.status === 'not-run').length
  const cut = m.rows.filter((r) => r.status === 'interrupted').length
  const incomplete = [...(notRun ? [`${notRun} not run`] : []), ...(cut ? [`${cut} cut short`] : [])].join(', ')
  L.push({ text: '', tone: 'plain' })
  L.push({
    text: `${breaking ? 'FINDINGS' : 'PASS'}: ${m.rows.length - breaking - notRun} of ${m.rows.length} designs keep every property${incomplete ? ` (${incomplete})` : ''}${m.interrupted ? ' (interrupted)' : ''}, seed ${m.seed}, ${m.seconds.toFixed(1)} s`,
    tone: breaking ? 'fail' : 'pass',
  })
  L.push({ text: `matrix: ${m.out.replace(/\/+$/, '')}/design-matrix.md${doc ? ` (and ${doc})` : ''}`, tone: 'dim' })
  return L
}
