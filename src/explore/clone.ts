// A deep copy of an object graph that keeps what the kernel implementation needs kept:
// prototypes (class instances stay instances), identity (an object reached twice is copied
// once: the kernel links its objects by reference and counts references), Maps and Sets with
// their keys copied too, typed arrays. Functions and the objects in `share` are not copied.
//
// The exploration uses it to fork the kernel at a state instead of replaying the state's
// trace once per transition; test/explore/clone.test.ts checks that a fork behaves exactly
// like a replay over random traces (so a kernel structure this cannot copy shows there).
//
// A state's kernel is forked once per state-changing transition (about 18 times per state on
// the default scope), so the copy is split in two: a Snapshot walks the graph once and records
// it flat (each object's kind, prototype, keys, and each slot either a value or the index of
// another object; every typed array's bytes in one buffer), and `instantiate` builds a copy
// from that record with no graph walk, no identity map and no type tests: allocate every
// object, then fill the slots. The typed arrays (the kernel's page-table pages, 4 KiB each,
// about 30 of them) are copied with one memcpy into a slab and handed out as views of it:
// allocating an ArrayBuffer costs far more than copying a page (measured: 13-18 us against
// 2 us). A copy keeps its length, type and contents; what it loses is owning its whole
// `.buffer` (byteOffset is not 0), which no kernel structure that is forked relies on (a
// codec that does wraps its own buffer with byteOffset). A slab lives while any view into it
// does.
//
// A snapshot is of the graph as it was when taken: instantiating it after the original has
// changed gives the graph as it was then (the exploration relies on that: the snapshot of a
// state's kernel is its pristine copy while the kernel itself runs the error paths).

const SLAB_BYTES = 1 << 18
let slab = new ArrayBuffer(SLAB_BYTES)
let slabU8 = new Uint8Array(slab)
let slabUsed = 0
/** the current slab as the element types the kernel's typed arrays have (a same-type set()
 *  is a memcpy, and needs no view made per array) */
let slabU16 = new Uint16Array(slab)
let slabU32 = new Uint32Array(slab)

/** `bytes` bytes of a slab, 8-byte aligned (a buffer of its own when large): the buffer and
 *  the offset. A slab's bytes are never handed out twice; it lives while any view into it does. */
function slabBytes(bytes: number): { buf: ArrayBuffer; base: number } {
  if (bytes > SLAB_BYTES >> 1) return { buf: new ArrayBuffer(bytes), base: 0 }
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES)
    slabU8 = new Uint8Array(slab)
    slabU16 = new Uint16Array(slab)
    slabU32 = new Uint32Array(slab)
    slabUsed = 0
  }
  const base = slabUsed
  slabUsed += (bytes + 7) & ~7
  return { buf: slab, base }
}

/** Copy typed array `t` into `buf` at byte `at` (8-aligned): a same-type set() into the
 *  slab's own views when `buf` is the slab, else through a byte view. */
function copyInto(buf: ArrayBuffer, at: number, t: Typed): void {
  if (buf === slab) {
    if (t instanceof Uint32Array) return slabU32.set(t, at >> 2)
    if (t instanceof Uint16Array) return slabU16.set(t, at >> 1)
    if (t instanceof Uint8Array) return slabU8.set(t, at)
  }
  new Uint8Array(buf, at, t.byteLength).set(new Uint8Array(t.buffer, t.byteOffset, t.byteLength))
}

type Typed = Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array | Uint8ClampedArray
interface TypedCtor {
  new (buf: ArrayBuffer, offset: number, length: number): Typed
}

const NO_BYTES = new Uint8Array(0)
const NO_SHARED: unknown[] = []
const OBJ = 0
const ARR = 1
const MAP = 2
const SET = 3
const TYPED = 4
const DATAVIEW = 5
const ABUF = 6
const DATE = 7

/** Sets an object's keys from its slots: vals[s], vals[s+1], ... (or the objects ref names). */
type Filler = (o: unknown, vals: unknown[], ref: number[], obj: unknown[], s: number) => void

