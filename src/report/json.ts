// Deterministic JSON text for golden files and hashes. Key order is the order the caller
// built the object in (renderers build them in a fixed order); bigint is refused, so callers
// must pick a rendering (ITF #bigint, hex string) first.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

/** One-line rendering with spaces, as in DESIGN.md's examples: `{ "a": 1, "b": [1, 2] }`. */
export function inlineJson(v: Json): string {
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `[${v.map(inlineJson).join(', ')}]`
  if (v !== null && typeof v === 'object') {
    const es = Object.entries(v)
    return es.length === 0 ? '{}' : `{ ${es.map(([k, x]) => `${JSON.stringify(k)}: ${inlineJson(x)}`).join(', ')} }`
  }
  return scalar(v)
}

function scalar(v: unknown): string {
  if (typeof v === 'bigint') throw new Error('luv internal error: bigint in JSON output')
  if (typeof v === 'number' && !Number.isFinite(v)) throw new Error('luv internal error: non-finite number in JSON')
  return JSON.stringify(v)
}

export interface FormatOptions {
  /** a container whose one-line form fits in this many columns (with its indent) stays on one line */
  width?: number
  /** force one line for the container at this path (e.g. each scenario step) */
  inline?: (path: readonly (string | number)[]) => boolean
}

/** Pretty JSON: two-space indent, short containers on one line. Ends with a newline. */
export function formatJson(v: Json, opts: FormatOptions = {}): string {
  const width = opts.width ?? 100
  const go = (x: Json, indent: string, path: (string | number)[], prefixLen: number): string => {
    if (x === null || typeof x !== 'object') return scalar(x)
    const one = inlineJson(x)
    if (opts.inline?.(path) || indent.length + prefixLen + one.length <= width) return one
    const inner = indent + '  '
    if (Array.isArray(x)) {
      if (x.length === 0) return '[]'
      return `[\n${x.map((e, i) => inner + go(e, inner, [...path, i], 0)).join(',\n')}\n${indent}]`
    }
    const es = Object.entries(x)
    if (es.length === 0) return '{}'
    const lines = es.map(([k, e]) => {
      const key = `${JSON.stringify(k)}: `
      return inner + key + go(e, inner, [...path, k], key.length)
    })
    return `{\n${lines.join(',\n')}\n${indent}}`
  }
  return go(v, '', [], 0) + '\n'
}
