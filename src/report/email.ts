// email.txt: the counterexample as plain text for a mailing list. No Markdown, no Mermaid,
// every line at most 75 columns (long lines wrap with a continuation indent).

import { hex, opToString, resultToString, type Result } from '../../models/ops.ts'
import { DEFECTS } from '../kernel/defects/index.ts'
import {
  divergingStep,
  kernelRan,
  observingStep,
  outcome,
  EMPTY_OBSERVATION,
  ITF_FILE,
  previousObs,
  resultsDiffer,
  SCENARIO_FILE,
  titleSentence,
  stepOpText, // issue 13
} from './common.ts'
import { diffLines, diffObservations } from './obsdiff.ts'
import { seriesOf } from './series.ts'
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

/** The kernel subsystem a failure belongs to, as a subject prefix. */
export function subsystemPrefix(cx: Counterexample): string {
  const div = divergingStep(cx)
  const obs = observingStep(cx)
  const text = [cx.message, ...div.violations.map((v) => v.message), ...(cx.observable?.kind === 'state-only' ? cx.observable.inspect : [])].join(' ')
  if (/IOTLB|DID|context entr|domain_ida|table page|page-table|present entry/i.test(text)) return 'iommu/vt-d'
  if (cx.property === 'ownership' || /owner/.test(text)) return 'iommu'
  // the call that shows it names the subsystem; a DMA is shown by whatever set it up
  const op = obs.op.op === 'DMA' ? div.op.op : obs.op.op
  if (op.startsWith('MEMFD_')) return 'mm: memfd_luo'
  if (op.startsWith('IOMMU')) return 'iommufd'
  if (op.startsWith('VFIO_') || op === 'DRIVER_BIND') return 'vfio/pci'
  if (op.startsWith('LIVEUPDATE_') || op === 'KEXEC') return 'liveupdate'
  return 'iommu'
}

/** "success", "-EPERM", "a fault", "PA 0x1000": what the model expects, as a noun. */
function expectedNoun(r: Result, dma: boolean): string {
  if ('errno' in r) return `-${r.errno}`
  if ('fault' in r) return 'a fault'
  if (dma && r.out !== undefined) return `PA ${hex(r.out)}`
  return 'success'
}

/** The first of these that fits a subject line; else the last (mail clients fold it). */
const fitting = (xs: string[]): string => xs.find((x) => `Subject: ${x}`.length <= EMAIL_WIDTH) ?? xs[xs.length - 1]

/** "iommu/vt-d: DMA reaches PA 0x0 after IOMMU_IOAS_UNMAP, expected a fault". */
export function mailSubject(cx: Counterexample): string {
  const obs = observingStep(cx)
  const div = divergingStep(cx)
  const dma = obs.op.op === 'DMA'
  const prefix = subsystemPrefix(cx)
  if (obs.kernel !== undefined && resultsDiffer(obs)) {
    const kexecs = cx.steps.filter((x) => x.index < obs.index && x.op.op === 'KEXEC' && x.model.ok).length
    const after = obs.index !== div.index ? ` after ${div.op.op}` : kexecs > 0 ? ' after kexec' : ''
    const got = `${prefix}: ${obs.op.op} ${outcome(obs.kernel, dma)}`
    const want = `, expected ${expectedNoun(obs.model, dma)}`
    return fitting([`${got}${after}${want}`, `${got}${want}`, `${got}${after}`, got])
  }
  const inspect = cx.observable?.kind === 'state-only' ? cx.observable.inspect[0] : undefined
  const fallback = `${prefix}: state left behind by ${div.op.op} (${cx.property})`
  if (inspect === undefined) return fallback
  const short = inspect.replace(/ \(.*\)$/, '')
  return fitting([`${prefix}: ${inspect} after ${div.op.op}`, `${prefix}: ${short} after ${div.op.op}`, `${prefix}: ${inspect}`, `${prefix}: ${short}`, fallback])
}

const firstSentence = (t: string): string => (/^(.*?\.)(\s|$)/.exec(t)?.[1] ?? t)

/** What was checked against what, for the mail's first paragraph. */
function whatWasChecked(cx: Counterexample): string {
  const series = seriesOf(cx.profile)
  const design = cx.designLabel === cx.profile ? '' : `, design ${cx.designLabel}`
  const model = `luv ${cx.versions.luv} (the Live Update Verifier) ran its reference model of ${series.title} (luv profile ${cx.profile}${design})`
  if (!kernelRan(cx))
    return `${model} alone: the design itself breaks the ${cx.property} property (a design finding, no kernel code involved).`
  const d = cx.defect !== undefined ? DEFECTS.find((x) => x.name === cx.defect) : undefined
  const against =
    cx.defect !== undefined
      ? ` side by side with luv's kernel-shaped implementation of that code (src/kernel/ in luv, not a running Linux kernel), built with the seeded defect ${cx.defect}` +
        (d ? `: ${firstSentence(d.description)}` : '.')
      : " side by side with luv's kernel-shaped implementation of that code (src/kernel/ in luv, not a running Linux kernel), with no defect seeded: luv's implementation and its model disagree."
  return `${model}${against} Below, "kernel" means that implementation and "model" the reference model, the spec.`
}

