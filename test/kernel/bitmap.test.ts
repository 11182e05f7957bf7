import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { FreeBitmap } from '../../src/kernel/bitmap.ts'
import { check } from './fc.ts'

describe('FreeBitmap', () => {
  it('finds the lowest free index like a linear scan', () => {
    check(
      fc.property(
        fc.integer({ min: 1, max: 40000 }),
        fc.array(fc.tuple(fc.boolean(), fc.nat()), { maxLength: 300 }),
        (size, ops) => {
          const b = new FreeBitmap(size)
          const used = new Set<number>()
          for (const [take, r] of ops) {
            if (take) {
              const i = b.first()
              let naive = -1
              for (let k = 0; k < size; k++)
                if (!used.has(k)) {
                  naive = k
                  break
                }
              expect(i).toBe(naive)
              if (i >= 0) {
                b.setUsed(i)
                used.add(i)
              }
            } else if (used.size > 0) {
              const victim = [...used][r % used.size]
              expect(b.setFree(victim)).toBe(true)
              used.delete(victim)
            }
            expect(b.free).toBe(size - used.size)
          }
        },
      ),
      100,
    )
  })

  it('has exactly size free bits, none beyond', () => {
    for (const size of [0, 1, 31, 32, 33, 1024, 1025, 32 * 32 * 32 + 7]) {
      const b = new FreeBitmap(size)
      let n = 0
      for (let i = b.first(); i >= 0; i = b.first()) {
        expect(i).toBe(n)
        b.setUsed(i)
        n++
      }
      expect(n).toBe(size)
      expect(b.free).toBe(0)
    }
  })

  it('refuses double transitions', () => {
    const b = new FreeBitmap(64)
    expect(b.setUsed(5)).toBe(true)
    expect(b.setUsed(5)).toBe(false)
    expect(b.setFree(5)).toBe(true)
    expect(b.setFree(5)).toBe(false)
  })
})
