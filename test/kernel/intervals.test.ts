import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { IntervalTree } from '../../src/kernel/intervals.ts'
import { check } from './fc.ts'

interface Iv {
  start: number
  end: number
  value: string
}

const meets = (a: { start: number; end: number }, s: number, e: number): boolean => a.start < e && s < a.end

function naiveHole(ivs: Iv[], length: number, align: number, lo: number, hi: number): number {
  for (let s = Math.ceil(lo / align) * align; s + length <= hi; s += align)
    if (!ivs.some((iv) => meets(iv, s, s + length))) return s
  return -1
}

describe('IntervalTree', () => {
  it('reports overlap on insert and leaves the tree unchanged', () => {
    const t = new IntervalTree<string>()
    expect(t.insert(10, 5, 'a')).toBe(true)
    expect(t.insert(14, 1, 'b')).toBe(false)
    expect(t.insert(5, 6, 'b')).toBe(false)
    expect(t.insert(10, 5, 'b')).toBe(false)
    expect(t.insert(0, 100, 'b')).toBe(false)
    expect(t.insert(15, 1, 'c')).toBe(true)
    expect(t.insert(9, 1, 'd')).toBe(true)
    expect(t.entries().map((i) => i.value)).toEqual(['d', 'a', 'c'])
    expect(t.size).toBe(3)
  })

  it('finds, lists intersecting areas and removes by start', () => {
    const t = new IntervalTree<number>()
    for (let i = 0; i < 10; i++) t.insert(i * 10, 5, i)
    expect(t.find(23)?.value).toBe(2)
    expect(t.find(25)).toBeUndefined()
    expect(t.intersecting(24, 13).map((i) => i.value)).toEqual([2, 3])
    expect(t.intersecting(5, 5)).toEqual([])
    expect(t.get(30)?.value).toBe(3)
    expect(t.remove(31)).toBeUndefined()
    expect(t.remove(30)).toBe(3)
    expect(t.get(30)).toBeUndefined()
    expect(t.size).toBe(9)
  })

  it('finds the lowest aligned hole, never below lo (auto IOVA never returns 0)', () => {
    const t = new IntervalTree<string>()
    expect(t.findHole(4, 1, 1, 100)).toBe(1)
    expect(t.findHole(4, 4, 1, 100)).toBe(4)
    t.insert(4, 4, 'a')
    t.insert(12, 20, 'b')
    expect(t.findHole(4, 4, 1, 100)).toBe(8)
    expect(t.findHole(5, 1, 1, 100)).toBe(32)
    expect(t.findHole(3, 1, 1, 100)).toBe(1)
    expect(t.findHole(3, 2, 1, 100)).toBe(8)
    expect(t.findHole(70, 1, 1, 100)).toBe(-1)
    expect(t.findHole(68, 1, 1, 100)).toBe(32)
    expect(t.findHole(4, 64, 1, 100)).toBe(64)
    expect(t.findHole(4, 64, 1, 67)).toBe(-1)
  })

  it('is exact with page numbers near 2^52', () => {
    const t = new IntervalTree<string>()
    const top = 2 ** 52
    t.insert(top - 10, 5, 'a')
    expect(t.findHole(8, 1, top - 20, top)).toBe(top - 20)
    expect(t.findHole(8, 8, top - 12, top)).toBe(-1)
    expect(t.findHole(4, 4, top - 12, top)).toBe(top - 4)
    expect(t.find(top - 6)?.value).toBe('a')
  })

  it('handles many areas (each insert/findHole logarithmic)', () => {
    const t = new IntervalTree<number>()
    for (let i = 0; i < 100_000; i++) t.insert(1 + i * 2, 1, i) // holes of 1 everywhere
    expect(t.findHole(2, 1, 1, 2 ** 40)).toBe(200_000)
    expect(t.findHole(1, 2, 1, 2 ** 40)).toBe(2)
    expect(t.remove(1001)).toBe(500)
    expect(t.findHole(3, 1, 1, 2 ** 40)).toBe(1000)
  })

  it('agrees with a naive list of intervals (fast-check)', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('ins' as const), s: fc.nat(1500), n: fc.integer({ min: 1, max: 120 }) }),
      fc.record({ k: fc.constant('rm' as const), pick: fc.nat() }),
      fc.record({ k: fc.constant('q' as const), s: fc.nat(1600), n: fc.integer({ min: 1, max: 300 }) }),
      fc.record({
        k: fc.constant('hole' as const),
        n: fc.integer({ min: 1, max: 200 }),
        align: fc.constantFrom(1, 2, 4, 16, 64, 256),
        lo: fc.nat(300),
        hi: fc.integer({ min: 0, max: 2000 }),
      }),
    )
    check(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const t = new IntervalTree<string>()
        let list: Iv[] = []
        let serial = 0
        for (const o of ops) {
          if (o.k === 'ins') {
            const v = `v${serial++}`
            const free = !list.some((iv) => meets(iv, o.s, o.s + o.n))
            expect(t.insert(o.s, o.n, v)).toBe(free)
            if (free) list.push({ start: o.s, end: o.s + o.n, value: v })
          } else if (o.k === 'rm') {
            if (list.length === 0) continue
            const [iv] = list.splice(o.pick % list.length, 1)
            expect(t.remove(iv.start)).toBe(iv.value)
          } else if (o.k === 'q') {
            const want = list.filter((iv) => meets(iv, o.s, o.s + o.n)).sort((a, b) => a.start - b.start)
            expect(t.intersecting(o.s, o.n).map((i) => i.value)).toEqual(want.map((i) => i.value))
            expect(t.find(o.s)?.value).toBe(list.find((iv) => meets(iv, o.s, o.s + 1))?.value)
          } else {
            expect(t.findHole(o.n, o.align, o.lo, o.hi)).toBe(naiveHole(list, o.n, o.align, o.lo, o.hi))
          }
          expect(t.size).toBe(list.length)
        }
        const sorted = list.slice().sort((a, b) => a.start - b.start)
        expect(t.entries().map((i) => [i.start, i.end, i.value])).toEqual(sorted.map((i) => [i.start, i.end, i.value]))
      }),
      300,
    )
  })

  it('rejects empty or unsafe intervals', () => {
    const t = new IntervalTree<string>()
    expect(() => t.insert(0, 0, 'a')).toThrow()
    expect(() => t.insert(2 ** 53, 1, 'a')).toThrow()
    expect(() => t.findHole(1, 0, 0, 10)).toThrow()
  })
})
