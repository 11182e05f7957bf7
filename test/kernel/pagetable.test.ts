import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { FaultInjector } from '../../src/kernel/failnth.ts'
import { isPanic } from '../../src/kernel/panic.ts'
import { PhysMem } from '../../src/kernel/phys.ts'
import {
  type Leaf,
  type Pfns,
  PageTable,
  splitRun,
  tablePagesNeeded,
  walk,
  WALK_BAD,
} from '../../src/kernel/pagetable.ts'
import { check } from './fc.ts'

const M2 = 512
const G1 = 262144
const seq = (first: number, n: number): number[] => Array.from({ length: n }, (_, i) => first + i)

function newTable(memoryPages = 1 << 22, tablePages = 1 << 14, faults?: FaultInjector): PageTable {
  const pt = PageTable.create(new PhysMem(memoryPages, tablePages, faults))
  if (pt === 'ENOMEM') throw new Error('no root')
  return pt
}

function leavesOf(pt: PageTable): Leaf[] {
  const out: Leaf[] = []
  pt.forEachLeaf((iovaPfn, pfn, order) => out.push({ iovaPfn, pfn, order }))
  return out
}

const orders = (ls: Leaf[]): number[] => ls.map((l) => l.order)

describe('splitRun: which page sizes a map uses', () => {
  it('uses one 2 MiB leaf when IOVA, PA and length are 2 MiB aligned and PA contiguous', () => {
    expect(splitRun(M2, seq(3 * M2, M2))).toEqual([{ iovaPfn: M2, pfn: 3 * M2, order: 9 }])
  })

  it('uses 1 GiB leaves when everything allows it', () => {
    expect(splitRun(G1, { first: 2 * G1, length: 2 * G1 })).toEqual([
      { iovaPfn: G1, pfn: 2 * G1, order: 18 },
      { iovaPfn: 2 * G1, pfn: 3 * G1, order: 18 },
    ])
  })

  it('falls back to 4 KiB when the IOVA, the PA or the contiguity does not allow more', () => {
    expect(orders(splitRun(M2 + 1, seq(M2, M2)))).toEqual(Array(M2).fill(0)) // IOVA unaligned
    expect(orders(splitRun(M2, seq(M2 + 1, M2)))).toEqual(Array(M2).fill(0)) // PA unaligned
    expect(orders(splitRun(M2, seq(M2, M2 - 1)))).toEqual(Array(M2 - 1).fill(0)) // too short
    const holey = seq(M2, M2)
    holey[100] = 5 // not contiguous
    expect(orders(splitRun(M2, holey))).toEqual(Array(M2).fill(0))
  })

  it('mixes sizes chunk by chunk: 4 KiB up to a 2 MiB boundary, then 2 MiB, then 4 KiB', () => {
    const ls = splitRun(M2 - 2, seq(4 * M2 - 2, M2 + 5))
    expect(orders(ls)).toEqual([0, 0, 9, 0, 0, 0])
    expect(ls[2]).toEqual({ iovaPfn: M2, pfn: 4 * M2, order: 9 })
  })

  it('uses 2 MiB pieces inside a 1 GiB region when the PA is only 2 MiB aligned', () => {
    const ls = splitRun(G1, { first: M2, length: G1 })
    expect(ls.length).toBe(512)
    expect(new Set(orders(ls))).toEqual(new Set([9]))
  })
})

describe('tablePagesNeeded', () => {
  it('counts root, L3, L2 and L1 tables per the model formula', () => {
    expect(tablePagesNeeded([])).toBe(1)
    expect(tablePagesNeeded([{ iovaPfn: 0, order: 0 }])).toBe(4)
    expect(tablePagesNeeded([{ iovaPfn: 0, order: 9 }])).toBe(3)
    expect(tablePagesNeeded([{ iovaPfn: 0, order: 18 }])).toBe(2)
    expect(tablePagesNeeded([{ iovaPfn: 0, order: 0 }, { iovaPfn: 1, order: 0 }, { iovaPfn: M2, order: 9 }])).toBe(4)
    expect(tablePagesNeeded([{ iovaPfn: 0, order: 0 }, { iovaPfn: 2 ** 27, order: 0 }])).toBe(7)
  })
})

