// The design matrix as data (design-matrix.json; design-matrix.md and junit.xml render it):
// rows are designs, columns the named properties, each cell holds (runs, steps) or breaks with
// its minimal failure bundle and a one-line explanation; then a prose summary per axis and,
// for a version comparison, what changed between consecutive profiles.
//
// Everything but `seconds` and `timing` is a function of the command line and the tree under
// test: the same seed gives the same matrix.

import { AXES, AXIS_NAMES, PROFILES, type Axis, type ProfileName } from '../../models/design.ts'
import { bucketTitle, bundleName } from '../report/bucket.ts'
import { luvVersions } from '../report/from-failure.ts'
import type { BundleSource } from '../campaign/write.ts'
import type { PropertyName } from '../check/executor.types.ts'
import type { DesignRow, RowKind } from './designs.ts'
import { explain, failingStep } from './explain.ts'
import { STORY_DIRS } from './stories.ts'
import type { CompareOptions } from './options.ts'
import type { CellStatus, CompareRun } from './run.ts'

export const MATRIX_FORMAT = 'luv-design-matrix'
export const MATRIX_VERSION = 1

export interface MatrixCell {
  verdict: 'holds' | 'breaks' | 'not-checked'
  /** runs and steps of the blocks that checked the property */
  runs: number
  steps: number
  /** breaks: the bundle folder, relative to the comparison's folder (`<row id>/<hash>`) */
  bundle?: string
  /** breaks: the one-line explanation generated from the shrunk trace */
  explanation?: string
  /** breaks: the bucket title (property, diverging op, errno) and the trace's length */
  title?: string
  steps_in_trace?: number
  /** breaks: the 0-based step it fails at (scenario.json `steps` index) */
  step?: number
  /** breaks: `luv replay <bundle>` */
  replay?: string
  /** breaks: what found it: the random campaign, or a committed story scenario replayed */
  foundBy?: 'campaign' | 'scenario'
  /** foundBy scenario: the scenario file */
  scenario?: string
}

export interface MatrixRow {
  id: string
  label: string
  kind: RowKind
  profile: ProfileName
  overrides: Record<string, string>
  axes: Record<string, string>
  varied?: { axis: Axis; option: string }
  combination?: Record<string, string>
  description?: string
  source?: string
  status: CellStatus
  reason?: string
  /** the cell's campaign report, relative to the comparison's folder */
  report?: string
  runs: number
  steps: number
  /** the committed story scenarios replayed under this design, and their steps */
  scenarios: { count: number; steps: number }
  cells: Partial<Record<PropertyName, MatrixCell>>
  /** harness errors (not property violations) */
  errors: string[]
  /** what the reader of this row should know (e.g. a property that starved the others) */
  warnings: string[]
}

export interface AxisSummary {
  axis: Axis
  base: string
  options: { option: string; row?: string; keeps: boolean; breaks: PropertyName[]; fixes: PropertyName[] }[]
  text: string
}

export interface VersionChange {
  from: ProfileName
  to: ProfileName
  axes: { axis: Axis; from: string; to: string }[]
  appear: { property: PropertyName; explanation: string }[]
  disappear: { property: PropertyName; explanation: string }[]
  stay: { property: PropertyName; same: boolean; explanation: string }[]
  text: string
}

export interface Matrix {
  format: typeof MATRIX_FORMAT
  formatVersion: typeof MATRIX_VERSION
  name: string
  out: string
  command: string
  verdict: 'pass' | 'fail'
  interrupted: boolean
  seed: number
  budget: { runsPerCell?: number; cellTime?: string; totalTime?: string }
  impl: string
  platform: string
  properties: PropertyName[]
  base?: { id: string; label: string; profile: ProfileName; overrides: Record<string, string> }
  axes: Axis[]
  cross: boolean
  profiles: ProfileName[]
  rows: MatrixRow[]
  axisSummaries: AxisSummary[]
  versions: VersionChange[]
  notes: string[]
  luv: { luv: string; node: string; fastCheck: string; gitRev?: string }
  // ---- the only fields that differ between identical comparisons ---------------------------
  seconds: number
  timing: { started: string; finished: string; workers: number; cells: { id: string; seconds: number }[] }
}

const join = (a: string, b: string) => (a === '' || a === '.' ? b : `${a.replace(/\/+$/, '')}/${b}`)

