// The named properties (DESIGN.md §2.4) as predicates over model traces. `conformance` is
// not here: it compares the kernel implementation with the model (src/check/conformance.ts).
//
// After a KEXEC the documented recovery is also played (recoverability.ts) and its own steps
// are held to dma-continuity, dma-safety and isolation: a design whose replace of the
// restored domain is not hitless shows up at the KEXEC that made the replace necessary.

import type { PropertyName, Violation } from '../executor.types.ts'
import { opToString } from '../../../models/ops.ts'
import { atomicity } from './atomicity.ts'
import { dmaContinuity } from './dma-continuity.ts'
import { dmaSafety } from './dma-safety.ts'
import { isolation } from './isolation.ts'
import { ownership } from './ownership.ts'
import { recoverability, recoveryAfter } from './recoverability.ts'
import type { StepPredicate, TraceStep } from './types.ts'

export type { TraceStep, StepPredicate }

export type ModelProperty = Exclude<PropertyName, 'conformance'>

export const MODEL_PROPERTIES: Record<ModelProperty, StepPredicate> = {
  'dma-continuity': dmaContinuity,
  'dma-safety': dmaSafety,
  ownership,
  isolation,
  atomicity,
  recoverability,
}

const ALONG_RECOVERY: ModelProperty[] = ['dma-continuity', 'dma-safety', 'isolation']

export function checkStep(t: TraceStep, only?: ReadonlySet<PropertyName>): Violation[] {
  const out: Violation[] = []
  const want = (n: ModelProperty) => !only || only.has(n)
  for (const [name, pred] of Object.entries(MODEL_PROPERTIES) as [ModelProperty, StepPredicate][]) {
    if (!want(name)) continue
    for (const message of pred(t)) out.push({ property: name, message })
  }
  if (t.op.op === 'KEXEC' && t.result.ok && ALONG_RECOVERY.some(want)) {
    const r = recoveryAfter(t.next)
    // report what the recovery newly breaks, once: state-wide findings already reported at
    // the KEXEC itself would otherwise repeat at every recovery step
    const seen = new Set(out.map((v) => `${v.property}\0${v.message}`))
    let prev = t.next
    r.ops.forEach((op, i) => {
      const step: TraceStep = { prev, op, result: r.results[i], next: r.states[i], transient: r.transients[i] }
      for (const name of ALONG_RECOVERY) {
        if (!want(name)) continue
        for (const message of MODEL_PROPERTIES[name](step)) {
          const key = `${name}\0${message}`
          if (seen.has(key)) continue
          seen.add(key)
          out.push({ property: name, message: `during the documented recovery after KEXEC, at ${opToString(op)}: ${message}` })
        }
      }
      prev = r.states[i]
    })
  }
  return out
}
