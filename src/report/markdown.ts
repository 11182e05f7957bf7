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
  observingStep,
  previousObs,
  resultsDiffer,
  SCENARIO_FILE,
  seedText,
  titleSentence,
  stepOpText, // issue 13
} from './common.ts'
import { diffLines, diffObservations } from './obsdiff.ts'
import type { Counterexample } from './types.ts'

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
  // --- shrink budget (issue 12, campaign helper): the time is its own row, like `found` ---
  if (cx.shrink !== undefined) {
    rows.push(['shrink', shrinkText(cx.shrink)])
    rows.push(['shrink time', `${cx.shrink.seconds.toFixed(1)} s`])
  }
  // --- end shrink budget ---
  return ['| | |', '|---|---|', ...rows.map(([k, x]) => `| ${k} | ${cell(x)} |`)]
}

// --- shrink budget (issue 12, campaign helper) ---
/** `37 → 12 steps, 210 candidates tried, 14 kept; budget 30 s (spent: not minimal)` */
export function shrinkText(s: NonNullable<Counterexample['shrink']>): string {
  const budget = s.budgetMs === undefined ? 'no budget' : `budget ${s.budgetMs / 1000} s`
  return (
    `${s.originalLength} → ${s.finalLength} steps, ${s.tried} candidate${s.tried === 1 ? '' : 's'} tried${s.skipped ? ` (${s.skipped} repeats not re-run)` : ''}, ${s.kept} kept; ` +
    (s.budgetSpent ? `${budget} spent: the smallest failing trace found by then, not a minimal one` : `${budget}, not reached`)
  )
}
// --- end shrink budget ---

function stepTable(cx: Counterexample): string[] {
  const both = kernelRan(cx)
  const div = divergingStep(cx)
  const head = both ? ['| # | op | model | kernel | |', '|--:|---|---|---|---|'] : ['| # | op | model | |', '|--:|---|---|---|']
  const obs = observingStep(cx)
  const rows = cx.steps.map((s) => {
    const seen = s.index === obs.index && s.index !== div.index
    const hot = s.index === div.index || seen
    const res = (r: Result) => (hot ? `**${code(resultToString(r))}**` : code(resultToString(r)))
    const cols = [String(s.index), code(stepOpText(s.op)), res(s.model)]
    if (both) cols.push(s.kernel === undefined ? '—' : res(s.kernel))
    const probe = cx.observable?.kind === 'probe' && s.index >= cx.observable.from && !seen ? '*probe*' : ''
    cols.push(
      seen ? '**◀ the result differs**' : s.index === div.index ? '**◀ diverges**' : s.op.op === 'KEXEC' && s.model.ok ? '*the next kernel boots*' : probe,
    )
    return `| ${cols.map(cell).join(' | ')} |`
  })
  return [...head, ...rows]
}

/** Mermaid note text wrapped at this many characters per line (<br/> breaks). */
export const MERMAID_NOTE_WIDTH = 60

/** Wrap note text into lines joined by <br/> (Mermaid does not wrap notes by itself). */
export function mermaidWrap(text: string, width = MERMAID_NOTE_WIDTH): string {
  const lines: string[] = []
  let cur = ''
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur)
      cur = w
    } else cur = cur ? `${cur} ${w}` : w
    while (cur.length > width) {
      lines.push(cur.slice(0, width))
      cur = cur.slice(width)
    }
  }
  if (cur) lines.push(cur)
  return lines.map(mermaidEscape).join('<br/>')
}

/**
 * The sequence diagram, capped at MERMAID_MAX_STEPS steps around the divergence. The VMM
 * makes the calls; a DMA is drawn from the Device; with the kernel run beside the model, the
 * two are separate participants, so a step where only the state differs shows as a note
 * over both.
 */
