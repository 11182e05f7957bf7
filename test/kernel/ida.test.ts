import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { FaultInjector } from '../../src/kernel/failnth.ts'
import { Ida } from '../../src/kernel/ida.ts'
import { check } from './fc.ts'

describe('Ida (domain_ida)', () => {
  it('starts at DID 2 and hands out the lowest free id', () => {
    const ida = new Ida(8)
    expect([ida.alloc(), ida.alloc(), ida.alloc()]).toEqual([2, 3, 4])
    expect(ida.free(3)).toBe(true)
    expect(ida.alloc()).toBe(3)
    expect(ida.ids()).toEqual([2, 3, 4])
  })

  it('runs out with ENOSPC after size - 2 ids', () => {
    const ida = new Ida(5)
    expect([ida.alloc(), ida.alloc(), ida.alloc(), ida.alloc()]).toEqual([2, 3, 4, 'ENOSPC'])
    expect(ida.count).toBe(3)
  })

  it('reserves a given id (restored DIDs) and skips it later', () => {
    const ida = new Ida(8)
    expect(ida.reserve(2)).toBeUndefined()
    expect(ida.reserve(2)).toBe('ENOSPC')
    expect(ida.reserve(0)).toBe('EINVAL')
    expect(ida.reserve(1)).toBe('EINVAL')
    expect(ida.reserve(8)).toBe('EINVAL')
    expect(ida.reserve(4)).toBeUndefined()
    expect([ida.alloc(), ida.alloc()]).toEqual([3, 5])
    expect(ida.has(4)).toBe(true)
    expect(ida.has(6)).toBe(false)
  })

  it('never owns DIDs 0 and 1, and refuses to free what it did not hand out', () => {
    const ida = new Ida(4)
    expect(ida.has(0) || ida.has(1)).toBe(false)
    expect(ida.free(0)).toBe(false)
    expect(ida.free(1)).toBe(false)
    expect(ida.free(2)).toBe(false)
  })

  it('fails with ENOMEM at its fail-nth point and changes nothing', () => {
    const f = new FaultInjector()
    const ida = new Ida(8, f)
    f.arm(1)
    expect(ida.alloc()).toBe('ENOMEM')
    expect(ida.count).toBe(0)
    f.arm(1)
    expect(ida.reserve(5)).toBe('ENOMEM')
    expect(ida.has(5)).toBe(false)
    expect(ida.alloc()).toBe(2)
  })

  it('rejects a DID space without room for a DID', () => {
    expect(() => new Ida(2)).toThrow()
    expect(() => new Ida(65537)).toThrow()
  })

  it('behaves like a naive set (fast-check)', () => {
    check(
      fc.property(
        fc.integer({ min: 3, max: 70 }),
        fc.array(fc.tuple(fc.constantFrom('alloc', 'free', 'reserve'), fc.nat(80)), { maxLength: 120 }),
        (size, ops) => {
          const ida = new Ida(size)
          const used = new Set<number>()
          for (const [op, n] of ops) {
            if (op === 'alloc') {
              let want: number | 'ENOSPC' = 'ENOSPC'
              for (let i = 2; i < size; i++)
                if (!used.has(i)) {
                  want = i
                  break
                }
              expect(ida.alloc()).toBe(want)
              if (typeof want === 'number') used.add(want)
            } else if (op === 'free') {
              expect(ida.free(n)).toBe(used.delete(n))
            } else {
              const want = n < 2 || n >= size ? 'EINVAL' : used.has(n) ? 'ENOSPC' : undefined
              expect(ida.reserve(n)).toBe(want)
              if (want === undefined) used.add(n)
            }
            expect(ida.ids()).toEqual([...used].sort((a, b) => a - b))
          }
        },
      ),
    )
  })
})