/** What is made once per key list: the key set (restore() clears the keys an op added
 *  beside them), and the filler, a function of constant-key stores, so each store is
 *  monomorphic (a loop of computed-key stores onto fresh objects goes through the generic
 *  keyed-store path, and was most of a copy's time). (A restore that stores only the keys
 *  that differ from the record was tried: no faster.) */
interface KeyList {
  keys: string[]
  keySet: Set<string>
  fill: Filler
}
const keyLists = new Map<string, KeyList>()
/** keyListOf's answers by an object's prototype and first key, then its key list compared
 *  key by key (Object.keys gives internalized strings: === is a pointer compare), so taking
 *  a snapshot builds no joined-key string per object */
const keyListsByShape = new Map<unknown, Map<string, KeyList[]>>()
function keyListOf(proto: unknown, keys: string[]): KeyList {
  let byFirst = keyListsByShape.get(proto)
  if (byFirst === undefined) keyListsByShape.set(proto, (byFirst = new Map()))
  const first = keys.length > 0 ? keys[0] : ''
  let list = byFirst.get(first)
  if (list === undefined) byFirst.set(first, (list = []))
  outer: for (const e of list) {
    if (e.keys.length !== keys.length) continue
    for (let i = 1; i < keys.length; i++) if (e.keys[i] !== keys[i]) continue outer
    return e
  }
  const e = keyListFor(keys)
  list.push(e)
  return e
}
function keyListFor(keys: string[]): KeyList {
  const id = keys.join('\u0000')
  let e = keyLists.get(id)
  if (e !== undefined) return e
  const fill: Filler = keys.includes('__proto__')
    ? // an own key the store syntax would take for the prototype: define it
      (o, vals, ref, obj, s) => keys.forEach((k, i) => Object.defineProperty(o, k, { value: ref[s + i] < 0 ? vals[s + i] : obj[ref[s + i]], writable: true, enumerable: true, configurable: true }))
    : (new Function('o', 'vals', 'ref', 'obj', 's', keys.map((k, i) => `o[${JSON.stringify(k)}] = ref[s + ${i}] < 0 ? vals[s + ${i}] : obj[ref[s + ${i}]]`).join('\n')) as Filler)
  e = { keys, keySet: new Set(keys), fill }
  keyLists.set(id, e)
  return e
}

/** A flat record of an object graph, instantiated into independent copies of it. */
export class Snapshot<T> {
  /** per object: its kind */
  private readonly kind: number[] = []
  /** per object: prototype (OBJ), length (ARR), constructor (TYPED), bytes (DATAVIEW,
   *  ABUF), time (DATE) */
  private readonly meta: unknown[] = []
  /** per object (OBJ): its own enumerable keys, in order, and the functions that set them */
  private readonly fill: (KeyList | undefined)[] = []
  /** per object: its slots are vals[start[i] .. start[i+1]) (OBJ: one per key; ARR: one per
   *  element; MAP: key, value, key, value ...; SET: one per element; none for the others) */
  private readonly start: number[] = []
  /** per object (TYPED): its byte offset in `bytes` and its element count */
  private readonly boff: number[] = []
  private readonly len: number[] = []
  /** a slot's value, or (ref[j] >= 0) the index of the object it refers to */
  private readonly vals: unknown[] = []
  private readonly ref: number[] = []
  private bytes: Uint8Array = NO_BYTES
  private readonly root: unknown
  /** the objects recorded, as they are in the graph the snapshot was taken of (restore());
   *  dropped by forget() */
  private originals?: object[]
  /** per object (OBJ): its recorded key count (restore() finds keys added since) */
  private readonly keyCount: number[] = []
  /** per object (TYPED, DATAVIEW, ABUF): its bytes in the original graph and in the record,
   *  as byte views, made at the first restore() */
  private views?: (Typed | undefined)[]
  private recViews?: (Typed | undefined)[]

