// The little machinery every subsystem file shares: the draft state an op works on, the way a
// failed check returns its errno, and the record of intermediate hardware states.

import { current, type Draft } from 'immer'
import type { Errno } from './ops.ts'
import type { State } from './state.ts'

export type D = Draft<State>

/** Thrown inside an op when a kernel check fails; `step` turns it into `{ok:false, errno}`
 *  and discards the draft, so a failed op changes nothing (atomicity by construction). */
export class Fail {
  constructor(
    readonly errno: Errno,
    /** a sticky failure keeps the draft's changes (LUO retrieve: live-update.md §1.2) */
    readonly sticky = false,
  ) {}
}

export function fail(errno: Errno, sticky = false): never {
  throw new Fail(errno, sticky)
}

export interface OpContext {
  /** intermediate hardware states inside this op (e.g. the window of a teardown-then-setup replace) */
  transient: State[]
}

export function snapshot(ctx: OpContext, d: D): void {
  ctx.transient.push(current(d) as State)
}

/** A part of the state as plain data, for a read-only scan: reading a record or list through
 *  the draft makes a proxy of every element it looks at (2,000 sessions, 2,000 proxies). While
 *  the op has not changed that part, this is the part itself, at no cost; once it has, a copy
 *  (immer `current`), so the answer is always the state as it is now. */
export function plain<T>(x: T): T {
  return current(x as Draft<T>) as T
}
