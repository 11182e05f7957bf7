// The little machinery every subsystem file shares: the draft state an op works on, the way a
// failed check returns its errno, and the record of intermediate hardware states.

import { create, current, original, type Draft } from 'mutative'
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
  /** set by an op whose outcome is a whole new state rather than changes to the draft
   *  (KEXEC: the next kernel is built from the old one) */
  becomes?: State
}

export function snapshot(ctx: OpContext, d: D): void {
  ctx.transient.push(current(d) as State)
}

/** A part of the state as plain data, for a read-only scan: reading a record or list through
 *  the draft makes a proxy of every element it looks at (2,000 sessions, 2,000 proxies). While
 *  the op has not changed that part, this is the part itself, at no cost; once it has, a copy
 *  (mutative `current`), so the answer is always the state as it is now. */
export function plain<T extends object>(x: T): T {
  return current(x) as T
}

/** The next state: `recipe` changes a draft of `s`; the parts it did not touch are shared
 *  with `s` (copy-on-write by mutative: an immer-compatible producer, faster than immer). */
export function produce(s: State, recipe: (d: D) => void): State {
  // the platform and the design are parameters of the run that no op changes: the draft hands
  // them out as they are, not as drafts (rules read them all the time: groupOf, unitOf, axes)
  const { platform, design } = s
  return create(s, recipe, { enableAutoFreeze: freezing, mark: (v: unknown) => (v === platform || v === design ? 'mutable' : undefined) }) as State
}

/** A part of the state as it was when the op began (a read-only scan that must not see this
 *  op's own writes, and costs nothing). */
export function before<T extends object>(x: T): T {
  return original(x) as T
}

/** A state built outside `produce` (KEXEC's next kernel), frozen like a produced one. */
export function frozen(s: State): State {
  if (freezing) deepFreeze(s)
  return s
}

function deepFreeze(x: unknown): void {
  if (typeof x !== 'object' || x === null || Object.isFrozen(x)) return
  Object.freeze(x)
  for (const v of Object.values(x)) deepFreeze(v)
}

let freezing = true
/** Freeze every produced state (default on): an accidental mutation anywhere is then an
 *  immediate TypeError. Campaigns and benchmarks turn it off for speed. */
export function setFreezing(on: boolean): void {
  freezing = on
}
