// The probes a comparison translates are the union of the model's live probes and the
// kernel's (src/check/conformance.ts mergeProbes), merged in sortProbes order. When the others
// add nothing the union is the first list itself (the caches keyed on a probe list's identity
// find it again): checked here against sortProbes of the concatenation on random lists.

import { describe, expect, it } from 'vitest'
import { sortProbes } from '../../models/observe.ts'
import type { Probe } from '../../models/observation.ts'
import { mergeProbes } from '../../src/check/conformance.ts'

describe('mergeProbes', () => {
  it('is sortProbes of the concatenation, and the first list itself when the others add nothing (random lists)', () => {
    let seed = 99
    // (the high bits: the low bits of this generator have short periods)
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) % n
    const pool: Probe[] = []
    for (const bdf of ['0000:00:01.0', '0000:00:02.0']) for (const pasid of [0, 1]) for (let p = 0; p < 4; p++) pool.push({ bdf, pasid, iova: BigInt(p) * 0x1000n })
    const draw = (n: number): Probe[] => sortProbes(Array.from({ length: n }, () => pool[rnd(pool.length)]))
    let same = 0
    let merged = 0
    for (let i = 0; i < 2000; i++) {
      const a = draw(rnd(8))
      // half the time the others are drawn from a: they add nothing
      const sub = (): Probe[] => (a.length === 0 ? [] : sortProbes(Array.from({ length: rnd(a.length + 1) }, () => a[rnd(a.length)])))
      const b = rnd(2) ? sub() : draw(rnd(5))
      const c = rnd(2) ? sub() : draw(rnd(3))
      const out = mergeProbes(a, b, c)
      expect(out).toEqual(sortProbes([...a, ...b, ...c]))
      const adds = sortProbes([...a, ...b, ...c]).length !== a.length
      if (!adds) {
        expect(out).toBe(a)
        same++
      } else merged++
    }
    // both cases were drawn often
    expect(same).toBeGreaterThan(200)
    expect(merged).toBeGreaterThan(200)
  })
})
