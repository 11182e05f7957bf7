// The human trace of a scenario run, strace-like: one line per step in kernel vocabulary
// (`IOMMU_DESTROY(iommufd=4, id=1) = -EBUSY`), failing steps marked `!` in the margin with the
// reasons indented under them. Rendering is colour-free (lines tagged with a tone); colour is
// added only by paint(), and only when the output is a TTY and NO_COLOR is unset.

import { safeText } from '../input/text.ts'
import { hex, opToString, resultToString } from '../../models/ops.ts'
import type { Result } from '../../models/ops.ts'
import type { Violation } from '../check/executor.types.ts'
import { expectMatches } from './run.ts'
import { failNthOf } from '../../models/fault.ts'
import type { ResolvedExpect, ScenarioRun, StepRecord } from './run.ts'

export type Tone = 'plain' | 'head' | 'pass' | 'fail' | 'dim'
export interface TraceLine {
  text: string
  tone: Tone
}

export interface RenderOptions {
  /** the design the run used, e.g. `lpc2025 ownership=strict` (describeDesign) */
  design?: string
  /** the run stopped early (a "$name" unbound when a step needed it): why */
  aborted?: string
}

const OK_MARK = '  '
const FAIL_MARK = '! '
const DETAIL = '        !! '
const FINDING = '        ~~ '

export function renderRun(run: ScenarioRun, opts: RenderOptions = {}): TraceLine[] {
  const lines: TraceLine[] = [{ text: `scenario ${run.name} (${run.source})`, tone: 'head' }]
  const setup = [opts.design !== undefined ? `design ${opts.design}` : undefined, `impl ${run.impl}`]
  lines.push({ text: `  ${setup.filter(Boolean).join(', ')}`, tone: 'dim' })
  const expected = new Set(run.expected)
  for (const s of run.steps) lines.push(...renderStep(s, expected))
  if (run.finishViolations.length > 0) {
    lines.push({ text: `${FAIL_MARK}finish`, tone: 'fail' })
    lines.push(...run.finishViolations.map((v) => violationLine(v, expected)))
  }
  lines.push(opts.aborted !== undefined ? { text: `ERROR ${run.name}: ${opts.aborted}`, tone: 'fail' } : verdictLine(run))
  return lines
}

export function renderStep(s: StepRecord, expected: ReadonlySet<string> = new Set()): TraceLine[] {
  const failed = !s.expectOk || s.diverged || s.violations.some((v) => !expected.has(v.property))
  let text = `${failed ? FAIL_MARK : OK_MARK}[${s.index}] ${opToString(s.op)}${failNthText(s)} = ${resultsText(s)}`
  if (s.bound) text += `  as $${s.bound.name}`
  if (s.expect !== undefined) text += `  expect ${expectToString(s.expect, s.result)}`
  const lines: TraceLine[] = [{ text, tone: failed ? 'fail' : 'plain' }]
  if (!s.expectOk) lines.push({ text: `${DETAIL}expectation failed: ${expectFailure(s)}`, tone: 'fail' })
  if (s.diverged && s.kernelResult)
    lines.push({
      text: `${DETAIL}divergence: model ${resultToString(s.result)}, kernel ${resultToString(s.kernelResult)}`,
      tone: 'fail',
    })
  lines.push(...s.violations.map((v) => violationLine(v, expected)))
  return lines
}

/** issue 13: ` [fail-nth 2: reached]` on a faulted step (models/fault.ts), else ''. */
function failNthText(s: StepRecord): string {
  const n = s.failNth?.n ?? failNthOf(s.op)
  if (n === undefined) return ''
  const reached = s.failNth?.reached
  return ` [fail-nth ${n}${reached === undefined ? '' : reached ? ': reached' : ': not reached, an ordinary step'}]`
}

