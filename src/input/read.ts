// The one way luv reads a file a user gave it (a scenario, an ITF trace, a platform, a design,
// a shard's summary.json): a regular file of bounded size, strict UTF-8, strict JSON without
// duplicate keys, then a zod schema. Every problem is one InputFileError naming the file, the
// place inside it (`steps[3].args.iova`, `states[4].mbt::nondetPicks.bdf`) and what was
// expected, echoing at most a short excerpt of what was found. Nothing here blocks (a FIFO is
// refused before it is read) or reads without bound (/dev/zero, a 20 GB file).

import { closeSync, fstatSync, openSync, readSync, constants as fsc } from 'node:fs'
import type { core, z } from 'zod'
import { fieldPath } from '../scenario/error.ts'
import { duplicateKey } from './json.ts'
import { excerpt, safeText, showPath } from './text.ts'

/** The largest input file luv reads (a 10,000-step trace with observations is ~30 MiB). */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024

/** Bad input in a file: exit 2. `message` is `FILE: PATH: DETAIL` (PATH left out for the whole file). */
export class InputFileError extends Error {
  constructor(
    readonly file: string,
    /** where in the file, as a user would write it; '' for the whole file */
    readonly at: string,
    readonly detail: string,
  ) {
    super(`${showPath(file)}: ${at ? `${safeText(at, 120)}: ` : ''}${detail}`)
    this.name = 'InputFileError'
  }
}

export interface ReadOptions {
  /** what the file should be, for messages ("scenario file", "ITF trace") */
  what?: string
  maxBytes?: number
}

/**
 * The file's bytes as text: refused unless it is a regular file of at most maxBytes (checked on
 * the open descriptor, so a file swapped after a stat is still caught), decoded as strict UTF-8.
 * O_NONBLOCK: opening a FIFO must not wait for a writer.
 */
export function readInputText(path: string, o: ReadOptions = {}): string {
  const what = o.what ?? 'file'
  const max = o.maxBytes ?? MAX_INPUT_BYTES
  let fd: number
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK | (fsc.O_NOCTTY ?? 0))
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? `is a directory, not a ${what}` : code === 'ENOTDIR' ? 'a part of the path is not a directory' : safeText((e as Error).message, 200)
    throw new InputFileError(path, '', `cannot read file${code ? ` (${code})` : ''}: ${why}`)
  }
  try {
    const st = fstatSync(fd)
    if (st.isDirectory()) throw new InputFileError(path, '', `is a directory, not a ${what}`)
    if (!st.isFile()) throw new InputFileError(path, '', `not a regular file (${kindOf(st)}): luv reads a ${what} only from a regular file`)
    if (st.size > max) throw new InputFileError(path, '', `${st.size} bytes: larger than the ${max}-byte limit for a ${what}`)
    // read at most max+1 bytes: a file that grows while read is still bounded
    const buf = Buffer.alloc(Math.min(st.size, max) + 1)
    let n = 0
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null)
      if (got === 0) break
      n += got
      if (n === buf.length) break
    }
    if (n > max) throw new InputFileError(path, '', `larger than the ${max}-byte limit for a ${what}`)
    return decodeUtf8(buf.subarray(0, n), path)
  } finally {
    closeSync(fd)
  }
}

function kindOf(st: import('node:fs').Stats): string {
  if (st.isFIFO()) return 'a FIFO'
  if (st.isCharacterDevice()) return 'a character device'
  if (st.isBlockDevice()) return 'a block device'
  if (st.isSocket()) return 'a socket'
  return 'not a file'
}

const DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** Strict UTF-8 (a replacement character would silently change a name or a string argument). */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return DECODER.decode(bytes)
  } catch {
    const off = firstBadUtf8(bytes)
    throw new InputFileError(file, '', `invalid UTF-8 at byte ${off} (luv reads UTF-8 JSON)`)
  }
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
function firstBadUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]
    const [n, lo, hi] = c < 0x80 ? [0, 0, 0] : c >= 0xc2 && c <= 0xdf ? [1, 0x80, 0xbf] : c === 0xe0 ? [2, 0xa0, 0xbf] : c === 0xed ? [2, 0x80, 0x9f] : c >= 0xe1 && c <= 0xef ? [2, 0x80, 0xbf] : c === 0xf0 ? [3, 0x90, 0xbf] : c >= 0xf1 && c <= 0xf3 ? [3, 0x80, 0xbf] : c === 0xf4 ? [3, 0x80, 0x8f] : [-1, 0, 0]
    if (n < 0) return i
    for (let k = 1; k <= n; k++) {
      const x = b[i + k]
      if (x === undefined || x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) return i
    }
    i += n + 1
  }
  return b.length
}

/** JSON.parse, with a duplicate key (last wins in JSON.parse: a reader sees one, luv runs the other) an error. */
export function parseJsonText(text: string, file: string): unknown {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new InputFileError(file, '', `invalid JSON: ${safeText((e as Error).message, 160)}`)
  }
  const dup = duplicateKey(text)
  if (dup) throw new InputFileError(file, dup.path, `duplicate key ${excerpt(dup.key)} (line ${dup.line}): each key may appear once`)
  return json
}

/** Read a JSON file under the discipline above. */
export function readJsonFile(path: string, o: ReadOptions = {}): unknown {
  return parseJsonText(readInputText(path, o), path)
}

/** The value at a zod issue's path in the input. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root
  for (const p of path) v = typeof v === 'object' && v !== null && Object.hasOwn(v, p) ? (v as Record<PropertyKey, unknown>)[p] : undefined
  return v
}

/** A zod issue as located text: path, the expectation, and a short excerpt of what was there. */
export function describeZodIssue(issue: core.$ZodIssue, root: unknown): { at: string; detail: string } {
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path
  const at = fieldPath(path)
  if (issue.code === 'unrecognized_keys') return { at, detail: 'unknown key' }
  const v = valueAt(root, issue.path)
  const got = v === undefined ? 'missing' : `got ${excerpt(v)}`
  return { at, detail: `${safeText(issue.message, 300)}; ${got}` }
}

/** Validate `json` with `schema`; the first issue becomes an InputFileError at `prefix` + its path. */
export function parseWith<S extends z.ZodType>(schema: S, json: unknown, file: string, prefix: readonly PropertyKey[] = []): z.output<S> {
  const r = schema.safeParse(json)
  if (r.success) return r.data
  const issue = r.error.issues[0]
  const { detail } = describeZodIssue(issue, json)
  const path = [...prefix, ...(issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path)]
  throw new InputFileError(file, fieldPath(path), detail)
}
