// The large-state workload of the kernel-vs-model benchmark (issue 3): 64 devices over 4
// units, each with its own IOAS and HWPT mapping the same 1 GiB memfd in 511 pieces of 2 MiB
// and 512 pieces of 4 KiB, then 10,000 mixed ops on that state including two live updates
// (preserve, KEXEC, the documented recovery). Deterministic: the same list every time.

import type { Op } from '../models/ops.ts'
import { largePlatform, type Platform } from '../models/platform.ts'

const MiB = 1n << 20n
const PAGE = 4096n
export const GIB_PAGES = 262_144

export interface Workload {
  platform: Platform
  setup: Op[]
  mixed: Op[]
}

/** A tiny deterministic PRNG (mulberry32), so the op list does not depend on fast-check. */
function rng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

export function largeWorkload(opts: { devices?: number; units?: number; mixed?: number; gibPages?: number } = {}): Workload {
  const devices = opts.devices ?? 64
  const gib = opts.gibPages ?? GIB_PAGES
  const platform = largePlatform(devices, opts.units ?? 4, gib + 65_536)
  platform.tablePages = 1 << 20
  const bdfs = platform.devices.map((d) => d.bdf)
  const setup: Op[] = []
  // fds: memfd 3, iommufd 4, then one cdev per device from 5; object ids per device: IOAS 2i+2.. (see below)
  setup.push({ op: 'MEMFD_CREATE', args: { pages: gib } })
  setup.push({ op: 'MEMFD_SEAL', args: { fd: 3, seals: ['SEAL', 'GROW', 'SHRINK'] } })
  setup.push({ op: 'IOMMUFD_OPEN', args: {} })
  const big = BigInt(gib) * PAGE
  const twoMiBPieces = Number((big - 2n * MiB) / (2n * MiB))
  for (let i = 0; i < devices; i++) {
    const cdev = 5 + i
    setup.push({ op: 'VFIO_CDEV_OPEN', args: { bdf: bdfs[i] } })
    setup.push({ op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev, iommufd: 4 } }) // DEVICE id 3i+1
    setup.push({ op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 4 } }) // IOAS id 3i+2
    const ioas = 3 * i + 2
    setup.push({ op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 3 * i + 1, pt_id: ioas } }) // HWPT id 3i+3
    setup.push({ op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: 3 * i + 3 } })
    for (let k = 0; k < twoMiBPieces; k++) {
      const off = BigInt(k) * 2n * MiB
      setup.push({ op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: 4, ioas, memfd: 3, start: off, length: 2n * MiB, iova: 0x4000_0000n + off } })
    }
    const base = BigInt(twoMiBPieces) * 2n * MiB
    for (let k = 0; k < Number((2n * MiB) / PAGE); k++) {
      const off = base + BigInt(k) * PAGE
      setup.push({ op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: 4, ioas, memfd: 3, start: off, length: PAGE, iova: 0x4000_0000n + off } })
    }
  }
  return { platform, setup, mixed: mixedOps(platform, devices, opts.mixed ?? 10_000) }
}

/** DMA, small map/unmap churn in a scratch window, replaces, and two live updates. */
function mixedOps(platform: Platform, devices: number, n: number): Op[] {
  const r = rng(0x1bd)
  const bdfs = platform.devices.map((d) => d.bdf)
  const ops: Op[] = []
  const scratch = new Map<number, bigint[]>() // ioas -> scratch iovas mapped
  let boot = 0
  const updateAt = [Math.floor(n / 3), Math.floor((2 * n) / 3)]
  while (ops.length < n) {
    if (boot < 2 && ops.length >= updateAt[boot]) {
      ops.push(...liveUpdate(boot, devices))
      boot++
      scratch.clear()
      continue
    }
    const dev = Math.floor(r() * devices)
    const x = r()
    if (boot > 0) {
      // after an update the devices translate through restored domains; keep doing DMA
      ops.push({ op: 'DMA', args: { bdf: bdfs[dev], iova: 0x4000_0000n + BigInt(Math.floor(r() * GIB_PAGES)) * PAGE } })
      continue
    }
    const ioas = 3 * dev + 2
    if (x < 0.6) ops.push({ op: 'DMA', args: { bdf: bdfs[dev], iova: 0x4000_0000n + BigInt(Math.floor(r() * GIB_PAGES)) * PAGE } })
    else if (x < 0.85) {
      const list = scratch.get(ioas) ?? []
      const iova = 0x1_0000_0000n + BigInt(list.length) * 0x1000n
      ops.push({ op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: 4, ioas, memfd: 3, start: BigInt(Math.floor(r() * 1000)) * PAGE, length: PAGE, iova } })
      list.push(iova)
      scratch.set(ioas, list)
    } else {
      const list = scratch.get(ioas) ?? []
      const iova = list.pop()
      if (iova !== undefined) ops.push({ op: 'IOMMU_IOAS_UNMAP', args: { iommufd: 4, ioas, iova, length: PAGE } })
      else ops.push({ op: 'DMA', args: { bdf: bdfs[dev], iova: 0x1_0000_0000n } })
    }
  }
  return ops.slice(0, n)
}

/** Preserve the first 8 devices' HWPTs and kexec (fds in the old kernel as set up above). */
function liveUpdate(boot: number, devices: number): Op[] {
  if (boot > 0) return [{ op: 'KEXEC', args: {} }] // the second update preserves nothing new: a plain kexec
  const ops: Op[] = []
  const keep = Math.min(8, devices)
  for (let i = 0; i < keep; i++) ops.push({ op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 4, hwpt_id: 3 * i + 3, token: BigInt(0x1000 + i) } })
  const luo = 5 + devices
  ops.push({ op: 'LIVEUPDATE_OPEN', args: {} })
  ops.push({ op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'vms' } })
  const session = luo + 1
  ops.push({ op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session, fd: 3, token: 1n } })
  // every IOAS maps the memfd only, so the iommufd's marked HWPTs are admissible
  ops.push({ op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session, fd: 4, token: 2n } })
  for (let i = 0; i < keep; i++) ops.push({ op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session, fd: 5 + i, token: BigInt(10 + i) } })
  ops.push({ op: 'KEXEC', args: {} })
  return ops
}
