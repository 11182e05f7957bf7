// Caches for pure functions of a state's parts, kept by the identity of those parts.
//
// A state is never changed once made: a step builds new objects for what it changes and
// shares every untouched part with the state before it (models/context.ts produce). So an
// object's identity stands for its content, and a result computed from, say, a state's
// `units` and `domains` holds for every later state that still shares those two objects.
// Entries go with their keys (WeakMap): a cache never keeps a state alive.

/** `f(s)` where f reads only the parts `key` picks out of s: computed once per combination
 *  of those objects (compared by identity). */
export function memoByParts<S, V>(key: (s: S) => readonly object[], f: (s: S) => V): (s: S) => V {
  const root = new WeakMap<object, Level<V>>()
  return (s) => {
    const parts = key(s)
    let level: Level<V> | undefined
    let map = root
    for (const p of parts) {
      level = map.get(p)
      if (!level) map.set(p, (level = { next: new WeakMap() }))
      map = level.next
    }
    if (level && 'value' in level) return level.value as V
    const v = f(s)
    if (level) level.value = v
    return v
  }
}

interface Level<V> {
  next: WeakMap<object, Level<V>>
  value?: V
}

/** A string equal for two values exactly when they are the same plain data (records, arrays,
 *  strings, numbers, bigints, booleans, null, undefined), records with their keys in the same
 *  order; objects in `named` stand for themselves (by identity). For caches keyed by content
 *  (models/recovery.ts), where two runs reach the same state as different objects. */
export function contentKey(x: unknown, named: ReadonlyMap<object, string> = new Map()): string {
  const out: string[] = []
  const walk = (v: unknown): void => {
    switch (typeof v) {
      case 'string':
        out.push(JSON.stringify(v))
        return
      case 'number':
      case 'boolean':
        out.push(String(v))
        return
      case 'bigint':
        out.push(`${v}n`)
        return
      case 'undefined':
        out.push('u')
        return
      case 'object': {
        if (v === null) {
          out.push('null')
          return
        }
        const name = named.get(v)
        if (name !== undefined) {
          out.push(name)
          return
        }
        if (Array.isArray(v)) {
          out.push('[')
          for (const e of v) {
            walk(e)
            out.push(',')
          }
          out.push(']')
          return
        }
        out.push('{')
        for (const k in v) {
          out.push(JSON.stringify(k), ':')
          walk((v as Record<string, unknown>)[k])
          out.push(',')
        }
        out.push('}')
        return
      }
      default:
        throw new Error(`luv internal error: contentKey of a ${typeof v}`)
    }
  }
  walk(x)
  return out.join('')
}
