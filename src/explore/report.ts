// What `luv explore` writes: a failure bundle per violated property (the campaign's bundle
// format, src/report/ writeBundle: report.md, scenario.json, trace.itf.json, repro.c,
// email.txt), then explore.md and explore.json (each written atomically, bundles first, so a
// report never names a bundle that is not there), and the TLC-style lines the terminal shows.

import { mkdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { describeDesign, type ProfileName } from '../../models/design.ts'
import { opToString, type Op } from '../../models/ops.ts'
import { writeFileAtomic } from '../campaign/atomic.ts'
import { createExecutor } from '../check/index.ts'
import type { ImplChoice, StepOutcome } from '../check/executor.types.ts'
import { renderCoverageMd } from '../coverage/coverage.ts'
import { writeBundle } from '../report/bundle.ts'
import { toCounterexample } from '../report/from-failure.ts'
import type { Counterexample } from '../report/types.ts'
import type { ExploreResult, ExploreViolation } from './explore.ts'
import type { Scope } from './scope.ts'

export const EXPLORE_FORMAT = 'luv-explore'

const n = (x: number) => x.toLocaleString('en-US')

/** The counterexample of a violation: its shortest trace replayed through the executor the
 *  campaign uses (impl both when conformance was checked), cut at the step that violates. */
export function violationCounterexample(v: ExploreViolation, scope: Scope, r: ExploreResult, profile: ProfileName, defect?: string): Counterexample {
  const impl: ImplChoice = r.conformance.enabled ? 'both' : 'model'
  const exec = createExecutor(scope.platform, r.design, { impl, ...(defect !== undefined && { defect }) })
  const outcomes: StepOutcome[] = []
  let found = 0
  for (const [i, op] of v.ops.entries()) {
    let out: StepOutcome
    try {
      out = exec.step(op)
    } catch {
      // the kernel threw where exploration saw it throw: keep the steps before it
      break
    }
    outcomes.push(out)
    if (out.violations.some((x) => x.property === v.property)) {
      found = i + 1
      break
    }
  }
  const ops = v.ops.slice(0, outcomes.length)
  const violation = (found && outcomes[found - 1].violations.find((x) => x.property === v.property)) || { property: v.property, message: v.message }
  return toCounterexample(
    { violation, ops, outcomes, divergenceIndex: found || outcomes.length },
    { design: r.design, platform: scope.platform, profile, ...(defect !== undefined && { defect }) },
  )
}

const json = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? '0x' + x.toString(16) : x), 1) + '\n'

/** Write bundles, explore.md and explore.json into `out`; returns each violation's bundle
 *  folder (relative to `out`). */
export async function writeExploreReport(
  r: ExploreResult,
  scope: Scope,
  out: string,
  ctx: { profile: ProfileName; command: string; defect?: string },
): Promise<Map<string, string>> {
  await mkdir(out, { recursive: true })
  const bundles = new Map<string, string>()
  for (const v of r.violations) {
    const cx = violationCounterexample(v, scope, r, ctx.profile, ctx.defect)
    const dir = await writeBundle(out, cx)
    bundles.set(v.property, relative(out, dir))
  }
  await writeFileAtomic(join(out, 'explore.md'), renderExploreMd(r, scope, ctx, bundles))
  await writeFileAtomic(
    join(out, 'explore.json'),
    json({ format: EXPLORE_FORMAT, formatVersion: 1, command: ctx.command, ...r, violations: r.violations.map((v) => ({ ...v, bundle: bundles.get(v.property) })) }),
  )
  return bundles
}

/** One op as the trace lines print it. */
export const opLine = (op: Op): string => opToString(op)

export function verdictOf(r: ExploreResult): 'pass' | 'fail' {
  return r.violations.length ? 'fail' : 'pass'
}

/** TLC's closing lines, in luv's words. */
export function figureLines(r: ExploreResult): string[] {
  const s = r.stats
  const c = r.conformance
  return [
    `${n(s.generated)} states generated, ${n(s.distinct)} distinct states found, ${n(s.leftOnQueue)} states left on queue.`,
    `${n(s.transitions)} transitions taken; depth ${s.depthReached} reached (bound ${s.maxDepth}); ${s.seconds.toFixed(1)} s; ${n(s.distinctPerMinute)} distinct states/min, ${n(s.generatedPerMinute)} generated/min.`,
    `states per level: ${s.levels.map(n).join(', ')}${s.complete ? (s.depthReached < s.maxDepth ? ' (the state graph ends before the bound: every reachable state in scope was found)' : '') : ` (stopped: ${s.stoppedBy})`}.`,
    c.enabled
      ? `conformance: ${n(c.transitions)} transitions replayed on the kernel implementation (${n(c.replays)} trace replays, ${n(c.fromParent)} kernels forked from the parent state's), ${n(c.divergences)} divergent.`
      : 'conformance: not checked (--conformance off).',
    `fingerprint collision probability: calculated ${s.collisionProbability.toExponential(1)}.`,
  ]
}