  constructor(root: T, share: ReadonlySet<unknown> = new Set()) {
    const index = new Map<object, number>()
    const typed: Typed[] = []
    let byteTotal = 0
    const { kind, meta, fill, start, boff, len, vals, ref } = this
    // objects are numbered as they are first reached; each is recorded when taken off the
    // queue, its slots naming the objects it refers to by number
    const queue: object[] = []
    const id = (v: object): number => {
      let i = index.get(v)
      if (i === undefined) {
        i = queue.length
        index.set(v, i)
        queue.push(v)
      }
      return i
    }
    // the shared objects (a platform and a design) in a list: found by ===, where Set.has
    // would first give each fresh object of a forked kernel an identity hash
    const shared = share.size === 0 ? NO_SHARED : [...share]
    const slot = (v: unknown): void => {
      if (typeof v !== 'object' || v === null || shared.includes(v)) {
        vals.push(v)
        ref.push(-1)
      } else {
        vals.push(undefined)
        ref.push(id(v))
      }
    }
    this.root = typeof root !== 'object' || root === null || shared.includes(root) ? root : undefined
    if (this.root === undefined) id(root as object)
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i]
      fill.push(undefined)
      start.push(vals.length)
      boff.push(0)
      len.push(0)
      if (ArrayBuffer.isView(v)) {
        if (v instanceof DataView) {
          kind.push(DATAVIEW)
          meta.push(new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)))
        } else {
          kind.push(TYPED)
          meta.push(v.constructor)
          boff[i] = byteTotal
          len[i] = (v as Typed).length
          typed.push(v as Typed)
          // 8-byte alignment serves every element size
          byteTotal += (v.byteLength + 7) & ~7
        }
        continue
      }
      if (Array.isArray(v)) {
        kind.push(ARR)
        meta.push(v.length)
        for (let j = 0; j < v.length; j++) slot(v[j])
      } else if (v instanceof Map) {
        kind.push(MAP)
        meta.push(undefined)
        for (const [k, x] of v) {
          slot(k)
          slot(x)
        }
      } else if (v instanceof Set) {
        kind.push(SET)
        meta.push(undefined)
        for (const x of v) slot(x)
      } else if (v instanceof ArrayBuffer) {
        kind.push(ABUF)
        meta.push(v.slice(0))
      } else if (v instanceof Date) {
        kind.push(DATE)
        meta.push(v.getTime())
      } else {
        kind.push(OBJ)
        const proto = Object.getPrototypeOf(v)
        meta.push(proto)
        const ks = Object.keys(v)
        fill[i] = keyListOf(proto, ks)
        this.keyCount[i] = ks.length
        // the values in the keys' order (Object.values: no keyed load per key, which on the
        // kernel's many shapes is megamorphic)
        const vs = Object.values(v)
        for (let j = 0; j < vs.length; j++) slot(vs[j])
      }
    }
    start.push(vals.length)
    this.originals = queue
    // the record's bytes in a slab too (allocating an ArrayBuffer per snapshot was the
    // largest single cost of taking one)
    if (byteTotal > 0) {
      const { buf, base } = slabBytes(byteTotal)
      let off = base
      for (const t of typed) {
        copyInto(buf, off, t)
        off += (t.byteLength + 7) & ~7
      }
      this.bytes = new Uint8Array(buf, base, byteTotal)
    }
  }

  /** A new copy of the graph as it was when the snapshot was taken. */
  instantiate(): T {
    if (this.kind.length === 0) return this.root as T
    const { kind, meta, fill, start, boff, len, vals, ref } = this
    const n = kind.length
    const obj: unknown[] = new Array(n)
    // the typed arrays' bytes, copied at once
    const total = this.bytes.length
    const { buf, base } = slabBytes(total)
    if (total > 0) (buf === slab ? slabU8 : new Uint8Array(buf)).set(this.bytes, base)
    for (let i = 0; i < n; i++)
      switch (kind[i]) {
        case OBJ:
          obj[i] = Object.create(meta[i] as object | null)
          break
        case ARR:
          obj[i] = new Array(meta[i] as number)
          break
        case MAP:
          obj[i] = new Map()
          break
        case SET:
          obj[i] = new Set()
          break
        case TYPED:
          obj[i] = new (meta[i] as TypedCtor)(buf, base + boff[i], len[i])
          break
        case DATAVIEW:
          obj[i] = new DataView((meta[i] as Uint8Array).slice().buffer)
          break
        case ABUF:
          obj[i] = (meta[i] as ArrayBuffer).slice(0)
          break
        case DATE:
          obj[i] = new Date(meta[i] as number)
          break
      }
    for (let i = 0; i < n; i++) {
      const k = kind[i]
      if (k >= TYPED) continue
      const o = obj[i]
      const s = start[i]
      const e = start[i + 1]
      switch (k) {
        case OBJ:
          fill[i]!.fill(o, vals, ref, obj, s)
          break
        case ARR: {
          const a = o as unknown[]
          for (let j = s; j < e; j++) a[j - s] = ref[j] < 0 ? vals[j] : obj[ref[j]]
          break
        }
        case MAP: {
          const m = o as Map<unknown, unknown>
          for (let j = s; j < e; j += 2) m.set(ref[j] < 0 ? vals[j] : obj[ref[j]], ref[j + 1] < 0 ? vals[j + 1] : obj[ref[j + 1]])
          break
        }
        case SET: {
          const st = o as Set<unknown>
          for (let j = s; j < e; j++) st.add(ref[j] < 0 ? vals[j] : obj[ref[j]])
          break
        }
      }
    }
    return obj[0] as T
  }

  /** Put the graph the snapshot was taken of back as it was then, in place (the undo above).
   *  Throws after forget(). */
  restore(): void {
    const objs = this.originals
    if (objs === undefined) throw new Error('Snapshot.restore after forget()')
    const { kind, meta, fill, start, vals, ref, keyCount } = this
    const n = kind.length
    if (this.views === undefined) this.makeViews(objs)
    const views = this.views!
    const recViews = this.recViews!
    for (let i = 0; i < n; i++) {
      const o = objs[i]
      const s = start[i]
      const e = start[i + 1]
      switch (kind[i]) {
        case OBJ: {
          const kl = fill[i]!
          kl.fill(o, vals, ref, objs, s)
          if (keyCountOf(o) !== keyCount[i]) clearAddedKeys(o as Record<string, unknown>, kl.keySet)
          break
        }
        case ARR: {
          const a = o as unknown[]
          const len = meta[i] as number
          if (a.length !== len) a.length = len
          for (let j = s; j < e; j++) a[j - s] = ref[j] < 0 ? vals[j] : objs[ref[j]]
          break
        }
        case MAP: {
          const m = o as Map<unknown, unknown>
          if (!sameMap(m, vals, ref, objs, s, e)) {
            m.clear()
            for (let j = s; j < e; j += 2) m.set(ref[j] < 0 ? vals[j] : objs[ref[j]], ref[j + 1] < 0 ? vals[j + 1] : objs[ref[j + 1]])
          }
          break
        }
        case SET: {
          const st = o as Set<unknown>
          if (!sameSet(st, vals, ref, objs, s, e)) {
            st.clear()
            for (let j = s; j < e; j++) st.add(ref[j] < 0 ? vals[j] : objs[ref[j]])
          }
          break
        }
        case TYPED:
        case DATAVIEW:
        case ABUF:
          ;(views[i] as Uint8Array).set(recViews[i] as Uint8Array) // the same type on both sides (makeViews)
          break
        case DATE:
          ;(o as Date).setTime(meta[i] as number)
          break
      }
    }
  }

  /** Drop the references to the original graph (restore() no longer possible; instantiate()
   *  still is): a snapshot kept for later copies must not keep its original alive. */
  forget(): void {
    this.originals = undefined
    this.views = undefined
  }

  private makeViews(objs: object[]): void {
    const { kind, meta, boff } = this
    const views: (Typed | undefined)[] = new Array(kind.length)
    const recViews: (Typed | undefined)[] = new Array(kind.length)
    for (let i = 0; i < kind.length; i++) {
      const o = objs[i]
      if (kind[i] === TYPED) {
        // the array itself, and its record as the same type: restore()'s set() is a memcpy
        views[i] = o as Typed
        recViews[i] = new (meta[i] as TypedCtor)(this.bytes.buffer as ArrayBuffer, this.bytes.byteOffset + boff[i], this.len[i])
      } else if (kind[i] === DATAVIEW) {
        const d = o as DataView
        views[i] = new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
        recViews[i] = meta[i] as Uint8Array
      } else if (kind[i] === ABUF) {
        views[i] = new Uint8Array(o as ArrayBuffer)
        recViews[i] = new Uint8Array(meta[i] as ArrayBuffer)
      }
    }
    this.views = views
    this.recViews = recViews
  }
}

