// The kernel side of deviceAcrossKexec, from the functions' structure: the VFIO handler's
// freeze resets the device and has no .unfreeze (vfio_pci_liveupdate.c 03855e7), LUO's
// unwinding calls .unfreeze only where a handler has one (luo_file.c __luo_file_unfreeze,
// luo_session.c err_undo), and kho_finalize failing after every file froze is -EAGAIN with
// nothing unfrozen (luo_core.c liveupdate_reboot).

import { describe, expect, it } from 'vitest'
import { resolveDesign } from '../../models/design.ts'
import { resultToString, type Op, type Result } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import { Kernel } from '../../src/kernel/index.ts'

const P: Platform = {
  memoryPages: 64,
  tablePages: 64,
  units: [{ name: 'dmar0', dids: 8 }],
  devices: [
    { bdf: '0000:01:00.0', unit: 'dmar0' },
    { bdf: '0000:02:00.0', unit: 'dmar0' },
  ],
}
const A = '0000:01:00.0'
const B = '0000:02:00.0'

/** A VM for one device: memfd, iommufd, IOAS mapping it at 0x100000, cdev bound and attached,
 *  HWPT marked. Fds are symbolic: resolved from the outputs as the ops run. */
function vm(k: Kernel, bdf: string, token: bigint): { memfd: number; ifd: number; cdev: number } {
  const run = (o: Op): number => {
    const r = k.apply(o, []).result
    expect(r.ok, `${o.op}: ${resultToString(r)}`).toBe(true)
    return Number((r as { out?: number | bigint }).out ?? 0)
  }
  const memfd = run({ op: 'MEMFD_CREATE', args: { pages: 4 } })
  run({ op: 'MEMFD_SEAL', args: { fd: memfd, seals: ['SEAL', 'GROW', 'SHRINK'] } })
  const ifd = run({ op: 'IOMMUFD_OPEN', args: {} })
  const ioas = run({ op: 'IOMMU_IOAS_ALLOC', args: { iommufd: ifd } })
  run({ op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: ifd, ioas, memfd, start: 0n, length: 0x4000n, iova: 0x100000n } })
  const cdev = run({ op: 'VFIO_CDEV_OPEN', args: { bdf } })
  const dev = run({ op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev, iommufd: ifd } })
  const hwpt = run({ op: 'IOMMU_HWPT_ALLOC', args: { iommufd: ifd, dev_id: dev, pt_id: ioas } })
  run({ op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: hwpt } })
  run({ op: 'IOMMU_HWPT_LU_MARK_PRESERVE', args: { iommufd: ifd, hwpt_id: hwpt, token } })
  return { memfd, ifd, cdev }
}

function preservedKernel(deviceAcrossKexec: string, bdfs = [A]) {
  const k = new Kernel(P, resolveDesign({ profile: 'v3', overrides: { deviceAcrossKexec } }))
  const vms = bdfs.map((b, i) => vm(k, b, 0x1000n + BigInt(i)))
  const ok = (o: Op) => {
    const r = k.apply(o, []).result
    expect(r.ok, `${o.op}: ${resultToString(r)}`).toBe(true)
    return Number((r as { out?: number | bigint }).out ?? 0)
  }
  ok({ op: 'LIVEUPDATE_OPEN', args: {} })
  const session = ok({ op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'vm0' } })
  let token = 1n
  for (const v of vms) for (const fd of [v.memfd, v.ifd, v.cdev]) ok({ op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session, fd, token: token++ } })
  return { k, vms }
}

const dma = (k: Kernel, bdf: string): Result => k.apply({ op: 'DMA', args: { bdf, iova: 0x100000n } }, []).result
const probe = (bdf: string) => ({ bdf, pasid: 0, iova: 0x100000n })

describe('kernel: deviceAcrossKexec', () => {
  it('reset-at-freeze: kho_finalize fails (EAGAIN) after the VFIO freeze reset the device; the old kernel sees it idle', () => {
    const { k } = preservedKernel('reset-at-freeze')
    const before = dma(k, A)
    expect(before.ok).toBe(true)
    expect(k.apply({ op: 'KEXEC', args: { khoFinalizeFails: true } }, []).result).toEqual({ ok: false, errno: 'EAGAIN' })
    expect(dma(k, A)).toEqual({ ok: false, fault: 'device-reset' })
    expect(k.observe([probe(A)]).translations[0].pa).toBeNull()
    expect(k.observe([]).boot).toBe(0)
  })

  it('keeps-running: the failed reboot() leaves the device doing DMA to the same page', () => {
    const { k } = preservedKernel('keeps-running')
    const before = dma(k, A)
    expect(k.apply({ op: 'KEXEC', args: { khoFinalizeFails: true } }, []).result).toEqual({ ok: false, errno: 'EAGAIN' })
    expect(dma(k, A)).toEqual(before)
    expect(k.observe([probe(A)]).translations[0].pa).not.toBeNull()
  })

  it('a later freeze failing (interrupts on) unwinds: the device frozen before it stays reset, the failing one is untouched', () => {
    const { k, vms } = preservedKernel('reset-at-freeze', [A, B])
    expect(k.apply({ op: 'VFIO_DEVICE_SET_IRQS', args: { cdev: vms[1].cdev, enabled: true } }, []).result.ok).toBe(true)
    expect(k.apply({ op: 'KEXEC', args: {} }, []).result).toEqual({ ok: false, errno: 'EINVAL' })
    expect(dma(k, A)).toEqual({ ok: false, fault: 'device-reset' })
    expect(dma(k, B).ok).toBe(true)
  })

  it('a reboot() that succeeds boots fresh devices: the preserved device translates in the next kernel', () => {
    const { k } = preservedKernel('reset-at-freeze')
    const before = dma(k, A)
    expect(k.apply({ op: 'KEXEC', args: {} }, []).result.ok).toBe(true)
    expect(dma(k, A)).toEqual(before)
  })
})
