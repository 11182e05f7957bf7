// email.txt: the counterexample as plain text for a mailing list. No Markdown, no Mermaid,
// every line at most 75 columns (long lines wrap with a continuation indent).

import { opToString, resultToString } from '../../models/ops.ts'
import {
  bucketTitle,
  divergingStep,
  EMPTY_OBSERVATION,
  ITF_FILE,
  previousObs,
  resultsDiffer,
  SCENARIO_FILE,
  seedText,
  titleSentence,
} from './common.ts'
import { diffLines, diffObservations } from './obsdiff.ts'
import type { Counterexample } from './types.ts'

export const EMAIL_WIDTH = 75

/**
 * Greedy word wrap: the first line starts with `indent`, the others with `cont`. A word longer
 * than a line is cut, so no line ever exceeds `width`.
 */
export function wrap(text: string, indent = '', cont = indent, width = EMAIL_WIDTH): string[] {
  const lines: string[] = []
  let cur = indent
  let empty = true
  const room = () => width - cur.length
  for (let w of text.split(' ').filter((x) => x !== '')) {
    if (!empty && w.length + 1 > room()) {
      lines.push(cur)
      cur = cont
      empty = true
    }
    while (w.length > room() - (empty ? 0 : 1)) {
      const n = Math.max(1, room() - (empty ? 0 : 1))
      cur += (empty ? '' : ' ') + w.slice(0, n)
      lines.push(cur)
      cur = cont
      empty = true
      w = w.slice(n)
    }
    if (w === '') continue
    cur += (empty ? '' : ' ') + w
    empty = false
  }
  if (!empty || lines.length === 0) lines.push(cur.trimEnd())
  return lines
}

/**
 * A shell command indented by two, continued with backslashes where it must wrap; an option
 * stays on the line of its value. A word longer than a line is cut and continued at column 0,
 * where the shell's backslash-newline joins the pieces again.
 */
export function wrapCommand(cmd: string, width = EMAIL_WIDTH): string[] {
  const words: string[] = []
  for (const w of cmd.split(' ').filter((x) => x !== '')) {
    const prev = words[words.length - 1]
    if (prev !== undefined && prev.startsWith('--') && !prev.includes(' ') && !w.startsWith('--'))
      words[words.length - 1] = `${prev} ${w}`
    else words.push(w)
  }
  const lines: string[] = []
  let cur = '  '
  const fresh = () => cur.trim() === ''
  for (const w of words) {
    if (!fresh() && `${cur} ${w} \\`.length > width) {
      lines.push(`${cur} \\`)
      cur = '      '
    }
    let rest = (fresh() ? '' : ' ') + w
    while ((cur + rest).length > width) {
      const n = width - 1 - cur.length
      lines.push(cur + rest.slice(0, n) + '\\')
      cur = ''
      rest = rest.slice(n)
    }
    cur += rest
  }
  lines.push(cur)
  return lines
}

/** email.txt. */
export function renderEmail(cx: Counterexample, opts: { bundleDir?: string } = {}): string {
  const dir = opts.bundleDir ?? '<bundle-dir>'
  const div = divergingStep(cx)
  const v = cx.versions
  const out: string[] = []
  const blank = () => out.push('')
  const field = (k: string, x: string) => out.push(...wrap(x, `  ${k.padEnd(10)}`, ' '.repeat(12)))

  out.push(...wrap(`[luv] ${bucketTitle(cx)}`, '', ' '))
  blank()
  out.push('luv, the Live Update Verifier, found a counterexample:')
  blank()
  out.push(...wrap(titleSentence(cx), '  '))
  blank()
  out.push(...wrap(cx.message, '  '))
  blank()
  field('property:', cx.property)
  field('design:', cx.designLabel)
  field('seed:', cx.seed === undefined ? 'none' : seedText(cx.seed) + (cx.path === undefined ? '' : `, path ${cx.path}`))
  field('defect:', cx.defect ?? 'none')
  field('versions:', `luv ${v.luv}, Node ${v.node}, fast-check ${v.fastCheck}` + (v.gitRev ? `, git ${v.gitRev}` : ''))
  blank()
  out.push(
    ...wrap(
      cx.steps.some((s) => s.kernel !== undefined)
        ? 'Steps, with the model\'s result ("kernel:" where the kernel returns something else):'
        : "Steps, with the model's result:",
    ),
  )
  blank()
  const numWidth = String(cx.steps[cx.steps.length - 1]?.index ?? 1).length
  for (const s of cx.steps) {
    const prefix = `  ${String(s.index).padStart(numWidth)}. `
    let text = `${opToString(s.op)} = ${resultToString(s.model)}`
    if (s.kernel !== undefined && resultsDiffer(s)) text += `, kernel: ${resultToString(s.kernel)}`
    out.push(...wrap(text, prefix, ' '.repeat(prefix.length + 4)))
    if (s.index === div.index) out.push(' '.repeat(prefix.length) + `^^^ step ${s.index} diverges`)
    if (s.op.op === 'KEXEC' && s.model.ok) out.push(' '.repeat(prefix.length) + '-- the next kernel boots --')
  }
  blank()
  out.push(`Step ${div.index} violates:`)
  const vs = div.violations.length > 0 ? div.violations : [{ property: cx.property, message: cx.message }]
  for (const x of vs) out.push(...wrap(`${x.property}: ${x.message}`, '  ', '    '))

  const i = cx.steps.indexOf(div)
  if (div.model_obs !== undefined && div.kernel_obs !== undefined) {
    const d = diffLines(diffObservations(div.model_obs, div.kernel_obs))
    if (d.length > 0) {
      blank()
      out.push(`State after step ${div.index}, model (-) against kernel (+):`)
      for (const l of d) out.push(...wrap(l, '  ', '      '))
    }
  } else if (div.model_obs !== undefined) {
    const d = diffLines(diffObservations(previousObs(cx, i, 'model') ?? EMPTY_OBSERVATION, div.model_obs))
    if (d.length > 0) {
      blank()
      out.push(`What step ${div.index} changed in the model's state:`)
      for (const l of d) out.push(...wrap(l, '  ', '      '))
    }
  }
  blank()
  out.push('Replay (no fast-check needed):')
  out.push(...wrapCommand(`npx luv run ${dir}/${SCENARIO_FILE} --impl both${cx.defect ? ` --defect ${cx.defect}` : ''}`))
  blank()
  out.push(
    ...wrap(
      `The bundle also holds a kselftest-shaped reproducer (repro.c), the trace in the Informal ` +
        `Trace Format (${ITF_FILE}) and report.md.`,
    ),
  )
  return out.map((l) => l.trimEnd()).join('\n') + '\n'
}
