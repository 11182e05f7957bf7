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
import type { Recovery } from '../../../models/recovery.ts'
import type { State } from '../../../models/state.ts'

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

const PREDICATES = Object.entries(MODEL_PROPERTIES) as [ModelProperty, StepPredicate][]

export function checkStep(t: TraceStep, only?: ReadonlySet<PropertyName>): Violation[] {
  const out: Violation[] = []
  for (const [name, pred] of PREDICATES) {
    if (only && !only.has(name)) continue
    for (const message of pred(t)) out.push({ property: name, message })
  }
  if (t.op.op !== 'KEXEC' || !t.result.ok) return out
  // (made only here: a closure made at every step, with tsx's keepNames wrapper __name, showed
  // in the profile, issue 12)
  const want = (n: ModelProperty) => !only || only.has(n)
  if (ALONG_RECOVERY.some(want)) {
    // report what the recovery newly breaks, once: state-wide findings already reported at
    // the KEXEC itself would otherwise repeat at every recovery step
    const seen = new Set(out.map((v) => `${v.property}\0${v.message}`))
    for (const v of alongRecovery(t.next, recoveryAfter(t.next))) {
      if (!want(v.property)) continue
      const key = `${v.property}\0${v.message}`
      if (seen.has(key)) continue
      seen.add(key)
      out.push({ property: v.property, message: `during the documented recovery after KEXEC, at ${v.at}: ${v.message}` })
    }
  }
  return out
}

const along = new WeakMap<Recovery, { property: ModelProperty; message: string; at: string }[]>()

/** Every ALONG_RECOVERY violation of every step of the recovery played from `start`, in step
 *  order (computed once per recovery: equal post-KEXEC states share one, recoverability.ts). */
function alongRecovery(start: State, r: Recovery): { property: ModelProperty; message: string; at: string }[] {
  let found = along.get(r)
  if (found) return found
  found = []
  let prev = start
  r.ops.forEach((op, i) => {
    const step: TraceStep = { prev, op, result: r.results[i], next: r.states[i], transient: r.transients[i] }
    for (const name of ALONG_RECOVERY) for (const message of MODEL_PROPERTIES[name](step)) found!.push({ property: name, message, at: opToString(op) })
    prev = r.states[i]
  })
  along.set(r, found)
  return found
}