describe('PageTable map/lookup/unmap', () => {
  it('writes VT-d entries: address in bits 51:12, R|W, large-page bit on superpages', () => {
    const pt = newTable()
    expect(pt.map(M2, seq(3 * M2, M2))).toBeUndefined()
    expect(pt.map(0, [0x12345])).toBeUndefined()
    const t = pt.phys.table(pt.root)!
    expect(t[0] & 3).toBe(3) // root entry 0 points at the L3 table
    const l3 = pt.phys.table(t[1] * 2 ** 20 + (t[0] >>> 12))!
    const l2 = pt.phys.table(l3[1] * 2 ** 20 + (l3[0] >>> 12))!
    expect(l2[2]).toBe(((3 * M2) << 12) | 0x83) // entry 1: 2 MiB leaf
    expect(l2[3]).toBe(0)
    const l1 = pt.phys.table(l2[1] * 2 ** 20 + (l2[0] >>> 12))!
    expect(l1[0]).toBe(((0x12345 << 12) | 3) >>> 0)
    expect(l1[1]).toBe(0)
  })

  it('stores PFNs above 2^20 exactly (the high half of the entry)', () => {
    const pt = newTable()
    const big = 2 ** 39 + 12345
    expect(pt.map(7, [big])).toBeUndefined()
    expect(pt.lookup(7)).toBe(big)
  })

  it('translates every page of a mixed run, and faults outside it', () => {
    const pt = newTable()
    const pfns = seq(4 * M2 - 2, M2 + 5)
    expect(pt.map(M2 - 2, pfns)).toBeUndefined()
    for (let i = 0; i < pfns.length; i++) expect(pt.lookup(M2 - 2 + i)).toBe(pfns[i])
    expect(pt.lookup(M2 - 3)).toBe(-1)
    expect(pt.lookup(M2 - 2 + pfns.length)).toBe(-1)
    const o = { order: -1 }
    expect(pt.lookupLeaf(M2 + 17, o)).toBe(4 * M2 + 17)
    expect(o.order).toBe(9)
  })

  it('frees tables that become empty, keeping the root', () => {
    const pt = newTable()
    pt.map(2 ** 27 + 5, [1, 2, 3])
    expect(pt.tableCount).toBe(4)
    expect(pt.unmap(2 ** 27 + 5, 3)).toBe(3)
    expect(pt.tableCount).toBe(1)
    expect(pt.phys.used('table')).toBe(1)
    expect(pt.tablePages()).toEqual([pt.root])
  })

  it('keeps a table while another leaf still uses it', () => {
    const pt = newTable()
    pt.map(0, [1])
    pt.map(1, [2])
    pt.unmap(0, 1)
    expect(pt.tableCount).toBe(4)
    expect(pt.lookup(1)).toBe(2)
  })

  it('refuses to map over a live mapping (EADDRINUSE) and changes nothing', () => {
    const pt = newTable()
    pt.map(M2, seq(M2, M2)) // one 2 MiB leaf
    const before = leavesOf(pt)
    expect(pt.map(M2 - 4, seq(100, 8))).toBe('EADDRINUSE') // 4 KiB pieces run into the superpage
    expect(pt.map(2 * M2 - 1, [9, 10])).toBe('EADDRINUSE')
    expect(pt.map(0, seq(0, 2 * M2))).toBe('EADDRINUSE') // a 2 MiB leaf over the live one
    expect(leavesOf(pt)).toEqual(before)
    expect(pt.tableCount).toBe(tablePagesNeeded(before))
    expect(pt.phys.used('table')).toBe(pt.tableCount)
  })

  it('throws before touching anything when an unmap would split a superpage', () => {
    const pt = newTable()
    pt.map(M2, seq(M2, M2))
    expect(() => pt.unmap(M2, 4)).toThrow(/split/)
    expect(() => pt.unmap(M2 + 4, M2)).toThrow(/split/)
    expect(pt.lookup(M2)).toBe(M2)
    expect(pt.unmap(0, 4 * M2)).toBe(M2)
    expect(pt.tableCount).toBe(1)
  })

  it('maps and unmaps 4 GiB of 1 GiB pieces with a handful of table pages', () => {
    const pt = newTable()
    expect(pt.map(G1, { first: G1, length: 4 * G1 })).toBeUndefined()
    expect(pt.tableCount).toBe(2)
    expect(pt.lookup(3 * G1 + 12345)).toBe(3 * G1 + 12345)
    expect(pt.unmap(G1, 4 * G1)).toBe(4 * G1)
    expect(pt.tableCount).toBe(1)
  })

  it('destroy frees every table page', () => {
    const pt = newTable()
    pt.map(3, seq(10, 600))
    pt.map(2 ** 30, seq(2 ** 20, 2 * M2))
    pt.destroy()
    expect(pt.phys.used('table')).toBe(0)
    expect(() => pt.lookup(3)).toThrow(/destroy/)
  })
})

