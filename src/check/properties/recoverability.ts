// recoverability (DESIGN.md §2.4, I8): after any KEXEC the documented userspace recovery
// (models/recovery.ts: retrieve, bind, restore, new HWPT, replace, destroy, finish) succeeds;
// and once every session has finished, nothing preserved leaks (handover pages, DIDs).

import { leaks, recover, unfinishedSessions, type Recovery } from '../../../models/recovery.ts'
import { contentKey } from '../../../models/memo.ts'
import type { State } from '../../../models/state.ts'
import type { TraceStep } from './types.ts'

let byState = new WeakMap<State, Recovery>()
/** Recoveries by the content of the post-KEXEC state: runs reach the same states again and
 *  again (the guided flow preserves the same setups), and playing the recovery is the
 *  costliest check there is. A pure function of the content, so a recovery played from an
 *  equal state is this state's recovery. Bounded: emptied when full. */
const byContent = new Map<string, Recovery>()
const BY_CONTENT_MAX = 2048

/** The documented recovery played from this post-KEXEC state (computed once per state, and
 *  once per content). */
export function recoveryAfter(s: State): Recovery {
  let r = byState.get(s)
  if (r) return r
  // the whole state: equal keys, equal recoveries. The platform and the design are the same
  // objects in every run of a campaign: they stand in the key by identity, not content
  const key = contentKey(s, new Map<object, string>([[s.platform, idOf(s.platform)], [s.design, idOf(s.design)]]))
  r = byContent.get(key)
  if (!r) {
    r = recover(s)
    if (byContent.size >= BY_CONTENT_MAX) byContent.clear()
    byContent.set(key, r)
  }
  byState.set(s, r)
  return r
}

const ids = new WeakMap<object, string>()
let lastId = 0
/** A name for this object, its own (`#1`, `#2`, …), for as long as it lives. */
function idOf(x: object): string {
  let id = ids.get(x)
  if (id === undefined) ids.set(x, (id = `#${++lastId}`))
  return id
}

/** Drop every cached recovery (tests compare a cached check with one from scratch). */
export function forgetRecoveries(): void {
  byState = new WeakMap()
  byContent.clear()
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
