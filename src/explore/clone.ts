// A deep copy of an object graph that keeps what the kernel implementation needs kept:
// prototypes (class instances stay instances), identity (an object reached twice is copied
// once: the kernel links its objects by reference and counts references), Maps and Sets with
// their keys copied too, typed arrays. Functions and the objects in `share` are not copied.
//
// The exploration uses it to fork the kernel at a state instead of replaying the state's
// trace once per transition; test/explore/clone.test.ts checks that a fork behaves exactly
// like a replay over random traces (so a kernel structure this cannot copy shows there).
//
// Typed arrays (the kernel's page-table pages, 16 KiB each) are copied into views of a shared
// slab rather than each into an ArrayBuffer of its own: allocating an ArrayBuffer costs far
// more than copying 16 KiB (measured: 13-18 us against 2 us), and it was most of a fork. A
// copy keeps its length, type and contents; what it loses is owning its whole `.buffer`
// (byteOffset is not 0), which no kernel structure that is forked relies on (a codec that
// does wraps its own buffer with byteOffset). A slab lives while any view into it does.

const SLAB_BYTES = 1 << 18
let slab = new ArrayBuffer(SLAB_BYTES)
let slabUsed = 0

type Typed = Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array | Uint8ClampedArray
interface TypedCtor {
  new (buf: ArrayBuffer, offset: number, length: number): Typed
}

/** A copy of a typed array, in the current slab (a new slab when it is full; a big array
 *  gets a buffer of its own). */
function copyTyped(v: Typed): Typed {
  const bytes = v.byteLength
  if (bytes > SLAB_BYTES >> 3) return v.slice()
  // 8-byte alignment serves every element size
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES)
    slabUsed = 0
  }
  const c = new (v.constructor as TypedCtor)(slab, slabUsed, v.length)
  slabUsed += (bytes + 7) & ~7
  ;(c as Uint8Array).set(v as Uint8Array)
  return c
}

export function cloneGraph<T>(root: T, share: ReadonlySet<unknown> = new Set()): T {
  const seen = new Map<unknown, unknown>()
  const copy = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v
    if (share.has(v)) return v
    const done = seen.get(v)
    if (done !== undefined) return done
    if (ArrayBuffer.isView(v)) {
      const c = v instanceof DataView ? new DataView(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)) : copyTyped(v as Typed)
      seen.set(v, c)
      return c
    }
    if (Array.isArray(v)) {
      const c: unknown[] = new Array(v.length)
      seen.set(v, c)
      for (let i = 0; i < v.length; i++) c[i] = copy(v[i])
      return c
    }
    if (v instanceof Map) {
      const c = new Map()
      seen.set(v, c)
      for (const [k, x] of v) c.set(copy(k), copy(x))
      return c
    }
    if (v instanceof Set) {
      const c = new Set()
      seen.set(v, c)
      for (const x of v) c.add(copy(x))
      return c
    }
    if (v instanceof ArrayBuffer) {
      const c = v.slice(0)
      seen.set(v, c)
      return c
    }
    if (v instanceof Date) return new Date(v.getTime())
    const c = Object.create(Object.getPrototypeOf(v)) as Record<string, unknown>
    seen.set(v, c)
    for (const k of Object.keys(v)) c[k] = copy((v as Record<string, unknown>)[k])
    return c
  }
  return copy(root) as T
}