describe('PageTable failure unwinding', () => {
  it('unwinds a map that runs the table zone dry', () => {
    const pt = newTable(1 << 20, 3)
    expect(pt.map(0, [1])).toBe('ENOMEM') // needs 3 tables under the root, 2 available
    expect(pt.tableCount).toBe(1)
    expect(pt.phys.used('table')).toBe(1)
    expect(pt.lookup(0)).toBe(-1)
    expect(pt.map(0, seq(0, M2))).toBeUndefined() // a 2 MiB leaf needs only 2
  })

  it('leaves no trace at any fail-nth point of a map, and succeeds past the last one', () => {
    const f = new FaultInjector()
    const pt = newTable(1 << 22, 1 << 12, f)
    pt.map(G1 - 3, seq(77, 5)) // some tables already exist
    const before = leavesOf(pt)
    const tables = pt.tablePages().sort()
    // 7 x 4 KiB, 2 x 2 MiB, 2 x 1 GiB, 13 x 4 KiB: three new tables (an L1 under an existing
    // L2, then an L2 and an L1 for the last chunk, so failing the third leaves an empty L2)
    const iova = 2 * G1 - 2 * M2 - 7
    const pfns: Pfns = { first: 5 * G1 - 2 * M2 - 7, length: 2 * G1 + 2 * M2 + 20 }
    expect(orders(splitRun(iova, pfns))).toEqual([...Array(7).fill(0), 9, 9, 18, 18, ...Array(13).fill(0)])
    let n = 1
    for (; n < 100; n++) {
      f.arm(n)
      const r = pt.map(iova, pfns)
      if (!f.reached()) {
        expect(r).toBeUndefined()
        break
      }
      expect(r).toBe('ENOMEM')
      expect(leavesOf(pt)).toEqual(before)
      expect(pt.tablePages().sort()).toEqual(tables)
      expect(pt.phys.used('table')).toBe(tables.length)
    }
    expect(n).toBe(4)
    expect(pt.tableCount).toBe(tablePagesNeeded([...before, ...splitRun(iova, pfns)]))
    expect(leavesOf(pt)).toEqual([...before, ...splitRun(iova, pfns)])
  })

  it('maps a long unaligned run in 4 KiB leaves and counts its tables', () => {
    const pt = newTable()
    const pfns: Pfns = { first: 1, length: G1 + 5 }
    expect(pt.map(M2, pfns)).toBeUndefined()
    expect(pt.tableCount).toBe(tablePagesNeeded(splitRun(M2, pfns)))
    expect(pt.tableCount).toBe(1 + 1 + 2 + 513)
    expect(pt.lookup(M2 + G1 + 4)).toBe(G1 + 5)
    expect(pt.unmap(M2, G1 + 5)).toBe(G1 + 5)
    expect(pt.tableCount).toBe(1)
  })
})