function matrixRow(o: CompareOptions, c: CompareRun['cells'][number]): MatrixRow {
  const r = c.row
  const row: MatrixRow = {
    id: r.id,
    label: r.label,
    kind: r.kind,
    profile: r.profile,
    overrides: r.overrides,
    axes: { ...r.design },
    ...(r.varied && { varied: r.varied }),
    ...(r.combination && { combination: r.combination }),
    ...(r.description !== undefined && { description: r.description }),
    ...(r.source !== undefined && { source: r.source }),
    status: c.status,
    ...(c.reason && { reason: c.reason }),
    runs: 0,
    steps: 0,
    scenarios: { count: c.stories?.scenarios ?? 0, steps: c.stories?.steps ?? 0 },
    cells: {},
    errors: [],
    warnings: [],
  }
  const res = c.result
  if (!res) {
    for (const p of o.properties) row.cells[p] = { verdict: 'not-checked', runs: 0, steps: 0 }
    return row
  }
  const s = res.summary
  row.report = `${r.id}/summary.md`
  row.runs = s.runs
  row.steps = s.steps
  row.errors = s.errors.map((e) => `block ${e.block} (seed ${e.seed}): ${e.message.split('\n')[0]}`)
  // a block that fails a property it was not asked to check: the executor reported it anyway
  // (the kernel implementation's invariants are not filtered by property), so later blocks
  // end at their first run and the other properties get few runs
  const unasked = s.blocks.list.filter((b) => b.failed !== undefined && !b.properties.includes(b.failed))
  if (unasked.length)
    row.warnings.push(
      `${[...new Set(unasked.map((b) => b.failed))].join(', ')} kept failing in ${unasked.length} block${unasked.length === 1 ? '' : 's'} that no longer checked it (the kernel implementation reports its invariants whatever the property set), so the other properties of this design got ${s.runs} of ${o.runs ?? 'the'} runs`,
    )
  for (const p of o.properties) {
    const sp = s.properties[p]
    const steps = s.blocks.list.filter((b) => b.properties.includes(p)).reduce((n, b) => n + b.steps, 0)
    const runs = sp?.runs ?? 0
    const failure = s.failures.find((f) => f.property === p)
    if (failure) {
      const src = res.bundles.get(failure.bundle) as Extract<BundleSource, { cx: unknown }> | undefined
      const bundle = `${r.id}/${failure.bundle}`
      row.cells[p] = {
        verdict: 'breaks',
        runs,
        steps,
        bundle,
        explanation: src ? explain(src.cx) : failure.sentence,
        title: failure.title,
        steps_in_trace: failure.length,
        ...(src && { step: failingStep(src.cx) }),
        replay: `luv replay ${join(o.out, bundle)}`,
        foundBy: 'campaign',
      }
      continue
    }
    const story = c.stories?.findings.find((f) => f.property === p)
    if (story) {
      const bundle = `${r.id}/${bundleName(story.cx)}`
      row.cells[p] = {
        verdict: 'breaks',
        runs,
        steps,
        bundle,
        explanation: `${explain(story.cx)}; found by the committed scenario ${story.scenario}`,
        title: bucketTitle(story.cx),
        steps_in_trace: story.cx.steps.length,
        step: failingStep(story.cx),
        replay: `luv replay ${join(o.out, bundle)}`,
        foundBy: 'scenario',
        scenario: story.scenario,
      }
      continue
    }
    row.cells[p] = { verdict: sp?.verdict === 'pass' ? 'holds' : sp?.verdict === 'fail' ? 'breaks' : 'not-checked', runs, steps }
  }
  return row
}

const broken = (row: MatrixRow | undefined): PropertyName[] =>
  row ? (Object.entries(row.cells).filter(([, c]) => c.verdict === 'breaks').map(([p]) => p) as PropertyName[]) : []

const code = (s: string) => '`' + s + '`'

