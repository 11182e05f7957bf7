// recoverability (DESIGN.md §2.4, I8): after any KEXEC the documented userspace recovery
// (models/recovery.ts: retrieve, bind, restore, new HWPT, replace, destroy, finish) succeeds;
// and once every session has finished, nothing preserved leaks (handover pages, DIDs).

import { leaks, recover, unfinishedSessions, type Recovery } from '../../../models/recovery.ts'
import type { State } from '../../../models/state.ts'
import type { TraceStep } from './types.ts'

const cache = new WeakMap<State, Recovery>()

/** The documented recovery played from this post-KEXEC state (computed once per state). */
export function recoveryAfter(s: State): Recovery {
  let r = cache.get(s)
  if (!r) cache.set(s, (r = recover(s)))
  return r
}

export function recoverability(t: TraceStep): string[] {
  if (!t.result.ok) return []
  if (t.op.op === 'KEXEC') {
    const r = recoveryAfter(t.next)
    if (r.failed) return [`the documented recovery fails after KEXEC: ${r.failed.why}`]
    return leaks(r.final).map((l) => `after the documented recovery: ${l}`)
  }
  if (t.op.op === 'LIVEUPDATE_SESSION_FINISH' || t.op.op === 'CLOSE')
    if (unfinishedSessions(t.prev)) return leaks(t.next)
  return []
}
