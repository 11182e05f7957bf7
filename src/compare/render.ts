// The comparison's files, rendered from a Matrix: design-matrix.md for people (also copied
// into docs/ with --doc), design-matrix.json for tools, junit.xml for CI dashboards. Pure
// functions; time-dependent values are kept to the Timing section (md), `seconds`/`timing`
// (json) and time/timestamp (xml).

import type { PropertyName } from '../check/executor.types.ts'
import { formatJson, type Json } from '../report/json.ts'
import type { Matrix, MatrixCell, MatrixRow } from './matrix.ts'

const n = (x: number) => x.toLocaleString('en-US')
const code = (s: string) => '`' + s.replace(/`/g, "'") + '`'
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
const seedText = (s: number) => `${s} (0x${(s >>> 0).toString(16)})`

export interface MdOptions {
  /** prefix of every link into the comparison's folder ('' inside it; `../reports/x/` from docs/) */
  linkRoot?: string
  /** leave out the Timing section (a committed copy must not change between runs) */
  timing?: boolean
}

/** The short name of a row inside its section's table. */
function rowName(m: Matrix, r: MatrixRow): string {
  if (r.kind === 'base') return `${code(r.label)} (base)`
  if (r.kind === 'axis' && r.varied) return code(`${r.varied.axis}=${r.varied.option}`)
  if (r.kind === 'cross' && r.combination) return code(Object.entries(r.combination).map(([a, o]) => `${a}=${o}`).join(' '))
  if (r.kind === 'file') return `${code(r.label)} (file)`
  void m
  return code(r.label)
}

/** A bundle's name (the op-list hash): a breaking cell's link text, the same in every matrix
 *  that holds the cell, so one design's row reads the same whatever else was compared. */
const bundleHash = (bundle: string) => bundle.slice(bundle.lastIndexOf('/') + 1)

function cellText(c: MatrixCell | undefined, root: string, r: MatrixRow): string {
  if (!c || c.verdict === 'not-checked') return r.status === 'not-run' ? 'not run' : 'not checked'
  if (c.verdict === 'holds') return `holds (${n(c.runs)}, ${n(c.steps)})`
  if (!c.bundle) return '**breaks**'
  return `**breaks** [${bundleHash(c.bundle)}](${root}${c.bundle}/report.md)`
}

function table(m: Matrix, rows: MatrixRow[], root: string, plain = false): string[] {
  const L = [`| design | ${m.properties.join(' | ')} |`, `|---|${m.properties.map(() => '---').join('|')}|`]
  for (const r of rows) {
    const extra = r.status === 'interrupted' ? ' (interrupted)' : r.status === 'not-run' ? ' (not run)' : ''
    L.push(`| ${plain ? code(r.label) : rowName(m, r)}${extra} | ${m.properties.map((p) => cell(cellText(r.cells[p], root, r))).join(' | ')} |`)
  }
  return L
}

/** `; where lpc2025 keeps ownership, and breaks …`: a design file's row against its profile's. */
function baseDiff(m: Matrix, r: MatrixRow): string {
  const base = m.rows.find((x) => x.profile === r.profile && x.kind !== 'file' && Object.keys(x.overrides).length === 0)
  if (!base || base.status === 'not-run') return ''
  const breaks = (x: MatrixRow) => m.properties.filter((p) => x.cells[p]?.verdict === 'breaks')
  const [mine, theirs] = [breaks(r), breaks(base)]
  const parts = [
    ...(mine.some((p) => !theirs.includes(p)) ? [`where ${code(base.label)} keeps ${mine.filter((p) => !theirs.includes(p)).join(', ')}`] : []),
    ...(theirs.some((p) => !mine.includes(p)) ? [`and keeps ${theirs.filter((p) => !mine.includes(p)).join(', ')}, which ${code(base.label)} breaks`] : []),
  ]
  return parts.length ? ` (${parts.join('; ')})` : ''
}

export function renderMatrixMd(m: Matrix, opts: MdOptions = {}): string {
  const root = opts.linkRoot ?? ''
  const L: string[] = []
  const breaking = m.rows.filter((r) => m.properties.some((p) => r.cells[p]?.verdict === 'breaks')).length
  const notRun = m.rows.filter((r) => r.status === 'not-run').length
  L.push(`# luv compare ${code(m.name)}${m.interrupted ? ' (interrupted)' : ''}`, '')
  L.push(
    `**${m.rows.length} design${m.rows.length === 1 ? '' : 's'} × ${m.properties.length} properties: ${m.rows.length - breaking - notRun} keep every property, ${breaking} break at least one${notRun ? `, ${notRun} not run` : ''}** · ` +
      `seed ${seedText(m.seed)} · ${m.budget.runsPerCell !== undefined ? `${n(m.budget.runsPerCell)} runs per cell` : 'no run budget'}` +
      `${m.budget.cellTime ? ` · --time ${m.budget.cellTime} per cell` : ''}${m.budget.totalTime ? ` · --total ${m.budget.totalTime}` : ''} · impl ${code(m.impl)} · platform ${code(m.platform)}`,
    '',
    'Reproduce it (same seed, same matrix):',
    '',
    '```sh',
    `node bin/luv.mjs ${m.command.replace(/^luv /, '')}`,
    '```',
    '',
    'Rows are designs, columns the named properties (DESIGN.md §2.4). A cell **holds (runs, steps)**: no run of that many',
    'broke it; **breaks**: the link is its minimal failure bundle (report.md, scenario.json, trace.itf.json, repro.c,',
    'email.txt) and the finding below says what broke, where, and why. Each design is also a campaign report of its own.',
    '',
    ...(root !== ''
      ? [`The links point into ${code(m.out.replace(/\/+$/, '') + '/')} (generated output, not committed): the command above with ${code(`--out ${m.out}`)} writes it.`, '']
      : []),
  )

  // the two questions apart: is each design safe, and is the code the design
  if (m.properties.includes('conformance')) {
    const ran = m.rows.filter((r) => r.status !== 'not-run')
    const off = ran.filter((r) => r.cells.conformance?.verdict === 'breaks')
    L.push(
      off.length
        ? `* **Is the code the design?** No for ${off.map((r) => code(r.label)).join(', ')}: the kernel implementation differs from the model there (a luv bug, see the conformance findings).`
        : `* **Is the code the design?** Yes on every design run: the kernel implementation conforms to the model in all ${ran.length} (the conformance column).`,
      `* **Is the design safe?** ${ran.length - ran.filter((r) => m.properties.some((p) => p !== 'conformance' && r.cells[p]?.verdict === 'breaks')).length} of ${ran.length} designs keep every safety property (the other columns).`,
      '',
    )
  }
  const sections: { title: string; rows: MatrixRow[]; intro?: string }[] = []
  const axisRows = m.rows.filter((r) => r.kind === 'base' || r.kind === 'axis' || r.kind === 'cross')
  if (m.base && axisRows.length) {
    sections.push({
      title: m.cross ? `Every combination of ${m.axes.map(code).join(', ')} on ${code(m.base.label)}` : `Each axis varied from ${code(m.base.label)}, one at a time`,
      rows: axisRows,
      intro: m.cross
        ? `The full cross-product of ${m.axes.length} ax${m.axes.length === 1 ? 'is' : 'es'}; every other axis as in the base.`
        : `The base design, then each option of each axis it does not take (${m.axes.length} ax${m.axes.length === 1 ? 'is' : 'es'}), every other axis as in the base.`,
    })
  }
  const profileRows = m.profiles.map((p) => m.rows.find((r) => r.profile === p && Object.keys(r.overrides).length === 0)).filter((r): r is MatrixRow => !!r)
  if (profileRows.length) sections.push({ title: 'Profiles (posted versions)', rows: profileRows, intro: `In the order given: ${m.profiles.map(code).join(', ')}.` })
  const fileRows = m.rows.filter((r) => r.kind === 'file')
  if (fileRows.length) sections.push({ title: 'Design files', rows: fileRows })

  for (const s of sections) {
    L.push(`## ${s.title}`, '')
    if (s.intro) L.push(s.intro, '')
    L.push(...table(m, s.rows, root, s.rows === profileRows), '')
    if (s.rows === axisRows && m.axisSummaries.length) {
      L.push(m.cross ? '### The combinations' : '### Per axis', '')
      for (const a of m.axisSummaries) L.push(m.cross ? a.text : `* **${a.axis}** — ${a.text}`)
      L.push('')
    }
    if (s.rows === profileRows && m.versions.length) {
      L.push('### What changed between versions', '')
      for (const v of m.versions) L.push(`* **${v.from} → ${v.to}** — ${v.text}`)
      L.push('')
    }
    if (s.rows === fileRows) {
      for (const r of fileRows) {
        const broke = m.properties.filter((p) => r.cells[p]?.verdict === 'breaks')
        const over = Object.entries(r.overrides).map(([a, o]) => `${a}=${o}`)
        L.push(
          `* **${r.label}** (${code(r.source ?? '')}): ${r.description ?? ''} — ${code(r.profile)}${over.length ? ` with ${over.map(code).join(', ')}` : ' as it is'}; ` +
            (broke.length ? `breaks ${broke.join(', ')}` : 'keeps every property') +
            baseDiff(m, r) +
            '.',
        )
      }
      L.push('')
    }
  }

  if (m.rows.some((r) => m.properties.some((p) => r.cells[p]?.verdict === 'breaks'))) {
    L.push('## Findings', '', 'Each breaking cell, with the one-line explanation generated from its shrunk trace (steps are 0-based indices into the bundle’s scenario.json).', '')
    for (const r of m.rows)
      for (const p of m.properties) {
        const c = r.cells[p]
        if (c?.verdict !== 'breaks' || !c.bundle) continue
        L.push(
          `* ${code(r.label)} × **${p}** — ${c.explanation ?? ''} ([${bundleHash(c.bundle)}](${root}${c.bundle}/report.md), ${c.steps_in_trace} steps: ${code(`node bin/luv.mjs ${(c.replay ?? '').replace(/^luv /, '')}`)})`,
        )
      }
    L.push('')
  }

  const warned = m.rows.filter((r) => r.warnings.length)
  if (warned.length) {
    L.push('## Warnings', '')
    for (const r of warned) for (const w of r.warnings) L.push(`* ${code(r.label)}: ${w}.`)
    L.push('')
  }
  const errors = m.rows.filter((r) => r.errors.length)
  if (errors.length) {
    L.push('## Harness errors', '', 'Not property violations: luv itself failed. Please report them with the block seed.', '')
    for (const r of errors) for (const e of r.errors) L.push(`* ${code(r.label)}: ${code(e)}`)
    L.push('')
  }

  L.push('## Notes', '', ...m.notes.map((x) => `* ${x}`), '')
  if (opts.timing !== false) {
    L.push('## Timing', '', 'The only values that differ between two runs of the same comparison.', '', '| | |', '|---|---|')
    L.push(`| started | ${m.timing.started} |`, `| finished | ${m.timing.finished} |`, `| seconds | ${m.seconds} |`, `| workers | ${m.timing.workers} |`)
    for (const c of m.timing.cells) L.push(`| ${cell(c.id)} | ${c.seconds} s |`)
    L.push('')
  }
  return L.join('\n')
}

/** design-matrix.json: pretty, cells one per line. */
export function renderMatrixJson(m: Matrix): string {
  return formatJson(JSON.parse(JSON.stringify(m)) as Json, {
    width: 110,
    inline: (p) => p.length === 4 && p[0] === 'rows' && p[2] === 'cells',
  })
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** junit.xml: a testsuite per design, a testcase per property; a breaking cell is a failure. */
export function renderMatrixJunit(m: Matrix): string {
  const all = m.rows.flatMap((r) => m.properties.map((p) => ({ r, p, c: r.cells[p] })))
  const failures = all.filter((x) => x.c?.verdict === 'breaks').length
  const skipped = all.filter((x) => !x.c || x.c.verdict === 'not-checked').length
  const errors = m.rows.filter((r) => r.errors.length).length
  const top = `luv compare ${m.name}`
  const L = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(top)}" tests="${all.length + errors}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${m.seconds}" timestamp="${xml(m.timing.started)}">`,
  ]
  for (const r of m.rows) {
    const cs = m.properties.map((p) => [p, r.cells[p]] as [PropertyName, MatrixCell | undefined])
    const f = cs.filter(([, c]) => c?.verdict === 'breaks').length
    const s = cs.filter(([, c]) => !c || c.verdict === 'not-checked').length
    const e = r.errors.length ? 1 : 0
    const secs = m.timing.cells.find((c) => c.id === r.id)?.seconds ?? 0
    L.push(`  <testsuite name="${xml(r.label)}" tests="${cs.length + e}" failures="${f}" errors="${e}" skipped="${s}" time="${secs}" timestamp="${xml(m.timing.started)}">`)
    L.push('    <properties>')
    const props: [string, string][] = [
      ['profile', r.profile],
      ['overrides', Object.entries(r.overrides).map(([a, o]) => `${a}=${o}`).join(' ')],
      ['seed', String(m.seed)],
      ['runs', String(r.runs)],
      ['steps', String(r.steps)],
      ['status', r.status],
    ]
    for (const [k, v] of props) L.push(`      <property name="${xml(k)}" value="${xml(v)}"/>`)
    L.push('    </properties>')
    const cls = `luv.compare.${r.id}`
    for (const [p, c] of cs) {
      if (c?.verdict === 'holds') {
        L.push(`    <testcase name="${xml(p)}" classname="${xml(cls)}"/>`)
        continue
      }
      if (!c || c.verdict === 'not-checked') {
        L.push(`    <testcase name="${xml(p)}" classname="${xml(cls)}">`, `      <skipped message="${r.status === 'not-run' ? 'the design was not run' : 'no run checked it'}"/>`, '    </testcase>')
        continue
      }
      const body = [c.explanation ?? '', ...(c.bundle ? [`bundle: ${c.bundle}`, `replay: node bin/luv.mjs ${(c.replay ?? '').replace(/^luv /, '')}`] : [])].join('\n')
      L.push(
        `    <testcase name="${xml(p)}" classname="${xml(cls)}">`,
        `      <failure message="${xml(`${c.title ?? p} (${r.label})`)}" type="${xml(p)}">${xml(body)}</failure>`,
        '    </testcase>',
      )
    }
    if (e) {
      L.push(`    <testcase name="harness" classname="${xml(cls)}">`)
      for (const x of r.errors) L.push(`      <error message="${xml(x.split('\n')[0])}">${xml(x)}</error>`)
      L.push('    </testcase>')
    }
    L.push('  </testsuite>')
  }
  L.push('</testsuites>', '')
  return L.join('\n')
}
