// The byte framing of the kexec handover blob (FORMAT.md): a header with magic, version,
// record count, payload length and CRC32, then typed records (tag u16, length u32, body).
// All integers little-endian. Schemas of record bodies live with the kernel implementation.
//
// Reading never throws past this API: a corrupt, truncated, wrong-magic or wrong-version blob
// is a `{ panic }`, because the next kernel must refuse state it cannot trust rather than run
// with it (drivers/iommu/liveupdate.c in samikhawaja/linux panics "for security reasons").

import { crc32 } from 'node:zlib'
import { type Panic, panic } from '../panic.ts'

/** "LUVKHO\0\1" */
export const MAGIC = Uint8Array.of(0x4c, 0x55, 0x56, 0x4b, 0x48, 0x4f, 0x00, 0x01)
export const HEADER_SIZE = 24
export const RECORD_HEADER_SIZE = 6

/** A malformed body found by a Reader; converted to a Panic at the API edge. */
export class CodecError extends Error {}

const utf8 = new TextEncoder()
const utf8Strict = new TextDecoder('utf-8', { fatal: true })

export class Writer {
  private buf = new Uint8Array(256)
  private view = new DataView(this.buf.buffer)
  private pos = 0

  get length(): number {
    return this.pos
  }

  u8(v: number): this {
    this.room(1)
    this.view.setUint8(this.pos, checkUint(v, 0xff, 'u8'))
    this.pos += 1
    return this
  }

  u16(v: number): this {
    this.room(2)
    this.view.setUint16(this.pos, checkUint(v, 0xffff, 'u16'), true)
    this.pos += 2
    return this
  }

  u32(v: number): this {
    this.room(4)
    this.view.setUint32(this.pos, checkUint(v, 0xffffffff, 'u32'), true)
    this.pos += 4
    return this
  }

  u64(v: bigint): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`luv: ${v} does not fit a u64`)
    this.room(8)
    this.view.setBigUint64(this.pos, v, true)
    this.pos += 8
    return this
  }

  /** A u64 from a safe integer (PFNs, IOVA pages: no bigint on the way). */
  u64n(v: number): this {
    checkUint(v, Number.MAX_SAFE_INTEGER, 'u64n')
    this.room(8)
    this.view.setUint32(this.pos, v % 0x100000000, true)
    this.view.setUint32(this.pos + 4, Math.floor(v / 0x100000000), true)
    this.pos += 8
    return this
  }

  /** Bytes without a length (fixed-size fields). */
  raw(b: Uint8Array): this {
    this.room(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
    return this
  }

  /** u32 length, then the bytes. */
  bytes(b: Uint8Array): this {
    return this.u32(b.length).raw(b)
  }

  /** u16 length, then UTF-8 (names, tokens as text: at most 65535 bytes). */
  str(s: string): this {
    const b = utf8.encode(s)
    if (b.length > 0xffff) throw new RangeError('luv: string longer than 65535 bytes')
    return this.u16(b.length).raw(b)
  }

  /** The bytes written so far (a copy). */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.pos)
  }

  /** Overwrite a u32 written earlier (record lengths). */
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, checkUint(v, 0xffffffff, 'u32'), true)
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const b = new Uint8Array(size)
    b.set(this.buf.subarray(0, this.pos))
    this.buf = b
    this.view = new DataView(b.buffer)
  }
}

/** Writes a whole handover blob: records, then `finish()` puts the header in front. */
export class HandoverWriter {
  private readonly payload = new Writer()
  private records = 0

  constructor(readonly version: number) {
    checkUint(version, 0xffffffff, 'version')
  }

  /** One record: tag, a length filled in afterwards, the body `fill` writes. */
  record(tag: number, fill: (w: Writer) => void): this {
    const w = this.payload
    w.u16(tag)
    const at = w.length
    w.u32(0)
    fill(w)
    w.patchU32(at, w.length - at - 4)
    this.records++
    return this
  }

  finish(): Uint8Array {
    const body = this.payload.toBytes()
    const out = new Uint8Array(HEADER_SIZE + body.length)
    const v = new DataView(out.buffer)
    out.set(MAGIC, 0)
    v.setUint32(8, this.version, true)
    v.setUint32(12, this.records, true)
    v.setUint32(16, body.length, true)
    v.setUint32(20, crc32(body), true)
    out.set(body, HEADER_SIZE)
    return out
  }
}

