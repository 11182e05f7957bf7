// atomicity (DESIGN.md §2.4, P10): a failed op leaves the observation unchanged. The one
// documented exception is LUO's sticky retrieve failure, which records the errno
// (luo_file.c luo_retrieve_file); only that file's `retrieved` field may change.

import { isDeepStrictEqual } from 'node:util'
import { observe } from '../../../models/index.ts'
import type { LuoSessionView, Observation } from '../../../models/observation.ts'
import type { TraceStep } from './types.ts'

export function sameObservation(a: Observation, b: Observation): boolean {
  return isDeepStrictEqual(a, b)
}

export function atomicity(t: TraceStep): string[] {
  if (t.result.ok) return []
  // the model hands back the very state it was given for a failed op: nothing can differ
  if (t.next === t.prev) return []
  const before = observe(t.prev)
  let after = observe(t.next, before.translations)
  if (t.op.op === 'LIVEUPDATE_SESSION_RETRIEVE_FD') after = { ...after, luo: { ...after.luo, incoming: stickyAsBefore(before.luo.incoming, after.luo.incoming) } }
  return sameObservation(before, after) ? [] : [`${t.op.op} failed but changed the observable state`]
}

/** The incoming sessions after a failed retrieve, with each sticky errno it recorded shown as
 *  before ('no'): the one change the failure may make. */
function stickyAsBefore(before: LuoSessionView[], after: LuoSessionView[]): LuoSessionView[] {
  return after.map((s) => ({
    ...s,
    files: s.files.map((f) => {
      const b = before.find((x) => x.name === s.name)?.files.find((x) => x.token === f.token)
      return b && b.retrieved === 'no' && f.retrieved !== 'ok' ? { ...f, retrieved: 'no' } : f
    }),
  }))
}
