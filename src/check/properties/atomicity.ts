// atomicity (DESIGN.md §2.4, P10): a failed op leaves the observation unchanged. The one
// documented exception is LUO's sticky retrieve failure, which records the errno
// (luo_file.c luo_retrieve_file); only that file's `retrieved` field may change.

import { isDeepStrictEqual } from 'node:util'
import { observe } from '../../../models/index.ts'
import type { Observation } from '../../../models/observation.ts'
import type { TraceStep } from './types.ts'

export function sameObservation(a: Observation, b: Observation): boolean {
  return isDeepStrictEqual(a, b)
}

export function atomicity(t: TraceStep): string[] {
  if (t.result.ok) return []
  // the model hands back the very state it was given for a failed op: nothing can differ
  if (t.next === t.prev) return []
  const before = observe(t.prev)
  const after = observe(t.next, before.translations)
  if (t.op.op === 'LIVEUPDATE_SESSION_RETRIEVE_FD') for (const s of after.luo.incoming) for (const f of s.files) {
    const b = before.luo.incoming.find((x) => x.name === s.name)?.files.find((x) => x.token === f.token)
    if (b && b.retrieved === 'no' && f.retrieved !== 'ok') f.retrieved = 'no'
  }
  return sameObservation(before, after) ? [] : [`${t.op.op} failed but changed the observable state`]
}
