// Caches for pure functions of a state's parts, kept by the identity of those parts.
//
// A state is never changed once made: a step builds new objects for what it changes and
// shares every untouched part with the state before it (models/context.ts produce). So an
// object's identity stands for its content, and a result computed from, say, a state's
// `units` and `domains` holds for every later state that still shares those two objects.

/** How many combinations of parts a cache remembers: a run asks about the state before and
 *  after each step (and the recovery's states after a KEXEC), so the last few are the ones
 *  asked for again; older ones go (a cache keeps at most these few states' parts alive). */
const RECENT = 8

/** `f(s)` where f reads only the parts `key` picks out of s: computed once per combination
 *  of those objects (compared by identity), among the last RECENT combinations asked for. */
export function memoByParts<S, V>(key: (s: S) => readonly object[], f: (s: S) => V): (s: S) => V {
  const parts: (readonly object[])[] = []
  const values: V[] = []
  let next = 0
  return (s) => {
    const want = key(s)
    // the latest first: most often asked for again
    search: for (let back = 1; back <= parts.length; back++) {
      const i = (next - back + RECENT) % RECENT
      const have = parts[i]
      for (let j = 0; j < want.length; j++) if (have[j] !== want[j]) continue search
      return values[i]
    }
    const v = f(s)
    parts[next] = want
    values[next] = v
    next = (next + 1) % RECENT
    return v
  }
}

/** A string equal for two values exactly when they are the same plain data (records, arrays,
 *  strings, numbers, bigints, booleans, null, undefined), records with their keys in the same
 *  order; objects in `named` stand for themselves (by identity). For caches keyed by content
 *  (models/recovery.ts), where two runs reach the same state as different objects. Like a
 *  state, x is never changed afterwards (the keys of its records of plain values are
 *  remembered by identity). */
export function contentKey(x: unknown, named: ReadonlyMap<object, string> = NO_NAMES): string {
  const pieces: string[] = []
  walk(x, { objects: [...named.keys()], names: [...named.values()] }, pieces)
  return pieces.join('')
}

const NO_NAMES: ReadonlyMap<object, string> = new Map()

/** The named objects as two lists: found by identity in a list of two, not looked up in a Map
 *  (which would give every record of the state an identity hash, a hidden field, on the way). */
interface Names {
  objects: object[]
  names: string[]
}

/** The key of v, piece by piece (joined once at the end: a string grown piece by piece is a
 *  tree of every intermediate string, several for each page of memory). */
function walk(v: unknown, named: Names, out: string[]): void {
  switch (typeof v) {
    case 'string':
      out.push(quoted(v))
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
      const at = named.objects.indexOf(v)
      if (at >= 0) {
        out.push(named.names[at])
        return
      }
      if (Array.isArray(v)) {
        out.push('[')
        for (let i = 0; i < v.length; i++) {
          walk(v[i], named, out)
          out.push(',')
        }
        out.push(']')
        return
      }
      const known = LEAVES.get(v)
      if (known !== undefined) {
        out.push(known)
        return
      }
      const start = out.length
      let leaf = true
      out.push('{')
      for (const k in v) {
        const m = (v as Record<string, unknown>)[k]
        if (typeof m === 'object' && m !== null) leaf = false
        out.push(quoted(k), ':')
        walk(m, named, out)
        out.push(',')
      }
      out.push('}')
      if (leaf) LEAVES.set(v, out.slice(start).join(''))
      return
    }
    default:
      throw new Error(`luv internal error: contentKey of a ${typeof v}`)
  }
}

/** The keys of records that hold no record or list (a page, a context entry, an owner), by
 *  identity: a state shares most of them with the states before it (every free page keeps
 *  its record across KEXEC), and such a key holds no named object. */
const LEAVES = new WeakMap<object, string>()

/** JSON.stringify of a string, remembered for the short strings a state repeats (field
 *  names, kinds, BDFs, tokens). */
const QUOTED = new Map<string, string>()
function quoted(s: string): string {
  let q = QUOTED.get(s)
  if (q === undefined) {
    q = JSON.stringify(s)
    if (s.length <= 32 && QUOTED.size < 4096) QUOTED.set(s, q)
  }
  return q
}
