// Duplicate keys in JSON text. JSON.parse keeps the last of two equal keys without a word, so a
// reviewer reading a scenario sees one op while luv runs the other. This scanner walks text that
// JSON.parse has already accepted (so its syntax is known good) and reports the first key that
// repeats within one object, with its path and line.

import { fieldPath } from '../scenario/error.ts'

export interface DuplicateKey {
  key: string
  /** path of the repeated key, e.g. `steps[2].op` */
  path: string
  line: number
}

interface Frame {
  kind: 'object' | 'array'
  keys?: Set<string>
  /** the key (object) or index (array) the next value has */
  at: string | number
  /** object: the next string is a key */
  expectKey?: boolean
}

export function duplicateKey(text: string): DuplicateKey | undefined {
  const stack: Frame[] = []
  const path = (): PropertyKey[] => stack.map((f) => f.at)
  let line = 1
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x0a) line++
    else if (c === 0x7b /* { */) stack.push({ kind: 'object', keys: new Set(), at: '', expectKey: true })
    else if (c === 0x5b /* [ */) stack.push({ kind: 'array', at: 0 })
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop()
    else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1]
      if (top?.kind === 'array') top.at = (top.at as number) + 1
      else if (top) top.expectKey = true
    } else if (c === 0x22 /* " */) {
      let j = i + 1
      let escaped = false
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j)
        if (escaped) escaped = false
        else if (d === 0x5c) escaped = true
        else if (d === 0x22) break
      }
      const top = stack[stack.length - 1]
      if (top?.kind === 'object' && top.expectKey) {
        const raw = text.slice(i, j + 1)
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1)
        top.at = key
        if (top.keys!.has(key)) return { key, path: fieldPath(path()), line }
        top.keys!.add(key)
        top.expectKey = false
      }
      i = j
    }
  }
  return undefined
}