/** Reads one record body (or any byte range). Reading past its end throws CodecError. */
export class Reader {
  private readonly view: DataView
  private pos: number

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    this.pos = start
  }

  get remaining(): number {
    return this.end - this.pos
  }

  u8(): number {
    this.need(1)
    return this.view.getUint8(this.pos++)
  }

  u16(): number {
    this.need(2)
    const v = this.view.getUint16(this.pos, true)
    this.pos += 2
    return v
  }

  u32(): number {
    this.need(4)
    const v = this.view.getUint32(this.pos, true)
    this.pos += 4
    return v
  }

  u64(): bigint {
    this.need(8)
    const v = this.view.getBigUint64(this.pos, true)
    this.pos += 8
    return v
  }

  /** A u64 that must be a safe integer. A value below 2^32 is the low word itself: the sum
   *  with `hi * 2^32` would be a heap number even when hi is 0, and a PFN read that way (a
   *  root table's, a domain's root) turns the kernel's arrays and objects holding it from
   *  small-integer to double storage, which deoptimises every function reading them (issue 12). */
  u64n(): number {
    this.need(8)
    const lo = this.view.getUint32(this.pos, true)
    const hi = this.view.getUint32(this.pos + 4, true)
    const v = hi === 0 ? lo : lo + hi * 0x100000000
    if (!Number.isSafeInteger(v)) throw new CodecError(`u64 at ${this.pos} is not a safe integer`)
    this.pos += 8
    return v
  }

  raw(n: number): Uint8Array {
    this.need(n)
    const b = this.buf.slice(this.pos, this.pos + n)
    this.pos += n
    return b
  }

  bytes(): Uint8Array {
    return this.raw(this.u32())
  }

  str(): string {
    const b = this.raw(this.u16())
    try {
      return utf8Strict.decode(b)
    } catch {
      throw new CodecError('string is not UTF-8')
    }
  }

  /** Every byte must have been read (a longer body than its schema is corrupt). */
  done(): void {
    if (this.pos !== this.end) throw new CodecError(`${this.end - this.pos} unread bytes in record`)
  }

  private need(n: number): void {
    if (n > this.end - this.pos) throw new CodecError(`read of ${n} bytes past the end of the record`)
  }
}

export interface HandoverRecord {
  tag: number
  body: Reader
}

/** Check the header, CRC and record framing; the records, or a panic saying why not. */
export function openHandover(buf: Uint8Array, version: number): HandoverRecord[] | Panic {
  const why = check(buf, version)
  if (typeof why === 'string') return panic(`liveupdate: handover rejected: ${why}`)
  return why
}

/**
 * Open a blob and decode its records with `decode`, which may throw CodecError (or call
 * `reject`) for a schema violation; that becomes a panic too. Other exceptions are harness bugs
 * and propagate.
 */
export function decodeHandover<T>(
  buf: Uint8Array,
  version: number,
  decode: (records: HandoverRecord[]) => T,
): T | Panic {
  const recs = openHandover(buf, version)
  if (!Array.isArray(recs)) return recs
  try {
    return decode(recs)
  } catch (e) {
    if (e instanceof CodecError) return panic(`liveupdate: handover rejected: ${e.message}`)
    throw e
  }
}

/** For record decoders: refuse what the schema does not allow. */
export function reject(message: string): never {
  throw new CodecError(message)
}

function check(buf: Uint8Array, version: number): HandoverRecord[] | string {
  if (buf.length < HEADER_SIZE) return `truncated header (${buf.length} bytes)`
  for (let i = 0; i < MAGIC.length; i++) if (buf[i] !== MAGIC[i]) return 'bad magic'
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const got = v.getUint32(8, true)
  if (got !== version) return `format version ${got}, this kernel reads ${version}`
  const count = v.getUint32(12, true)
  const len = v.getUint32(16, true)
  if (len > buf.length - HEADER_SIZE) return `truncated payload (${buf.length - HEADER_SIZE} of ${len} bytes)`
  if (len < buf.length - HEADER_SIZE) return `${buf.length - HEADER_SIZE - len} bytes after the payload`
  const payload = buf.subarray(HEADER_SIZE)
  if (crc32(payload) !== v.getUint32(20, true)) return 'payload CRC mismatch'
  const recs: HandoverRecord[] = []
  let pos = HEADER_SIZE
  while (pos < buf.length) {
    if (buf.length - pos < RECORD_HEADER_SIZE) return `truncated record header at ${pos}`
    const tag = v.getUint16(pos, true)
    const n = v.getUint32(pos + 2, true)
    const start = pos + RECORD_HEADER_SIZE
    if (n > buf.length - start) return `record ${recs.length} (tag ${tag}) overruns the payload`
    recs.push({ tag, body: new Reader(buf, start, start + n) })
    pos = start + n
  }
  if (recs.length !== count) return `${recs.length} records, header says ${count}`
  return recs
}

function checkUint(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`luv: ${v} does not fit a ${what}`)
  return v
}