// A model of one domain: live areas, each mapped by one map call.
interface Area {
  iova: number
  pfns: Pfns
}

const interestingIova = fc.constantFrom(0, 1, 509, M2, 3 * M2, G1 - M2, G1 - 3, G1, 3 * G1 + M2, 2 ** 27 - 2, 2 ** 27)
const alignedIova = fc.constantFrom(0, M2, 3 * M2, G1 - M2, G1, 3 * G1 + M2, 2 ** 27 - M2, 2 ** 27)
// small runs anywhere (4 KiB and 2 MiB pieces); big runs 2 MiB aligned (2 MiB and 1 GiB
// pieces), so no step writes hundreds of thousands of 4 KiB leaves
const smallMap = fc.record({
  kind: fc.constant('map' as const),
  base: interestingIova,
  off: fc.nat(1100),
  run: fc.record({ n: fc.integer({ min: 1, max: 1100 }), contiguous: fc.boolean(), pa: interestingIova }),
})
const bigMap = fc.record({
  kind: fc.constant('map' as const),
  base: alignedIova,
  off: fc.nat(3).map((k) => k * M2),
  run: fc.record({ n: fc.constantFrom(G1, G1 + M2, 2 * G1 - M2), contiguous: fc.constant(true), pa: alignedIova }),
})
const opArb = fc.oneof(
  { weight: 3, arbitrary: smallMap },
  { weight: 1, arbitrary: bigMap },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('unmap' as const), pick: fc.nat() }) },
)

function areaPfns(run: { n: number; contiguous: boolean; pa: number }): Pfns {
  if (run.contiguous) return run.n > 4096 ? { first: run.pa, length: run.n } : seq(run.pa, run.n)
  return Array.from({ length: run.n }, (_, i) => run.pa + 2 * i)
}

const pfnAt = (p: Pfns, i: number): number => ('first' in p ? p.first + i : p[i])

function overlaps(areas: Area[], iova: number, n: number): boolean {
  return areas.some((a) => a.iova < iova + n && iova < a.iova + a.pfns.length)
}

function expectMatches(pt: PageTable, areas: Area[]): void {
  const want = areas
    .slice()
    .sort((a, b) => a.iova - b.iova)
    .flatMap((a) => splitRun(a.iova, a.pfns))
  expect(leavesOf(pt)).toEqual(want)
  expect(pt.tableCount).toBe(tablePagesNeeded(want))
  expect(pt.phys.used('table')).toBe(pt.tableCount)
  expect(pt.tablePages().length).toBe(pt.tableCount)
  for (const a of areas) {
    const n = a.pfns.length
    for (const i of [0, n - 1, n >> 1, Math.min(n - 1, 513)]) expect(pt.lookup(a.iova + i)).toBe(pfnAt(a.pfns, i))
    if (!overlaps(areas, a.iova + n, 1)) expect(pt.lookup(a.iova + n)).toBe(-1)
  }
}

