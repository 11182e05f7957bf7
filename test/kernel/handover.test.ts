// The kexec handover: the blob the old kernel writes (src/kernel/handover/FORMAT.md) decodes to
// what was preserved and re-encodes to the same bytes, the next kernel built from it alone
// carries on; and a corrupt, truncated, wrong-version or mismatched blob is a panic of the next
// kernel, never a crash of the tool.

import { describe, expect, it } from 'vitest'
import type { Op } from '../../models/ops.ts'
import { Kernel } from '../../src/kernel/index.ts'
import { decodeHandoverBlob, encodeHandover, HANDOVER_VERSION, type Handover } from '../../src/kernel/kexec.ts'
import { isPanic } from '../../src/kernel/panic.ts'
import { loadScenario, resolvedOps } from './helpers.ts'

const sc = loadScenario('properties/scenarios/lpc2025-full-flow.json')
const ops = resolvedOps(sc)
const kexecAt = ops.findIndex((o) => o.op === 'KEXEC')
const before = ops.slice(0, kexecAt)
const dma = ops.find((o, i) => i > kexecAt && o.op === 'DMA')!
const KEXEC: Op = { op: 'KEXEC', args: {} }

function boot(tamper?: (b: Uint8Array) => Uint8Array, prefix = before): Kernel {
  const k = new Kernel(sc.platform, sc.design, { tamper })
  for (const o of prefix) expect(k.apply(o, []).result.ok, JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).toBe(true)
  expect(k.apply(KEXEC, []).result).toEqual({ ok: true })
  return k
}

const decoded = (k: Kernel): Handover => {
  const h = decodeHandoverBlob(k.lastHandover!, sc.platform)
  if (isPanic(h)) throw new Error(h.panic)
  return h
}

/** Re-encode a decoded blob after changing it: a well-formed blob that says something false. */
const rewrite = (change: (h: Handover) => void) => (blob: Uint8Array) => {
  const h = decodeHandoverBlob(blob, sc.platform) as Handover
  change(h)
  return encodeHandover(h)
}

describe('handover round trip', () => {
  it('decodes to what was preserved and re-encodes to the same bytes', () => {
    const k = boot()
    const blob = k.lastHandover!
    const h = decoded(k)
    expect(encodeHandover(h)).toEqual(blob)
    expect(h.boot).toBe(1)
    expect(h.units.map((u) => u.name)).toEqual(['dmar0'])
    expect(h.domains).toHaveLength(1)
    expect(h.domains[0]).toMatchObject({ session: 'vm0', token: 0x1234n, level: 4 })
    expect(h.sessions).toHaveLength(1)
    expect(h.sessions[0].files.map((f) => [f.compatible, f.token])).toEqual([
      // lpc2025 registers the memfd-v2 handler (memfdSeals=reapplied); memfd-v1 drops seals
      ['memfd-v2', 1n],
      ['iommufd-v1', 2n],
      ['vfio-pci-v1', 3n],
    ])
    expect(h.devices).toEqual([
      { bdf: '0000:01:00.0', unit: 0, session: 'vm0', cdevToken: 3n, iommufdToken: 2n, did: 2, domain: 0, pasids: [] },
    ])
    // the header: magic, this format's version, the record count
    expect([...blob.subarray(0, 8)]).toEqual([0x4c, 0x55, 0x56, 0x4b, 0x48, 0x4f, 0x00, 0x01])
    expect(new DataView(blob.buffer, blob.byteOffset).getUint32(8, true)).toBe(HANDOVER_VERSION)
  })

  it('keeps u64 tokens whole', () => {
    const big = 0x1_0000_0002n
    const prefix = before.map((o): Op => {
      if (o.op === 'IOMMU_HWPT_LU_SET_PRESERVE') return { ...o, args: { ...o.args, token: big } }
      if (o.op === 'LIVEUPDATE_SESSION_PRESERVE_FD' && o.args.token === 2n) return { ...o, args: { ...o.args, token: big + 1n } }
      return o
    })
    const k = boot(undefined, prefix)
    const h = decoded(k)
    expect(h.domains[0].token).toBe(big)
    expect(h.devices[0].iommufdToken).toBe(big + 1n)
    expect(k.observe([]).owners['0000:01:00.0']).toBe(`restored:vm0/${big + 1n}`)
  })

  it('the next kernel, built from the blob and the preserved pages only, keeps the DMA going', () => {
    const old = new Kernel(sc.platform, sc.design)
    for (const o of before) old.apply(o, [])
    const pa = old.apply(dma, []).result
    // only the machine (memory, IOTLB, root-table registers) crosses: the kernel state is new
    const state = old.internals
    old.apply(KEXEC, [])
    expect(old.internals).not.toBe(state)
    expect(old.internals.m).toBe(state.m)
    expect(old.internals.domains).not.toBe(state.domains)
    const k = boot()
    expect(k.panic).toBeUndefined()
    expect(k.invariants()).toEqual([])
    expect(k.apply(dma, []).result).toEqual(pa)
    expect(k.liveProbes().map((p) => p.bdf)).toContain('0000:01:00.0')
  })
})

describe('a bad handover is a panic of the next kernel', () => {
  const panics = (k: Kernel, why?: RegExp) => {
    expect(k.panic).toBeDefined()
    if (why) expect(k.panic).toMatch(why)
    expect(k.invariants()).toEqual([`panic: ${k.panic}`])
    // the stopped kernel answers every op with the same failure and still observes
    expect(k.apply(dma, []).result).toEqual({ ok: false, errno: 'EIO' })
    expect(k.apply({ op: 'IOMMUFD_OPEN', args: {} }, []).result).toEqual({ ok: false, errno: 'EIO' })
    expect(k.observe([{ bdf: '0000:01:00.0', pasid: 0, iova: 0x100000n }]).translations[0].pa).toBeNull()
    expect(k.liveProbes()).toEqual([])
  }

  it('any single flipped byte', () => {
    const size = boot().lastHandover!.length
    for (let i = 0; i < size; i++)
      panics(
        boot((b) => {
          const c = b.slice()
          c[i] ^= 0xff
          return c
        }),
      )
  })

  it('a truncated blob', () => {
    const size = boot().lastHandover!.length
    for (const n of [0, 1, 23, 24, 30, Math.floor(size / 2), size - 1]) panics(boot((b) => b.slice(0, n)), /truncated|records|overruns|CRC|past the end/)
  })

  it('another format version', () => {
    panics(
      boot((b) => {
        const c = b.slice()
        new DataView(c.buffer).setUint32(8, HANDOVER_VERSION + 1, true)
        return c
      }),
      /format version 2, this kernel reads 1/,
    )
  })

  it('a well-formed blob that disagrees with the preserved memory', () => {
    panics(boot(rewrite((h) => void (h.devices[0].did = 7))), /does not hold DID 7/)
    panics(boot(rewrite((h) => void (h.domains[0].root += 1))), /cannot restore page table/)
    panics(boot(rewrite((h) => void (h.units[0].root += 1))), /not a preserved IOMMU structure page/)
    panics(boot(rewrite((h) => void (h.sessions[0].files[0].compatible = 'shmem-v9'))), /no handler for "shmem-v9"/)
    panics(boot(rewrite((h) => void (h.devices[0].bdf = '0000:09:00.0'))), /0000:09:00.0/)
    panics(boot(rewrite((h) => void (h.devices[0].domain = 5))), /domain 5 of 1/)
    panics(boot(rewrite((h) => void (h.ndevices += 1))), /another machine/)
    panics(boot(rewrite((h) => void h.sessions[0].files.pop())), /no vfio file with token 3/)
  })
})
