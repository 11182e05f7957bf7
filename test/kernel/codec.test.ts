import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  decodeHandover,
  HEADER_SIZE,
  HandoverWriter,
  MAGIC,
  openHandover,
  type HandoverRecord,
  reject,
  Writer,
} from '../../src/kernel/handover/codec.ts'
import { isPanic } from '../../src/kernel/panic.ts'
import { check } from './fc.ts'

const VERSION = 3

interface Sample {
  name: string
  token: bigint
  pfns: number[]
  flags: number
  blob: Uint8Array
}

function encode(samples: Sample[], version = VERSION): Uint8Array {
  const w = new HandoverWriter(version)
  for (const s of samples)
    w.record(7, (b) => {
      b.str(s.name).u64(s.token).u32(s.pfns.length)
      for (const p of s.pfns) b.u64n(p)
      b.u16(s.flags).u8(s.flags & 0xff).bytes(s.blob)
    })
  w.record(9, () => {}) // an empty record is legal
  return w.finish()
}

function decode(recs: HandoverRecord[]): Sample[] {
  const out: Sample[] = []
  for (const { tag, body } of recs) {
    if (tag === 9) {
      body.done()
      continue
    }
    if (tag !== 7) reject(`unknown record tag ${tag}`)
    const name = body.str()
    const token = body.u64()
    const pfns = Array.from({ length: body.u32() }, () => body.u64n())
    const flags = body.u16()
    if (body.u8() !== (flags & 0xff)) reject('flags disagree')
    const blob = body.bytes()
    body.done()
    out.push({ name, token, pfns, flags, blob })
  }
  return out
}

const sampleArb: fc.Arbitrary<Sample> = fc.record({
  name: fc.string({ maxLength: 64, unit: 'binary' }),
  token: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  pfns: fc.array(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), { maxLength: 20 }),
  flags: fc.integer({ min: 0, max: 0xffff }),
  blob: fc.uint8Array({ maxLength: 40 }),
})

describe('handover codec', () => {
  it('round-trips records (fast-check)', () => {
    check(
      fc.property(fc.array(sampleArb, { maxLength: 6 }), (samples) => {
        expect(decodeHandover(encode(samples), VERSION, decode)).toEqual(samples)
      }),
    )
  })

  it('lays out the header as FORMAT.md says', () => {
    const buf = encode([{ name: 'x', token: 1n, pfns: [], flags: 0, blob: new Uint8Array() }])
    const v = new DataView(buf.buffer)
    expect([...buf.subarray(0, 8)]).toEqual([...MAGIC])
    expect(new TextDecoder().decode(buf.subarray(0, 6))).toBe('LUVKHO')
    expect(v.getUint32(8, true)).toBe(VERSION)
    expect(v.getUint32(12, true)).toBe(2)
    expect(v.getUint32(16, true)).toBe(buf.length - HEADER_SIZE)
    expect(v.getUint16(HEADER_SIZE, true)).toBe(7) // first record's tag
    expect(v.getUint32(HEADER_SIZE + 2, true)).toBe(2 + 1 + 8 + 4 + 2 + 1 + 4) // its body length
  })

  it('panics on any single flipped byte', () => {
    const buf = encode([
      { name: 'session-a', token: 0xfeedn, pfns: [1, 2, 2 ** 40], flags: 0x102, blob: Uint8Array.of(1, 2, 3) },
    ])
    for (let i = 0; i < buf.length; i++) {
      const bad = buf.slice()
      bad[i] ^= 0x40
      const r = decodeHandover(bad, VERSION, decode)
      expect(isPanic(r), `flip at byte ${i}`).toBe(true)
    }
  })

  it('panics on truncation at any length, and on trailing bytes', () => {
    const buf = encode([{ name: 'n', token: 5n, pfns: [9], flags: 1, blob: Uint8Array.of(7) }])
    for (let n = 0; n < buf.length; n++) expect(isPanic(openHandover(buf.subarray(0, n), VERSION)), `length ${n}`).toBe(true)
    const longer = new Uint8Array(buf.length + 1)
    longer.set(buf)
    expect(openHandover(longer, VERSION)).toMatchObject({ panic: expect.stringMatching(/after the payload/) })
  })

  it('names bad magic and wrong version in the panic', () => {
    const buf = encode([])
    const magic = buf.slice()
    magic[0] = 0x4d
    expect(openHandover(magic, VERSION)).toMatchObject({ panic: expect.stringMatching(/bad magic/) })
    expect(openHandover(encode([], VERSION + 1), VERSION)).toMatchObject({
      panic: expect.stringMatching(/format version 4, this kernel reads 3/),
    })
  })

  it('turns schema violations inside a valid frame into a panic, never an exception', () => {
    const w = new HandoverWriter(VERSION)
    w.record(7, (b) => b.str('short')) // body ends before the schema does
    expect(decodeHandover(w.finish(), VERSION, decode)).toMatchObject({ panic: expect.stringMatching(/past the end/) })
    const w2 = new HandoverWriter(VERSION)
    w2.record(9, (b) => b.u8(1)) // longer than its schema
    expect(decodeHandover(w2.finish(), VERSION, decode)).toMatchObject({ panic: expect.stringMatching(/unread/) })
    const w3 = new HandoverWriter(VERSION)
    w3.record(7, (b) => b.u16(2).raw(Uint8Array.of(0xff, 0xfe)))
    expect(decodeHandover(w3.finish(), VERSION, decode)).toMatchObject({ panic: expect.stringMatching(/UTF-8/) })
    const w4 = new HandoverWriter(VERSION)
    w4.record(7, (b) => b.str('x').u64(1n).u32(1).u64(2n ** 60n))
    expect(decodeHandover(w4.finish(), VERSION, decode)).toMatchObject({ panic: expect.stringMatching(/safe integer/) })
    // a harness bug in a decoder is not a panic
    expect(() => decodeHandover(encode([]), VERSION, () => { throw new TypeError('bug') })).toThrow(TypeError)
  })

  it('refuses to write values that do not fit', () => {
    const w = new Writer()
    expect(() => w.u8(256)).toThrow()
    expect(() => w.u16(-1)).toThrow()
    expect(() => w.u32(2 ** 32)).toThrow()
    expect(() => w.u64(2n ** 64n)).toThrow()
    expect(() => w.u64n(2 ** 53)).toThrow()
    expect(() => w.str('x'.repeat(65536))).toThrow()
  })
})