describe('PageTable against a model of areas (fast-check)', () => {
  it('holds exactly tablePagesNeeded pages and the right leaves after any map/unmap sequence', () => {
    check(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 25 }), (ops) => {
        const pt = newTable()
        const areas: Area[] = []
        for (const op of ops) {
          if (op.kind === 'map') {
            const iova = op.base + op.off
            const pfns = areaPfns(op.run)
            const r = pt.map(iova, pfns)
            if (overlaps(areas, iova, pfns.length)) expect(r).toBe('EADDRINUSE')
            else {
              expect(r).toBeUndefined()
              areas.push({ iova, pfns })
            }
          } else if (areas.length > 0) {
            const [a] = areas.splice(op.pick % areas.length, 1)
            expect(pt.unmap(a.iova, a.pfns.length)).toBe(a.pfns.length)
          }
          expectMatches(pt, areas)
        }
        pt.destroy()
        expect(pt.phys.used('table')).toBe(0)
      }),
      150,
    )
  })

  it('adopt() after a simulated kexec reproduces every leaf and lookup', () => {
    check(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 12 }), (ops) => {
        const phys = new PhysMem(1 << 22, 1 << 14)
        const pt = PageTable.create(phys) as PageTable
        const other = PageTable.create(phys) as PageTable // not preserved: must not survive
        other.map(5, [5, 6, 7])
        const areas: Area[] = []
        for (const op of ops) {
          if (op.kind !== 'map') continue
          const iova = op.base + op.off
          const pfns = areaPfns(op.run)
          if (pt.map(iova, pfns) === undefined) areas.push({ iova, pfns })
        }
        for (const pfn of pt.tablePages()) phys.preserve(pfn)
        const next = phys.kexec()
        expect(next.used('table')).toBe(pt.tableCount)
        const back = PageTable.adopt(next, pt.root)
        if (isPanic(back)) throw new Error(back.panic)
        expectMatches(back, areas)
        expect(PageTable.adopt(next, pt.root)).toMatchObject({ panic: expect.stringMatching(/not a preserved/) })
        // the adopted table is a working table: unmapping everything leaves the root
        for (const a of areas) back.unmap(a.iova, a.pfns.length)
        expect(back.tableCount).toBe(1)
        expect(next.used('table')).toBe(1)
      }),
      60,
    )
  })
})

describe('PageTable.adopt refuses what it cannot trust', () => {
  function preservedTable(): { phys: PhysMem; pt: PageTable } {
    const phys = new PhysMem(1 << 20, 64)
    const pt = PageTable.create(phys) as PageTable
    pt.map(0, seq(10, 3))
    pt.map(M2, seq(M2, M2))
    return { phys, pt }
  }

  it('panics when a child table page was not preserved', () => {
    const { phys, pt } = preservedTable()
    phys.preserve(pt.root)
    const r = PageTable.adopt(phys.kexec(), pt.root)
    expect(isPanic(r) && r.panic).toMatch(/level-3 table page \d+ is not a preserved table page/)
  })

  it('panics on a table entry pointing into general memory', () => {
    const { phys, pt } = preservedTable()
    for (const p of pt.tablePages()) phys.preserve(p)
    phys.table(pt.root)![0] = (10 << 12) | 3
    phys.table(pt.root)![1] = 0
    expect(isPanic(PageTable.adopt(phys.kexec(), pt.root))).toBe(true)
  })

  it('panics on a misaligned superpage or a level-4 large page', () => {
    const { phys, pt } = preservedTable()
    for (const p of pt.tablePages()) phys.preserve(p)
    const root = phys.table(pt.root)!
    const l3 = phys.table(root[1] * 2 ** 20 + (root[0] >>> 12))!
    const l2 = phys.table(l3[1] * 2 ** 20 + (l3[0] >>> 12))!
    l2[2] = ((M2 + 1) << 12) | 0x83
    const r = PageTable.adopt(phys.kexec(), pt.root)
    expect(isPanic(r) && r.panic).toMatch(/misaligned/)

    const b = preservedTable()
    for (const p of b.pt.tablePages()) b.phys.preserve(p)
    b.phys.table(b.pt.root)![0] |= 0x80
    expect(walk(b.phys, b.pt.root, 0)).toBe(WALK_BAD)
    const r2 = PageTable.adopt(b.phys.kexec(), b.pt.root)
    expect(isPanic(r2) && r2.panic).toMatch(/large-page bit/)
  })

  it('the hardware walk reports a pointer to a freed table as WALK_BAD, not a translation', () => {
    const { phys, pt } = preservedTable()
    phys.preserve(pt.root) // children lost over kexec
    const next = phys.kexec()
    expect(walk(next, pt.root, 0)).toBe(WALK_BAD)
  })
})
