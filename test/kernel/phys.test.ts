import { describe, expect, it } from 'vitest'
import { FaultInjector } from '../../src/kernel/failnth.ts'
import { PhysMem } from '../../src/kernel/phys.ts'

describe('PhysMem zones', () => {
  it('hands out general memory lowest PFN first, reusing the lowest freed one', () => {
    const m = new PhysMem(8, 4)
    expect([m.alloc(), m.alloc(), m.alloc(), m.alloc()]).toEqual([0, 1, 2, 3])
    m.free(1)
    m.free(3)
    expect(m.alloc()).toBe(1)
    expect(m.allocMany(3)).toEqual([3, 4, 5])
    expect(m.used('memory')).toBe(6)
  })

  it('puts table pages right after general memory, zeroed, lowest first', () => {
    const m = new PhysMem(8, 4)
    const a = m.allocTable()
    const b = m.allocTable()
    expect([a, b]).toEqual([8, 9])
    expect(m.zoneOf(8)).toBe('table')
    expect(m.zoneOf(7)).toBe('memory')
    expect(m.zoneOf(12)).toBeUndefined()
    const t = m.table(8)!
    expect(t.length).toBe(1024)
    t[5] = 0xdead
    m.free(8)
    expect(m.table(8)).toBeUndefined()
    expect(m.allocTable()).toBe(8)
    expect(m.table(8)![5]).toBe(0)
    expect(m.table(3)).toBeUndefined()
  })

  // page contents are recycled (phys.ts pagePool): a freed page and what a kexec leaves
  // behind come back zeroed, never while some PFN still holds them
  it('recycles page contents: zeroed when handed out again, never two PFNs on one page', () => {
    const m = new PhysMem(8, 8, undefined, 4)
    const kept = m.allocTable() as number
    const dropped = m.allocTable() as number
    const ctx = m.allocIommu() as number
    m.table(kept)![7] = 0xcafe
    m.table(dropped)![9] = 0xbad
    m.iommuPage(ctx)![3] = 0xbeef
    m.preserve(kept)
    m.preserve(ctx)
    const n = m.kexec()
    // the preserved pages came over with their contents; the dropped one is gone with the old boot
    expect(m.table(dropped)).toBeUndefined()
    expect(n.table(dropped)).toBeUndefined()
    expect(n.table(kept)![7]).toBe(0xcafe)
    expect(n.iommuPage(ctx)![3]).toBe(0xbeef)
    // every new page is zeroed and distinct from every page in use
    const fresh = [n.allocTable(), n.allocTable(), n.allocTable(), n.allocIommu(), n.allocIommu()] as number[]
    const pages = [kept, ...fresh].map((pfn) => n.table(pfn) ?? n.iommuPage(pfn)!)
    pages.push(n.iommuPage(ctx)!)
    for (const pfn of fresh) expect((n.table(pfn) ?? n.iommuPage(pfn))!.every((x) => x === 0)).toBe(true)
    expect(new Set(pages).size).toBe(pages.length)
    for (const pfn of fresh) (n.table(pfn) ?? n.iommuPage(pfn))!.fill(0xffffffff)
    expect(n.table(kept)![7]).toBe(0xcafe)
    expect(n.iommuPage(ctx)![3]).toBe(0xbeef)
  })

  it('returns ENOMEM when a zone is full, all or nothing for a batch', () => {
    const m = new PhysMem(4, 1)
    expect(m.allocMany(5)).toBe('ENOMEM')
    expect(m.used('memory')).toBe(0)
    expect(m.allocMany(4)).toEqual([0, 1, 2, 3])
    expect(m.alloc()).toBe('ENOMEM')
    expect(m.allocTable()).toBe(4)
    expect(m.allocTable()).toBe('ENOMEM')
  })

  it('throws on double free', () => {
    const m = new PhysMem(4, 4)
    const p = m.alloc() as number
    m.free(p)
    expect(() => m.free(p)).toThrow(/double free/)
    expect(() => m.free(4)).toThrow(/double free/)
    expect(() => m.free(99)).toThrow(/outside/)
  })

  it('fails the n-th allocation point with ENOMEM (fail-nth)', () => {
    const f = new FaultInjector()
    const m = new PhysMem(16, 16, f)
    f.arm(2)
    expect(m.alloc()).toBe(0)
    expect(m.allocTable()).toBe('ENOMEM')
    expect(f.reached()).toBe(true)
    expect(m.allocTable()).toBe(16)
  })

  it('handles a million pages quickly enough to be a platform', () => {
    const m = new PhysMem(1 << 20, 1 << 20)
    const pages = m.allocMany(1 << 20) as number[]
    expect(pages[(1 << 20) - 1]).toBe((1 << 20) - 1)
    m.free(777_777)
    expect(m.alloc()).toBe(777_777)
  })
})

describe('PhysMem KHO', () => {
  it('carries exactly the preserved pages over kexec, with table contents', () => {
    const m = new PhysMem(16, 8)
    const data = m.allocMany(4) as number[]
    const t1 = m.allocTable() as number
    const t2 = m.allocTable() as number
    m.table(t1)![0] = 0x1003
    m.table(t2)![0] = 0x2003
    m.preserve(data[1])
    m.preserve(t1)
    expect(m.isPreserved(t1)).toBe(true)
    expect(m.preservedPfns()).toEqual([1, t1])
    const n = m.kexec()
    expect(() => m.alloc()).toThrow(/kexec/)
    expect(n.used('memory')).toBe(1)
    expect(n.used('table')).toBe(1)
    expect(n.isAllocated(1)).toBe(true)
    expect(n.isAllocated(0)).toBe(false)
    expect(n.table(t1)![0]).toBe(0x1003)
    expect(n.table(t2)).toBeUndefined()
    expect(n.isPreserved(t1)).toBe(false)
    expect(n.incomingPfns()).toEqual([1, t1])
    // the new kernel allocates around the incoming pages
    expect(n.alloc()).toBe(0)
    expect(n.alloc()).toBe(2)
    expect(n.allocTable()).toBe(t2)
  })

  it('lets an incoming page be restored once', () => {
    const m = new PhysMem(4, 4)
    const t = m.allocTable() as number
    m.preserve(t)
    const n = m.kexec()
    expect(n.restore(t)).toBe(true)
    expect(n.restore(t)).toBe(false)
    expect(n.isAllocated(t)).toBe(true)
    expect(n.restore(0)).toBe(false)
  })

  it('builds a boot from a handover list, copying contents on handover()', () => {
    const m = new PhysMem(4, 4)
    const t = m.allocTable() as number
    m.table(t)![7] = 42
    m.preserve(t)
    const h = m.handover()
    m.table(t)![7] = 43
    const n = PhysMem.boot(h)
    expect(n.table(t)![7]).toBe(42)
    expect(() => PhysMem.boot({ ...h, preserved: [99] })).toThrow(/outside/)
  })

  it('refuses to preserve a free page; unpreserve drops the mark', () => {
    const m = new PhysMem(4, 4)
    expect(() => m.preserve(0)).toThrow(/unallocated/)
    const p = m.alloc() as number
    m.preserve(p)
    m.preserve(p)
    expect(m.preservedCount).toBe(1)
    m.unpreserve(p)
    expect(m.preservedCount).toBe(0)
    expect(m.kexec().used('memory')).toBe(0)
  })
})