/** Per axis: which options keep every property, and why each other one fails. */
function axisSummaries(o: CompareOptions, rows: MatrixRow[]): AxisSummary[] {
  if (!o.base) return []
  if (o.cross) return [crossSummary(o, rows)]
  const baseRow = rows.find((r) => r.id === o.base!.id)
  const baseBroken = broken(baseRow)
  const out: AxisSummary[] = []
  for (const axis of o.axes) {
    const baseOption = o.base.design[axis]
    const options: AxisSummary['options'] = []
    for (const option of AXES[axis] as readonly string[]) {
      const row = option === baseOption ? baseRow : rows.find((r) => r.varied?.axis === axis && r.varied.option === option)
      if (!row || row.status === 'not-run') {
        options.push({ option, keeps: false, breaks: [], fixes: [] })
        continue
      }
      const b = broken(row)
      options.push({ option, row: row.id, keeps: b.length === 0, breaks: b.filter((p) => !baseBroken.includes(p)), fixes: baseBroken.filter((p) => !b.includes(p)) })
    }
    const parts: string[] = []
    const keepers = options.filter((x) => x.row && x.keeps).map((x) => code(x.option) + (x.option === baseOption ? ' (the base)' : ''))
    parts.push(keepers.length ? `${keepers.join(' and ')} ${keepers.length > 1 ? 'keep' : 'keeps'} every property.` : 'No option keeps every property.')
    for (const x of options) {
      const row = rows.find((r) => r.id === x.row)
      if (!row) {
        parts.push(`${code(x.option)} was not run.`)
        continue
      }
      if (x.keeps) continue
      const bits: string[] = []
      if (x.option === baseOption) bits.push(`${code(x.option)} (the base) breaks ${broken(row).join(', ')}`)
      else {
        if (x.breaks.length)
          bits.push(`${code(x.option)} breaks ${x.breaks.map((p) => `${p}: ${row.cells[p]?.explanation ?? 'see its bundle'}`).join('; and ')}`)
        const same = broken(row).filter((p) => baseBroken.includes(p))
        if (same.length) bits.push(`${x.breaks.length ? 'and, like the base, ' : `${code(x.option)}, like the base, breaks `}${same.join(', ')}`)
      }
      parts.push(bits.join(' ') + '.')
    }
    for (const x of options) if (x.fixes.length && x.row) parts.push(`${code(x.option)} keeps ${x.fixes.join(', ')}, which the base breaks.`)
    if (options.some((x) => x.row && rows.find((r) => r.id === x.row)?.status === 'interrupted'))
      parts.push('(Some of these cells were interrupted before their budget: their "holds" covers fewer runs.)')
    out.push({ axis, base: baseOption, options, text: parts.join(' ') })
  }
  return out
}

/** A cross-product in one paragraph: the combinations that keep every property, and what
 *  each other one breaks. */
function crossSummary(o: CompareOptions, rows: MatrixRow[]): AxisSummary {
  const combos = rows.filter((r) => r.combination && r.status !== 'not-run')
  const text = (r: MatrixRow) => code(Object.entries(r.combination!).map(([a, v]) => `${a}=${v}`).join(' '))
  const keep = combos.filter((r) => broken(r).length === 0)
  const parts = [
    `Of ${combos.length} combinations of ${o.axes.join(', ')}, ${keep.length} keep every property${keep.length ? `: ${keep.map(text).join(', ')}` : ''}.`,
    ...combos.filter((r) => broken(r).length).map((r) => `${text(r)} breaks ${broken(r).join(', ')}.`),
  ]
  return {
    axis: o.axes[0],
    base: o.base!.design[o.axes[0]],
    options: combos.map((r) => ({ option: text(r).slice(1, -1), row: r.id, keeps: broken(r).length === 0, breaks: broken(r), fixes: [] })),
    text: parts.join(' '),
  }
}