/** email.txt. */
export function renderEmail(cx: Counterexample, opts: { bundleDir?: string } = {}): string {
  void opts
  const div = divergingStep(cx)
  const obs = observingStep(cx)
  const v = cx.versions
  const out: string[] = []
  const blank = () => out.push('')
  const para = (t: string, indent = '') => out.push(...wrap(t, indent))

  out.push(...wrap(`Subject: ${mailSubject(cx)}`, '', ' '))
  blank()
  para(whatWasChecked(cx))
  blank()
  para(`${titleSentence(cx)}.`)
  blank()
  para(
    kernelRan(cx)
      ? 'Steps (step N is steps[N] of the attached scenario.json), each with the model\'s result, and the kernel\'s where it differs:'
      : "Steps (step N is steps[N] of the attached scenario.json), each with the model's result:",
  )
  blank()
  const numWidth = String(cx.steps[cx.steps.length - 1]?.index ?? 0).length
  for (const s of cx.steps) {
    const prefix = `  ${String(s.index).padStart(numWidth)}. `
    let text = `${stepOpText(s.op)} = ${resultToString(s.model)}`
    if (s.kernel !== undefined && resultsDiffer(s)) text += `, kernel: ${resultToString(s.kernel)}`
    out.push(...wrap(text, prefix, ' '.repeat(prefix.length + 4)))
    const mark = ' '.repeat(prefix.length) + '^^^ '
    if (s.index === div.index) out.push(...wrap(`state diverges here: ${cx.property}`, mark, ' '.repeat(mark.length)))
    if (cx.observable?.kind === 'probe' && s.index === cx.observable.from && s.index !== div.index)
      out.push(...wrap(`probe added by luv from here: ${cx.observable.reason}`, mark, ' '.repeat(mark.length)))
    if (s.index === obs.index && s.index !== div.index) out.push(mark + 'the result differs here')
    if (s.op.op === 'KEXEC' && s.model.ok) out.push(' '.repeat(prefix.length) + '-- kexec: the next kernel boots --')
  }
  blank()
  if (obs.kernel !== undefined && resultsDiffer(obs)) {
    const dma = obs.op.op === 'DMA'
    out.push(`Expected (model), step ${obs.index}:`)
    para(`${opToString(obs.op)} ${outcome(obs.model, dma)}`, '  ')
    out.push(`Actual (kernel), step ${obs.index}:`)
    para(`${opToString(obs.op)} ${outcome(obs.kernel, dma)}`, '  ')
  } else if (cx.observable?.kind === 'state-only') {
    para(`No call shows this as a different result: ${cx.observable.reason}. Kernel state to inspect:`)
    for (const x of cx.observable.inspect) out.push(...wrap(x, '  - ', '    '))
  } else {
    out.push(`Step ${div.index} violates:`)
    para(`${cx.property}: ${cx.message}`, '  ')
  }
  if (div.model_obs !== undefined && div.kernel_obs !== undefined) {
    const d = diffLines(diffObservations(div.model_obs, div.kernel_obs))
    if (d.length > 0) {
      blank()
      out.push(`State after step ${div.index}, model (-) against kernel (+):`)
      for (const l of d) out.push(...wrap(l, '  ', '      '))
    }
  } else if (div.model_obs !== undefined) {
    const d = diffLines(diffObservations(previousObs(cx, cx.steps.indexOf(div), 'model') ?? EMPTY_OBSERVATION, div.model_obs))
    if (d.length > 0) {
      blank()
      out.push(`What step ${div.index} changed in the model's state:`)
      for (const l of d) out.push(...wrap(l, '  ', '      '))
    }
  }
  blank()
  para(
    'The reproducer is attached as repro.c: a kselftest (kselftest_harness.h, raw ioctls on the uapi of ' +
      `${seriesOf(cx.profile).title}) for tools/testing/selftests/liveupdate/` +
      (cx.steps.some((s) => s.op.op === 'KEXEC' && s.model.ok) ? ', run once before and once after the kexec' : '') +
      '; every step asserts the model\'s result.' +
      (!cx.steps.some((s) => s.op.op === 'DMA')
        ? ''
        : obs.op.op === 'DMA' && cx.observable?.kind !== 'state-only'
          ? ' Its last check is a DMA: it needs a DMA-capable test device (a vfio selftest driver) and SKIPs without one.'
          : " Its DMA steps are comments: a DMA changes no ioctl's result."),
  )
  blank()
  para(`Replay in luv (no fast-check needed), from a fresh checkout of luv ${v.luv}${v.gitRev ? ` at ${v.gitRev}` : ''}, with the attached ${SCENARIO_FILE}:`)
  if (v.gitRev) out.push(`  git checkout ${v.gitRev}`)
  out.push('  npm ci')
  out.push(...wrapCommand(`node bin/luv.mjs run ${SCENARIO_FILE} --impl both${cx.defect ? ` --defect ${cx.defect}` : ''}`))
  blank()
  para(`Attached: ${SCENARIO_FILE}, repro.c, ${ITF_FILE} (the trace in the Informal Trace Format), report.md.`)
  blank()
  out.push(...wrap(`Reported-by: luv ${v.luv}, the Live Update Verifier${v.gitRev ? ` (git ${v.gitRev})` : ''}`, '', '  '))
  return out.map((l) => l.trimEnd()).join('\n') + '\n'
}