export function mermaidDiagram(cx: Counterexample): string[] {
  const both = kernelRan(cx)
  const div = divergingStep(cx)
  const obs = observingStep(cx)
  const n = cx.steps.length
  const start = Math.max(0, cx.steps.indexOf(obs) - (MERMAID_MAX_STEPS - 1))
  const end = Math.min(n, start + MERMAID_MAX_STEPS)
  const dev = cx.steps.some((s) => s.op.op === 'DMA')
  const out = ['```mermaid', 'sequenceDiagram', '    participant VMM']
  if (dev) out.push('    participant Device')
  out.push('    participant M as Model')
  if (both) out.push("    participant K as Kernel (luv's implementation)")
  const last = both ? 'K' : 'M'
  const note = (text: string, ind = '    ', over = `VMM,${last}`) => out.push(`${ind}Note over ${over}: ${mermaidWrap(text)}`)
  if (start > 0) note(`steps 0-${cx.steps[start - 1].index} not shown: see ${ITF_FILE}`)
  for (const s of cx.steps.slice(start, end)) {
    const hot = s.index === div.index || s.index === obs.index
    const ind = hot ? '        ' : '    '
    if (hot) out.push(s.index === obs.index ? '    rect rgb(255, 220, 220)' : '    rect rgb(255, 240, 200)')
    const from = s.op.op === 'DMA' ? 'Device' : 'VMM'
    const call = mermaidWrap(`${s.index}. ${stepOpText(s.op)}`)
    out.push(`${ind}${from}->>M: ${call}`)
    if (both) out.push(`${ind}${from}->>K: ${s.index}.`)
    out.push(`${ind}M-->>${from}: ${mermaidWrap(resultToString(s.model))}`)
    if (both && s.kernel !== undefined) out.push(`${ind}K-->>${from}: ${mermaidWrap(resultToString(s.kernel) + (resultsDiffer(s) ? ' (differs)' : ''))}`)
    if (s.op.op === 'KEXEC' && s.model.ok) note('the next kernel boots: preserved state restored', ind)
    if (s.index === div.index && both && s.model_obs && s.kernel_obs) {
      const d = diffObservations(s.model_obs, s.kernel_obs)
      if (d.length > 0)
        note(`state differs after step ${s.index}: ` + d.slice(0, 3).map((c) => `${c.path} model ${c.before ?? 'absent'}, kernel ${c.after ?? 'absent'}`).join('; '), ind, 'M,K')
    }
    if (s.index === div.index) {
      const vs = s.violations.length > 0 ? s.violations.map((v) => `${v.property}: ${v.message}`) : [cx.message]
      for (const v of vs.slice(0, 3)) note(v, ind, both ? 'M,K' : `VMM,${last}`)
    }
    if (s.index === obs.index && s.index !== div.index) note(`step ${s.index} shows it: the results differ`, ind, 'M,K')
    if (hot) out.push('    end')
  }
  if (end < n) note(`steps ${cx.steps[end].index}-${cx.steps[n - 1].index} not shown: see ${ITF_FILE}`)
  out.push('```')
  return out
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
    out.push(`**${s.index}. ${code(stepOpText(s.op))}** → ${code(resultToString(s.model))}`, '')
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
    `node bin/luv.mjs replay ${dir}`,
    `node bin/luv.mjs run ${dir}/${SCENARIO_FILE} --impl both${cx.defect ? ` --defect ${cx.defect}` : ''}`,
  ]
  if (cx.seed !== undefined && cx.path !== undefined)
    out.push(
      '# fast-check replay: only with the same luv and fast-check versions',
      `node bin/luv.mjs replay --seed ${cx.seed} --path ${cx.path} ${designFlags(cx)}`,
    )
  out.push('```')
  return out
}

/** How the failure shows as a result: the observing step, the probe that reached it, or why none can. */
function howItShows(cx: Counterexample): string[] {
  const o = cx.observable
  if (o === undefined) return []
  const last = cx.steps[cx.steps.length - 1]
  const res = (r?: Result) => (r === undefined ? '—' : code(resultToString(r)))
  switch (o.kind) {
    case 'result':
      return ['## How it shows', '', `Step ${o.step} itself returns something else in the kernel (${res(last.kernel)}) than in the model (${res(last.model)}).`, '']
    case 'probe':
      return [
        '## How it shows',
        '',
        `The trace as found ended on a difference of state, which no call asserts. luv searched for the shortest probe after it ` +
          `that turns it into a result difference and found ${o.step === o.from ? `step ${o.step}` : `steps ${o.from}-${o.step}`}: ${o.reason}. ` +
          `Step ${o.step} returns ${res(last.kernel)} in the kernel where the model returns ${res(last.model)}; the trace was shrunk again with the probe kept.`,
        '',
      ]
    case 'state-only':
      return [
        '## How it shows',
        '',
        `No call shows it as a result: ${o.reason}. Kernel state to inspect:`,
        '',
        ...o.inspect.map((x) => `- ${x}`),
        '',
      ]
  }
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
    ...howItShows(cx),
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
      `${code('repro.c')} (a kselftest for the kernel tree, two stages across a kexec) and ${code('email.txt')} (plain text for a mailing list).`,
  ]
  return lines.join('\n') + '\n'
}