/** What changed between consecutive profiles of a version comparison. */
function versionChanges(o: CompareOptions, rows: MatrixRow[]): VersionChange[] {
  const out: VersionChange[] = []
  for (let i = 0; i + 1 < o.profiles.length; i++) {
    const [from, to] = [o.profiles[i], o.profiles[i + 1]]
    const a = rows.find((r) => r.kind === 'profile' && r.profile === from && Object.keys(r.overrides).length === 0) ?? rows.find((r) => r.id === from)
    const b = rows.find((r) => r.kind === 'profile' && r.profile === to && Object.keys(r.overrides).length === 0) ?? rows.find((r) => r.id === to)
    if (!a || !b) continue
    const axes = AXIS_NAMES.filter((x) => PROFILES[from].design[x] !== PROFILES[to].design[x]).map((x) => ({ axis: x, from: PROFILES[from].design[x], to: PROFILES[to].design[x] }))
    const [ba, bb] = [broken(a), broken(b)]
    const appear = bb.filter((p) => !ba.includes(p)).map((p) => ({ property: p, explanation: b.cells[p]?.explanation ?? '' }))
    const disappear = ba.filter((p) => !bb.includes(p)).map((p) => ({ property: p, explanation: a.cells[p]?.explanation ?? '' }))
    const stay = bb
      .filter((p) => ba.includes(p))
      .map((p) => ({ property: p, same: a.cells[p]?.title === b.cells[p]?.title, explanation: b.cells[p]?.explanation ?? '' }))
    const parts: string[] = []
    parts.push(
      axes.length
        ? `From ${code(from)} to ${code(to)} ${axes.length === 1 ? 'one axis changes' : `${axes.length} axes change`}: ${axes.map((x) => `${x.axis} ${code(x.from)} → ${code(x.to)}`).join(', ')}.`
        : `${code(from)} and ${code(to)} take the same option on every axis.`,
    )
    if (appear.length) parts.push(`Appear in ${code(to)}: ${appear.map((x) => `${x.property} (${x.explanation})`).join('; ')}.`)
    // a property can disappear because the flow that broke it no longer gets that far: say so
    // when an axis option the new version still takes breaks it alone (the one-axis rows)
    const masked = (p: PropertyName) => {
      const by = rows.filter((r) => r.kind === 'axis' && r.varied && broken(r).includes(p) && PROFILES[to].design[r.varied.axis] === r.varied.option)
      return by.length
        ? ` (but ${code(to)} still takes ${by.map((r) => code(`${r.varied!.axis}=${r.varied!.option}`)).join(', ')}, which breaks it alone: most likely masked by an earlier failure)`
        : ''
    }
    if (disappear.length)
      parts.push(`Disappear (broken in ${code(from)}, not broken in ${code(to)} within this budget): ${disappear.map((x) => x.property + masked(x.property)).join(', ')}.`)
    if (stay.length)
      parts.push(`Stay broken: ${stay.map((x) => `${x.property} (${x.same ? 'the same failure' : 'a different failure'})`).join(', ')}.`)
    if (!appear.length && !disappear.length && !stay.length) parts.push('Both keep every property.')
    out.push({ from, to, axes, appear, disappear, stay, text: parts.join(' ') })
  }
  return out
}

export function buildMatrix(o: CompareOptions, run: CompareRun): Matrix {
  const rows = run.cells.map((c) => matrixRow(o, c))
  const anyBreak = rows.some((r) => broken(r).length > 0 || r.errors.length > 0)
  const notes: string[] = [
    'Each cell is a campaign (src/campaign) on the same seed, so every design meets the same block seeds; a property that breaks in a block is not checked in later blocks of that cell, so each cell has at most one failure per property.',
    'A breaking cell’s trace is the first failing run, delta-debugged (luv’s minimizer) to the steps the failure needs; its bundle replays with `luv replay`.',
    `Beside its random runs, every design replays the committed story scenarios (${STORY_DIRS.join(', ')}: the documented flows, both talk discussions, the error paths, earlier findings) with its own design, expectations ignored and properties checked; a finding found only there says so. "holds (runs, steps)" counts the random runs.`,
    'conformance compares the kernel implementation with the model (is the code the design?); the other columns hold the model to the safety properties (is the design safe?).',
    ...(o.cellTime !== undefined || o.totalTime !== undefined
      ? ['A time budget was given: a cell stopped by it covers fewer runs, and how many depends on the machine. Use --runs alone for a reproducible matrix.']
      : []),
    ...(run.interrupted ? ['Interrupted (SIGINT/SIGTERM): the matrix covers the cells that ran; cells marked not run never started.'] : []),
    ...(rows.some((r) => r.reason === 'total-budget') ? ['The total budget (--total) ran out: cells marked not run never started.'] : []),
  ]
  return {
    format: MATRIX_FORMAT,
    formatVersion: MATRIX_VERSION,
    name: o.name,
    out: o.out,
    command: o.command,
    verdict: anyBreak ? 'fail' : 'pass',
    interrupted: run.interrupted,
    seed: o.seed,
    budget: {
      ...(o.runs !== undefined && { runsPerCell: o.runs }),
      ...(o.cellTime !== undefined && { cellTime: o.cellTime }),
      ...(o.totalTime !== undefined && { totalTime: o.totalTime }),
    },
    impl: o.impl,
    platform: o.platformName,
    properties: o.properties,
    ...(o.base && { base: { id: o.base.id, label: o.base.label, profile: o.base.profile, overrides: o.base.overrides } }),
    axes: o.axes,
    cross: o.cross,
    profiles: o.profiles,
    rows,
    axisSummaries: axisSummaries(o, rows),
    versions: versionChanges(o, rows),
    notes,
    luv: luvVersions(),
    seconds: Math.round((run.finished.getTime() - run.started.getTime()) / 10) / 100,
    timing: {
      started: run.started.toISOString(),
      finished: run.finished.toISOString(),
      workers: o.workers,
      cells: run.cells.map((c) => ({ id: c.row.id, seconds: Math.round((c.seconds ?? 0) * 100) / 100 })),
    },
  }
}
