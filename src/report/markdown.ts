// report.md: what a reviewer reads on GitHub. Title sentence, header table, step table,
// Mermaid sequence diagram with the diverging step highlighted, per-step state diffs and the
// replay commands.

import { AXIS_NAMES } from '../../models/design.ts'
import { opToString, resultToString, type Result } from '../../models/ops.ts'
import {
  designFlags,
  divergingStep,
  EMPTY_OBSERVATION,
  ITF_FILE,
  kernelRan,
  previousObs,
  resultsDiffer,
  SCENARIO_FILE,
  seedText,
  titleSentence,
} from './common.ts'
import { diffLines, diffObservations } from './obsdiff.ts'
import type { Counterexample, CounterexampleStep } from './types.ts'

/** Steps the diagram shows at most (Mermaid hosts cap the diagram's text size). */
export const MERMAID_MAX_STEPS = 60

export interface MarkdownOptions {
  /** the bundle folder as the replay commands should name it */
  bundleDir?: string
}

/** Escape text for a Mermaid message or note: `#` and `;` end the text there. */
export function mermaidEscape(s: string): string {
  return s.replace(/\r?\n/g, ' ').replace(/[#;]/g, (c) => (c === '#' ? '#35;' : '#59;'))
}

/** Escape a GFM table cell (pipes, even inside code spans). */
const cell = (s: string): string => s.replace(/\|/g, '\\|')
const code = (s: string): string => '`' + s + '`'

function headerTable(cx: Counterexample): string[] {
  const div = divergingStep(cx)
  const p = cx.platform
  const v = cx.versions
  const rows: [string, string][] = [
    ['property', code(cx.property)],
    ['design', code(cx.designLabel)],
    ['seed', cx.seed === undefined ? '—' : seedText(cx.seed)],
    ['path', cx.path === undefined ? '—' : code(cx.path)],
    ['axes', AXIS_NAMES.map((a) => code(`${a}=${cx.design[a]}`)).join(' ')],
    ['defect', cx.defect === undefined ? 'none' : code(cx.defect)],
    ['steps', `${cx.steps.length}, diverges at step ${div.index}`],
    [
      'platform',
      `${p.units.length} IOMMU unit${p.units.length === 1 ? '' : 's'} (${p.units.map((u) => `${u.name}: ${u.dids} DIDs`).join(', ')}), ` +
        `${p.devices.length} device${p.devices.length === 1 ? '' : 's'} (${p.devices.map((d) => d.bdf).join(', ')}), ${p.memoryPages} pages`,
    ],
    [
      'versions',
      `luv ${v.luv}, Node ${v.node}, fast-check ${v.fastCheck}` + (v.gitRev === undefined ? '' : `, git ${code(v.gitRev)}`),
    ],
  ]
  if (cx.timestamp !== undefined) rows.push(['found', cx.timestamp])
  return ['| | |', '|---|---|', ...rows.map(([k, x]) => `| ${k} | ${cell(x)} |`)]
}

function stepTable(cx: Counterexample): string[] {
  const both = kernelRan(cx)
  const div = divergingStep(cx)
  const head = both ? ['| # | op | model | kernel | |', '|--:|---|---|---|---|'] : ['| # | op | model | |', '|--:|---|---|---|']
  const rows = cx.steps.map((s) => {
    const hot = s.index === div.index
    const res = (r: Result) => (hot ? `**${code(resultToString(r))}**` : code(resultToString(r)))
    const cols = [String(s.index), code(opToString(s.op)), res(s.model)]
    if (both) cols.push(s.kernel === undefined ? '—' : res(s.kernel))
    cols.push(hot ? '**◀ diverges**' : s.op.op === 'KEXEC' && s.model.ok ? '*the next kernel boots*' : '')
    return `| ${cols.map(cell).join(' | ')} |`
  })
  return [...head, ...rows]
}

/** The sequence diagram, capped at MERMAID_MAX_STEPS steps around the divergence. */
export function mermaidDiagram(cx: Counterexample): string[] {
  const both = kernelRan(cx)
  const div = divergingStep(cx)
  const n = cx.steps.length
  const start = Math.max(0, cx.steps.indexOf(div) - (MERMAID_MAX_STEPS - 1))
  const end = Math.min(n, start + MERMAID_MAX_STEPS)
  const out = ['```mermaid', 'sequenceDiagram', '    participant VMM', `    participant K as ${both ? 'Kernel / Model' : 'Model'}`]
  const note = (text: string, ind = '    ') => out.push(`${ind}Note over VMM,K: ${mermaidEscape(text)}`)
  if (start > 0) note(`steps 1-${cx.steps[start - 1].index} not shown: see ${ITF_FILE}`)
  for (const s of cx.steps.slice(start, end)) {
    const hot = s.index === div.index
    const ind = hot ? '        ' : '    '
    if (hot) out.push('    rect rgb(255, 220, 220)')
    // autonumber N numbers the call with its step number; returns are not numbered
    out.push(`${ind}autonumber ${s.index}`)
    out.push(`${ind}VMM->>K: ${mermaidEscape(opToString(s.op))}`)
    out.push(`${ind}autonumber off`)
    out.push(`${ind}K-->>VMM: ${mermaidEscape(returned(s))}`)
    if (s.op.op === 'KEXEC' && s.model.ok) note('the next kernel boots: preserved state restored', ind)
    if (hot) {
      const vs = s.violations.length > 0 ? s.violations.map((v) => `${v.property}: ${v.message}`) : [cx.message]
      for (const v of vs) note(v, ind)
      out.push('    end')
    }
  }
  if (end < n) note(`steps ${cx.steps[end].index}-${cx.steps[n - 1].index} not shown: see ${ITF_FILE}`)
  out.push('```')
  return out
}

function returned(s: CounterexampleStep): string {
  if (s.kernel === undefined) return resultToString(s.model)
  if (!resultsDiffer(s)) return resultToString(s.model)
  return `kernel ${resultToString(s.kernel)}, model ${resultToString(s.model)}`
}

function stateDiffs(cx: Counterexample): string[] {
  const out: string[] = [
    'The model\'s observation after each step, changed fields only (`-` before, `+` after); where the ' +
      "kernel's observation differs from the model's, the difference follows (`-` model, `+` kernel). " +
      '`fds[n]` is fd n of the process; `iommufds[s][id]` is object `id` of the iommufd file numbered `s` ' +
      '(files are numbered from 1 at each boot, as in `iommufd:s`); `owners[group]` is who owns DMA ' +
      'of the iommu group; `translations[...]` is where a DMA to that IOVA lands.',
    '',
  ]
  cx.steps.forEach((s, i) => {
    if (s.model_obs === undefined) return
    const before = previousObs(cx, i, 'model') ?? EMPTY_OBSERVATION
    const lines = diffLines(diffObservations(before, s.model_obs))
    out.push(`**${s.index}. ${code(opToString(s.op))}** → ${code(resultToString(s.model))}`, '')
    if (lines.length === 0) out.push('*no change*', '')
    else out.push('```diff', ...lines, '```', '')
    if (s.kernel_obs !== undefined) {
      const k = diffLines(diffObservations(s.model_obs, s.kernel_obs))
      if (k.length > 0) out.push(`The kernel differs from the model after step ${s.index}:`, '', '```diff', ...k, '```', '')
    }
  })
  return out
}

function replay(cx: Counterexample, dir: string): string[] {
  const out = [
    '```sh',
    '# data replay: stable, needs no fast-check',
    `npx luv replay ${dir}`,
    `npx luv run ${dir}/${SCENARIO_FILE} --impl both${cx.defect ? ` --defect ${cx.defect}` : ''}`,
  ]
  if (cx.seed !== undefined && cx.path !== undefined)
    out.push(
      '# fast-check replay: only with the same luv and fast-check versions',
      `npx luv replay --seed ${cx.seed} --path ${cx.path} ${designFlags(cx)}`,
    )
  out.push('```')
  return out
}

/** report.md. */
export function renderMarkdown(cx: Counterexample, opts: MarkdownOptions = {}): string {
  const dir = opts.bundleDir ?? '<bundle-dir>'
  const div = divergingStep(cx)
  const violations = div.violations.length > 0 ? div.violations : [{ property: cx.property, message: cx.message }]
  const lines = [
    `# ${titleSentence(cx)}`,
    '',
    `> ${cx.message}`,
    '',
    ...headerTable(cx),
    '',
    '## Steps',
    '',
    ...stepTable(cx),
    '',
    `Step ${div.index} violates:`,
    '',
    ...violations.map((v) => `- ${code(v.property)}: ${v.message}`),
    '',
    '## Sequence diagram',
    '',
    ...mermaidDiagram(cx),
    '',
    '## State changes',
    '',
    ...stateDiffs(cx),
    '## Replay',
    '',
    ...replay(cx, dir),
    '',
    `The bundle also holds ${code(SCENARIO_FILE)} (the scenario format), ${code(ITF_FILE)} (Informal Trace Format), ` +
      `${code('repro.c')} (kselftest-shaped pseudo-C) and ${code('email.txt')} (plain text for a mailing list).`,
  ]
  return lines.join('\n') + '\n'
}