/** `3` when the implementations agree (or only one ran), `model 3 | kernel -EBUSY` otherwise. */
function resultsText(s: StepRecord): string {
  if (!s.kernelResult || !s.diverged) return resultToString(s.result)
  return `model ${resultToString(s.result)} | kernel ${resultToString(s.kernelResult)}`
}

/** A violation the scenario declares (expectViolations) is a finding shown on purpose. */
function violationLine(v: Violation, expected: ReadonlySet<string> = new Set()): TraceLine {
  if (expected.has(v.property)) return { text: `${FINDING}${v.property} (expected finding): ${v.message}`, tone: 'dim' }
  return { text: `${DETAIL}${v.property}: ${v.message}`, tone: 'fail' }
}

/** An expected output is shown the way the result shows outputs: fds decimal, addresses hex. */
export function expectToString(e: ResolvedExpect, like?: Result): string {
  if (typeof e === 'string') return e
  // fidelity (issue 8): a string output (GET_NAME) prints as JSON
  if (typeof e.out === 'string') return `out=${JSON.stringify(e.out)}`
  const decimal = like?.ok && typeof like.out === 'number'
  return `out=${decimal ? e.out.toString() : hex(e.out)}`
}

function expectFailure(s: StepRecord): string {
  const e = s.expect as ResolvedExpect
  const expected = `expected ${expectToString(e, s.result)}`
  if (!s.kernelResult) return `${expected}, got ${resultToString(s.result)}`
  // Both ran: name the implementation(s) that missed.
  const runs: [string, Result][] = [['model', s.result], ['kernel', s.kernelResult]]
  const missed = runs.filter(([, r]) => !expectMatches(e, r)).map(([who, r]) => `${who} ${resultToString(r)}`)
  return `${expected}, got ${missed.join(', ')}`
}

function verdictLine(run: ScenarioRun): TraceLine {
  if (run.passed)
    return { text: `PASS ${run.name}${run.expected.length ? ` (expected findings: ${run.expected.join(', ')})` : ''}`, tone: 'pass' }
  const count = (n: number, what: string) => (n ? [`${n} ${what}${n > 1 ? 's' : ''}`] : [])
  const expects = run.steps.filter((s) => !s.expectOk).length
  const diverged = run.steps.filter((s) => s.diverged).length
  const expected = new Set(run.expected)
  const violations = [...run.steps.flatMap((s) => s.violations), ...run.finishViolations].filter((v) => !expected.has(v.property)).length
  const why = [
    ...count(expects, 'expectation failure'),
    ...count(diverged, 'divergence'),
    ...count(violations, 'property violation'),
    ...run.missing.map((p) => `expected finding '${p}' did not occur`),
  ]
  return { text: `FAIL ${run.name}: ${why.join(', ')}`, tone: 'fail' }
}

/** The last line of `luv run`, alone on its line so scripts can match it. */
export function summaryLine(passed: number, failed: number): TraceLine {
  return { text: `${passed} passed, ${failed} failed`, tone: failed ? 'fail' : 'pass' }
}

// ---- the edge: colour ----------------------------------------------------------------------

const ANSI: Record<Tone, [string, string]> = {
  plain: ['', ''],
  head: ['\x1b[1m', '\x1b[22m'],
  pass: ['\x1b[32m', '\x1b[39m'],
  fail: ['\x1b[31m', '\x1b[39m'],
  dim: ['\x1b[2m', '\x1b[22m'],
}

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function colorEnabled(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.TERM === 'dumb') return false
  return stream.isTTY === true
}

/** Lines joined with newlines (and a final one), coloured when `color`. */
export function paint(lines: TraceLine[], color: boolean): string {
  return lines
    .map(({ text, tone }) => {
      // every line may quote a file (a scenario name, a string argument, a unit name): its
      // control characters are shown escaped, never sent to the terminal as they are
      const safe = safeText(text)
      const [on, off] = ANSI[tone]
      return color && on ? on + safe + off : safe
    })
    .map((l) => l + '\n')
    .join('')
}