export function renderExploreMd(r: ExploreResult, scope: Scope, ctx: { profile: ProfileName; command: string }, bundles: Map<string, string>): string {
  const s = r.stats
  const L: string[] = [`# luv explore: ${scope.name}`, '']
  const verdict = verdictOf(r)
  L.push(
    verdict === 'pass'
      ? `**PASS**${s.complete ? '' : ' (incomplete)'}: no property is violated in any of the ${n(s.distinct)} distinct states within the scope${s.complete ? '' : ` explored before the search stopped (${s.stoppedBy})`}.`
      : `**FAIL**: ${r.violations.map((v) => v.property).join(', ')} violated; each with a shortest counterexample below.`,
    '',
    '```',
    ctx.command,
    '```',
    '',
  )
  L.push('## Figures', '', '| | |', '|---|---|')
  const rows: [string, string][] = [
    ['design', describeDesign(r.design, ctx.profile)],
    ['platform', `${scope.platform.units.length} unit(s), ${scope.platform.devices.length} device(s), ${scope.platform.memoryPages} memory pages, ${scope.platform.tablePages ?? 'default'} table pages`],
    ['bounds', Object.entries(scope.bounds).map(([k, v]) => `${k} ≤ ${v}`).join(', ')],
    ['symmetry reduction', r.symmetry ? 'on (fds, file and domain serials, pages, DIDs renamed by first appearance)' : 'off'],
    ['states generated', n(s.generated)],
    ['distinct states', n(s.distinct)],
    ['transitions', n(s.transitions)],
    ['states per level', s.levels.map(n).join(', ')],
    ['depth reached / bound', `${s.depthReached} / ${s.maxDepth}`],
    ['left on queue', n(s.leftOnQueue)],
    ['complete', s.complete ? 'yes' : `no (${s.stoppedBy})`],
    ['time', `${s.seconds} s`],
    ['distinct states / min', n(s.distinctPerMinute)],
    ['where the time went (s)', Object.entries(s.time).map(([k, v]) => `${k} ${v}`).join(', ')],
    ['fingerprint collision probability', s.collisionProbability.toExponential(1)],
    ['conformance', r.conformance.enabled ? `${n(r.conformance.transitions)} transitions on the kernel, ${n(r.conformance.replays)} replays, ${n(r.conformance.fromParent)} forked from the parent, ${n(r.conformance.divergences)} divergent` : 'not checked'],
  ]
  for (const [k, v] of rows) L.push(`| ${k} | ${v.replace(/\|/g, '\\|')} |`)
  L.push('', '## Initial states', '', '| name | prefix ops | note |', '|---|--:|---|')
  for (const i of r.init) L.push(`| ${i.name} | ${i.ops.length} | ${[...(i.distinct ? [] : ['same state as an earlier one']), ...i.failed.map((f) => `failed on this design: ${f}`)].join('; ') || '—'} |`)
  L.push('')
  L.push('## Violations', '')
  if (!r.violations.length) L.push('None.', '')
  for (const v of r.violations) {
    const b = bundles.get(v.property)
    L.push(`### ${v.property} (${n(r.violationCounts[v.property] ?? 0)} violating transitions)`, '', v.message, '')
    L.push(`Shortest counterexample: ${v.depth} op(s) after initial state \`${v.init}\`${b ? `; bundle \`${b}/\`, replay: \`luv replay ${join(b)}\`` : ''}.`, '')
    L.push('```', ...v.ops.map((op: Op, i: number) => `${String(i).padStart(3)}  ${opToString(op)}`), '```', '')
  }
  L.push('## Ops', '', `Explored: ${r.ops.join(', ')}.`, '')
  if (r.opsNotExplored.length) L.push(`Not explored (no argument enumerator in src/explore/actions.ts yet): ${r.opsNotExplored.join(', ')}.`, '')
  if (scope.skipOps.length) L.push(`Left out by the scope: ${scope.skipOps.join(', ')}.`, '')
  L.push(...renderCoverageMd(r.coverage, 'transitions'))
  return L.join('\n') + '\n'
}