/** Whether Map `m` holds the recorded entries vals/ref[s..e), in that order. */
function sameMap(m: Map<unknown, unknown>, vals: unknown[], ref: number[], objs: unknown[], s: number, e: number): boolean {
  if (m.size !== (e - s) >> 1) return false
  let j = s
  for (const key of m.keys()) {
    if (key !== (ref[j] < 0 ? vals[j] : objs[ref[j]])) return false
    if (m.get(key) !== (ref[j + 1] < 0 ? vals[j + 1] : objs[ref[j + 1]])) return false
    j += 2
  }
  return true
}

/** Whether Set `st` holds the recorded elements vals/ref[s..e), in that order. */
function sameSet(st: Set<unknown>, vals: unknown[], ref: number[], objs: unknown[], s: number, e: number): boolean {
  if (st.size !== e - s) return false
  let j = s
  for (const x of st) {
    if (x !== (ref[j] < 0 ? vals[j] : objs[ref[j]])) return false
    j++
  }
  return true
}

// ---------------------------------------------------------------- undo (restore in place)
// The exploration's undo journal: a state's kernel takes one transition, is compared, and is
// put back as it was for the next, instead of a copy per transition (a copy allocates every
// object of the kernel; the young-generation collections that follow were a tenth of the
// search). Harness machinery, kept here and not in src/kernel/: the kernel's functions write
// their structures as the kernel does, and nothing in them knows about the undo. The record
// the snapshot already holds is the journal: restore() writes every recorded slot back into
// the very objects it was read from, so the graph is the one the snapshot was taken of,
// object for object (the kernel links its objects by reference: identity must be kept, and
// an object the op made is simply no longer reachable). What restore() puts back:
//  * an object's recorded keys, each to its recorded value; a key the op added (the kernel's
//    optional fields: `dev.incoming = ...`) is set to undefined, which the kernel reads as
//    absent (no kernel structure tells an absent key from an undefined one; src/kernel
//    deletes no keys, so a recorded key is never missing);
//  * an array's length and elements; a Map's or Set's entries in their recorded order (left
//    alone when already equal, in order: iteration order is behaviour);
//  * a typed array's, DataView's or ArrayBuffer's bytes; a Date's time.
// test/explore/clone.test.ts holds restore() to a copy and to a replay over random walks.
// Everything in the graph goes back, Kernel.generation too: nothing in the search caches
// against it across an undo (a caller that did would read a stale cache).

/** Keys of `o` (own enumerable, and inherited enumerable: none on the kernel's objects) */
function keyCountOf(o: object): number {
  let n = 0
  for (const _ in o) n++
  return n
}

/** Sets to undefined the keys of `o` a filler for `recorded` keys would not set. */
function clearAddedKeys(o: Record<string, unknown>, recorded: Set<string>): void {
  for (const key of Object.keys(o)) if (!recorded.has(key)) o[key] = undefined
}

/** One copy of `root` (a snapshot instantiated once). */
export function cloneGraph<T>(root: T, share: ReadonlySet<unknown> = new Set()): T {
  return new Snapshot(root, share).instantiate()
}
