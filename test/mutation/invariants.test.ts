// The kernel implementation's invariant sweep (src/kernel/index.ts Kernel.invariants and its
// incremental form touchedInvariants) must be able to fail: each check below corrupts the
// kernel's state the way a kernel bug would, behind the sweep's back, and requires the
// section that owns the rule to report it, in the full sweep and in the incremental one.
// Written for the shard 0/32 survivors in index.ts (MUTATION.md): the section dispatch (:374),
// the signature comparison (:415), the messages of a leaked table page (:450) and of a stale
// IOTLB entry (:512), the present-entry check (:489); and the record of a bad walk (vtd.ts:111).

import { describe, expect, it } from 'vitest'
import { resolveDesign } from '../../models/design.ts'
import { Kernel } from '../../src/kernel/index.ts'
import { ONE_UNIT_PLATFORM } from '../kernel/helpers.ts'
import { A, ATTACHED } from './helpers.ts'

/** Device A attached and one DMA done (the IOTLB holds its translation); the sweep is clean. */
function attached(): Kernel {
  const k = new Kernel(ONE_UNIT_PLATFORM, resolveDesign({}))
  for (const op of ATTACHED) expect(k.apply(op, []).result.ok, op.op).toBe(true)
  expect(k.apply({ op: 'DMA', args: { bdf: A, iova: 0x100000n } }, []).result).toEqual({ ok: true, out: 0n })
  expect(k.invariants()).toEqual([])
  expect(k.touchedInvariants()).toEqual([])
  return k
}

/** Both sweeps after the corruption; they must agree. */
function sweeps(k: Kernel): string[] {
  const touched = k.touchedInvariants()
  expect(k.invariants()).toEqual(touched)
  return touched
}

describe('the invariant sweep reports a corrupted kernel, section by section', () => {
  it('tables: a table page allocated but owned by no domain', () => {
    const k = attached()
    expect(k.internals.m.phys.allocTable()).toBeTypeOf('number')
    expect(sweeps(k)).toEqual(['isolation: 1 table page(s) allocated but owned by no domain'])
  })

  it('dids: a DID allocated in domain_ida that no entry uses (domain_detach_iommu forgot it)', () => {
    const k = attached()
    expect(k.internals.units[0].ida.alloc()).toBe(3)
    expect(sweeps(k)).toEqual(['recoverability: dmar0: DID 3 is allocated in domain_ida but no entry uses it (leaked)'])
  })

  it('iotlb: an entry tagged with a DID no live entry uses', () => {
    const k = attached()
    k.internals.m.iotlb.fill(0, 7, 0, 0x200, 0, 0)
    expect(sweeps(k)).toEqual(['isolation: IOTLB entry dmar0 DID 7 pasid 0 iova 0x200000 -> 0x0 is tagged with a DID no live entry uses'])
  })

  it('entries: a present context entry the kernel did not program', () => {
    const k = attached()
    const dev = k.internals.deviceByBdf.get(A)!
    const { did, domain } = dev.rid!
    dev.rid = undefined
    expect(sweeps(k)).toContainEqual(`dma-safety: ${A} pasid 0 has a present entry (DID ${did}, table ${domain.pt.root}) the kernel did not program`)
  })

  // kills src/kernel/vtd.ts:111 (a walk that met something that is not a table page was never
  // recorded): the context entry of A is made to point at memory page 0 (a memfd page), as a
  // stray write would; the next DMA walks into it, faults, and the sweep says so
  it('dma-safety: a hardware walk into a page that is not a page-table page', () => {
    const k = attached()
    const { phys, rtaddr } = k.internals.m
    const root = phys.iommuPage(rtaddr[0])!
    const ct = phys.iommuPage(root[5] * 0x100000 + (root[4] >>> 12))! // bus 1, devfn 0-127
    ct[0] = (0 << 12) | 1 // P, second-level root = PFN 0
    ct[1] = 0
    expect(k.apply({ op: 'DMA', args: { bdf: A, iova: 0x101000n } }, []).result).toEqual({ ok: false, fault: 'no-mapping' })
    expect(k.invariants()).toContainEqual(expect.stringMatching(/^dma-safety: unit 0 DID 2: the walk of IOVA page 257 from root 0 met a page that is not a page-table page$/))
  })
})
