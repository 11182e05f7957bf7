// The little machinery every subsystem file shares: the draft state an op works on, the way a
// failed check returns its errno, and the record of intermediate hardware states.

import type { Errno } from './ops.ts'
import type { State } from './state.ts'

/** The draft of a state an op changes (produce): it reads and writes like the state itself. */
export type D = State

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
  throw failure(errno, sticky)
}

/** One Fail per errno and stickiness, made once (a Fail is never changed: a failed op is a
 *  quarter of a campaign's steps, and each would allocate one). */
const FAILS = new Map<Errno, Fail>()
const STICKY_FAILS = new Map<Errno, Fail>()
function failure(errno: Errno, sticky: boolean): Fail {
  const known = sticky ? STICKY_FAILS : FAILS
  let f = known.get(errno)
  if (f === undefined) known.set(errno, (f = new Fail(errno, sticky)))
  return f
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
 *  the draft makes a draft of every element it looks at (2,000 sessions, 2,000 drafts). While
 *  the op has not changed that part, this is the part itself, at no cost; once it has, a copy,
 *  so the answer is always the state as it is now. */
export function plain<T extends object>(x: T): T {
  return current(x) as T
}

/** The next state: `recipe` changes a draft of `s`; the parts it did not touch are shared
 *  with `s` (copy-on-write: see "The draft" below). */
export function produce(s: State, recipe: (d: D) => void): State {
  // the platform and the design are parameters of the run that no op changes: the draft hands
  // them out as they are, not as drafts (rules read them all the time: groupOf, unitOf, axes)
  const root = draftOf(s, null, { platform: s.platform, design: s.design })
  recipe(root.proxy as D)
  return finalize(root) as State
}

/** A part of the state as it was when the op began (a read-only scan that must not see this
 *  op's own writes, and costs nothing). */
export function before<T extends object>(x: T): T {
  const n = nodeOf(x)
  return (n ? n.base : x) as T
}

/** A state built outside `produce` (KEXEC's next kernel), frozen like a produced one. */
export function frozen(s: State): State {
  if (freezing) deepFreeze(s)
  return s
}

function deepFreeze(x: unknown): void {
  if (typeof x !== 'object' || x === null || Object.isFrozen(x)) return
  Object.freeze(x)
  for (const k in x) deepFreeze((x as Record<string, unknown>)[k])
}

let freezing = true
/** Freeze every produced state: an accidental mutation anywhere is then an immediate
 *  TypeError (models/step.ts says when: in tests and paranoid mode). */
export function setFreezing(on: boolean): void {
  freezing = on
}


// ---------------------------------------------------------------- the draft
//
// Copy-on-write through Proxies, as immer and mutative do, with one difference that matters
// here: reading never copies. A read of a record or list hands out a draft of it and
// remembers that draft by key, and nothing is copied until something is written; a write
// copies the record written and, once each, every record on the path up to the state (their
// copies still share every other member with the state before). Rules read far more than
// they write (a bind reads the fd table, the file, the iommufd's objects, the group, and
// writes two fields), so this is most of the cost of a step (issue 12).
//
// The state is plain data (models/state.ts): records, arrays, strings, numbers, bigints,
// booleans; nothing else is drafted.

interface Scope {
  platform: unknown
  design: unknown
}

const NODE = Symbol('luv draft')

/** A draft's bookkeeping. (A class: its objects have one fixed shape, made in one allocation.) */
class Node {
  /** the node itself (a record's draft has its node as its Proxy target) */
  [NODE]: Node
  /** its copy, made at the first write to it or below it; null while unchanged */
  copy: Record<PropertyKey, unknown> | null = null
  /** drafts handed out for members, by key (valid while the member is still their base): the
   *  first one in `firstKey`/`first` (most records hand out one), the others in `children` */
  firstKey: PropertyKey | undefined = undefined
  first: Node | null = null
  children: Map<PropertyKey, Node> | null = null
  /** keys written with an object (a draft moved there, or a new record that may hold drafts) */
  assigned: Set<PropertyKey> | null = null
  proxy: object
  /** the finished record (finalize) */
  done: unknown = undefined
  constructor(
    /** the record or list of the state this draft stands for (never changed) */
    readonly base: Record<PropertyKey, unknown>,
    readonly parent: Node | null,
    readonly scope: Scope,
    /** a record the op made itself and wrote into the draft: it may hold drafts anywhere */
    readonly fresh: boolean,
    /** the key it has in its parent (how its copy is made: shallowCopy) */
    readonly key: PropertyKey,
  ) {
    this[NODE] = this
    // a record's proxy has the node itself as its target; a list's must have a list
    // (Array.isArray, length), and the node rides on it
    this.proxy = new Proxy(Array.isArray(base) ? listTarget(this) : this, HANDLER)
  }
}

function listTarget(n: Node): Target {
  const t = [] as unknown as Target
  t[NODE] = n
  return t
}

function nodeOf(x: unknown): Node | undefined {
  return typeof x === 'object' && x !== null ? ((x as Record<symbol, Node | undefined>)[NODE]) : undefined
}

function draftOf(base: object, parent: Node | null, scope: Scope, fresh = false, key: PropertyKey = ''): Node {
  return new Node(base as Node['base'], parent, scope, fresh, key)
}

function childOf(n: Node, key: PropertyKey): Node | undefined {
  if (n.first !== null && n.firstKey === key) return n.first
  return n.children?.get(key)
}

function setChild(n: Node, key: PropertyKey, c: Node): void {
  if (n.first === null || n.firstKey === key) {
    n.firstKey = key
    n.first = c
  } else (n.children ??= new Map()).set(key, c)
}

const latest = (n: Node) => n.copy ?? n.base
const hasOwn = Object.prototype.hasOwnProperty

/** This record and every record above it get their copy (once). */
function changed(n: Node | null): void {
  while (n !== null && n.copy === null) {
    n.copy = n.parent === null ? copyOfState(n.base) : shallowCopy(n.base, n.key)
    n = n.parent
  }
}

/** A copy of a record or list of a state (lists are copied by spreading: V8's slice() of a
 *  frozen list takes a slow path, 40 µs for the 256 pages of memory against 0.6 µs).
 *  Spreading is fast where V8 has seen few kinds of record before and slow where it has seen
 *  many, and a table keyed by number (files, fds, domains, object ids, PASIDs) copied where
 *  named records are costs ~1.7 µs instead of 0.1: so lists, tables by number, other records
 *  and the state itself are each copied in a place of their own. Which of the two a record
 *  is, is asked once per key it hangs under (`files`, `objects`, a BDF: asking costs
 *  ~0.4 µs); a wrong guess (a BDF names a PASID table and a context entry) costs time, never
 *  a wrong copy: both places copy anything. */
function shallowCopy<T extends object>(x: T, key?: PropertyKey): T {
  if (Array.isArray(x)) return copyOfList(x) as T
  let table = key === undefined ? undefined : TABLE_UNDER.get(key)
  if (table === undefined) {
    table = keyedByNumber(x)
    // (an empty record says nothing of what it holds once filled)
    if (table !== undefined && key !== undefined && TABLE_UNDER.size < 1024) TABLE_UNDER.set(key, table)
  }
  return (table === true ? copyOfTable(x) : copyOfRecord(x)) as T
}
const TABLE_UNDER = new Map<PropertyKey, boolean>()
const copyOfList = <T>(x: T[]): T[] => [...x]
const copyOfTable = <T extends object>(x: T): T => ({ ...x })
const copyOfRecord = <T extends object>(x: T): T => ({ ...x })
const copyOfState = <T extends object>(x: T): T => ({ ...x })

/** Is the first key a number (undefined: no key)? for...in lists numeric keys first, so a
 *  table keyed by number says so by its first. */
function keyedByNumber(x: object): boolean | undefined {
  for (const k in x) {
    const c = k.charCodeAt(0)
    return c >= 48 && c <= 57 && String(Number(k)) === k
  }
  return undefined
}

type Target = { [NODE]: Node }

const HANDLER: ProxyHandler<Target> = {
  get(t, key) {
    const n = t[NODE]
    if (key === NODE) return n
    const v = latest(n)[key]
    if (typeof v !== 'object' || v === null || v === n.scope.platform || v === n.scope.design) return v
    const written = n.fresh || (n.assigned !== null && n.assigned.has(key))
    if (written && nodeOf(v)) return v
    const c = childOf(n, key)
    if (c !== undefined && c.base === v) return c.proxy
    const d = draftOf(v, n, n.scope, written, key)
    setChild(n, key, d)
    return d.proxy
  },
  set(t, key, value) {
    const n = t[NODE]
    const src = latest(n)
    const old = src[key]
    // writing what is there already changes nothing (and keeps the record shared)
    if (old === value && (value !== undefined || hasOwn.call(src, key))) return true
    const vn = nodeOf(value)
    if (vn !== undefined && vn.base === old && childOf(n, key) === vn) return true
    changed(n)
    n.copy![key] = value
    if (typeof value === 'object' && value !== null) (n.assigned ??= new Set()).add(key)
    return true
  },
  deleteProperty(t, key) {
    const n = t[NODE]
    if (!hasOwn.call(latest(n), key)) return true
    changed(n)
    delete n.copy![key]
    return true
  },
  has: (t, key) => key in latest(t[NODE]),
  ownKeys: (t) => Reflect.ownKeys(latest(t[NODE])),
  getOwnPropertyDescriptor(t, key) {
    const src = latest(t[NODE])
    if (!hasOwn.call(src, key)) return undefined
    // a state's members are all enumerable but a list's length, which is not configurable on
    // the (list) target either (Object.entries and Object.values ask this of every key)
    if (key === 'length' && Array.isArray(src)) return { writable: true, configurable: false, enumerable: false, value: src.length }
    return { writable: true, configurable: true, enumerable: true, value: src[key] }
  },
  defineProperty(t, key, desc) {
    return HANDLER.set!(t, key, desc.value, t)
  },
  getPrototypeOf: (t) => Object.getPrototypeOf(t[NODE].base),
  setPrototypeOf: () => false,
}

/** The finished record of a draft: its base when nothing in it changed, else its copy with
 *  the drafts in it replaced by their own finished records (and frozen, when freezing). */
function finalize(n: Node): unknown {
  if (n.copy === null) return n.base
  if (n.done !== undefined) return n.done
  const copy = n.copy
  n.done = copy
  if (n.first !== null && n.first.copy !== null && copy[n.firstKey!] === n.first.base) copy[n.firstKey!] = finalize(n.first)
  if (n.children !== null) for (const [k, c] of n.children) if (c.copy !== null && copy[k] === c.base) copy[k] = finalize(c)
  if (n.assigned !== null) for (const k of n.assigned) if (hasOwn.call(copy, k)) copy[k] = settle(copy[k])
  if (n.fresh) for (const k in copy) copy[k] = settle(copy[k])
  if (freezing) Object.freeze(copy)
  return copy
}

/** A value written into a draft, finished: a draft becomes its finished record; a new record
 *  may hold drafts (a list built from the draft's members) and is finished member by member. */
function settle(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v
  const n = nodeOf(v)
  if (n !== undefined) return finalize(n)
  if (Object.isFrozen(v)) return v // a part of a finished state: no draft in it
  const r = v as Record<string, unknown>
  for (const k in r) {
    const m = r[k]
    if (typeof m === 'object' && m !== null) {
      const s = settle(m)
      if (s !== m) r[k] = s
    }
  }
  if (freezing) Object.freeze(r)
  return r
}

/** The draft as plain data now, leaving the draft as it is (a snapshot of an intermediate
 *  hardware state, a read-only scan): unchanged parts are the state's own, changed ones copies. */
function current(x: unknown): unknown {
  const n = nodeOf(x)
  if (n === undefined) return copyOut(x)
  if (n.copy === null) return n.base
  const out = n.parent === null ? copyOfState(n.copy) : shallowCopy(n.copy, n.key)
  if (n.first !== null && n.first.copy !== null && out[n.firstKey!] === n.first.base) out[n.firstKey!] = current(n.first.proxy)
  if (n.children !== null) for (const [k, c] of n.children) if (c.copy !== null && out[k] === c.base) out[k] = current(c.proxy)
  if (n.assigned !== null) for (const k of n.assigned) if (hasOwn.call(out, k)) out[k] = current(out[k])
  if (n.fresh) for (const k in out) out[k] = current(out[k])
  return out
}

/** A value that is not a draft, with any draft inside it replaced by its current data. */
function copyOut(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return v
  let out: Record<string, unknown> | undefined
  const r = v as Record<string, unknown>
  for (const k in r) {
    const m = r[k]
    const c = typeof m === 'object' && m !== null ? current(m) : m
    if (c !== m) (out ??= shallowCopy(r))[k] = c
  }
  return out ?? v
}
