// A deep copy of an object graph that keeps what the kernel implementation needs kept:
// prototypes (class instances stay instances), identity (an object reached twice is copied
// once: the kernel links its objects by reference and counts references), Maps and Sets with
// their keys copied too, typed arrays. Functions and the objects in `share` are not copied.
//
// The exploration uses it to fork the kernel at a state instead of replaying the state's
// trace once per transition; test/explore/clone.test.ts checks that a fork behaves exactly
// like a replay over random traces (so a kernel structure this cannot copy shows there).

export function cloneGraph<T>(root: T, share: ReadonlySet<unknown> = new Set()): T {
  const seen = new Map<unknown, unknown>()
  const copy = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v
    if (share.has(v)) return v
    const done = seen.get(v)
    if (done !== undefined) return done
    if (ArrayBuffer.isView(v)) {
      const c = (v as unknown as { slice(): unknown }).slice()
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
