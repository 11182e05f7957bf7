// A small driver for model tests: run ops one by one on a design, keep the state, and name
// the fds and ids the standard live-update flow creates.

import {
  DEFAULT_PLATFORM,
  initState,
  resolveDesign,
  step,
  type Op,
  type Platform,
  type Result,
  type State,
} from '../../models/index.ts'
import { checkStep } from '../../src/check/properties/index.ts'
import type { Violation } from '../../src/check/executor.types.ts'

export const DEV = '0000:01:00.0'
export const DEV2 = '0000:00:02.0' // PASID capable, same unit
export const TOKEN = 0x1234n

type Args<N extends Op['op']> = Extract<Op, { op: N }>['args']

export class Model {
  s: State
  violations: Violation[] = []
  transient: State[] = []
  constructor(overrides: Record<string, string> = {}, profile = 'lpc2025', platform: Platform = DEFAULT_PLATFORM) {
    this.s = initState(platform, resolveDesign({ profile, overrides }))
  }
  do<N extends Op['op']>(op: N, args: Args<N> = {} as Args<N>): Result {
    return this.apply({ op, args } as Op)
  }
  apply(o: Op): Result {
    const r = step(this.s, o)
    this.violations.push(...checkStep({ prev: this.s, op: o, result: r.result, next: r.state, transient: r.transient }))
    this.transient = r.transient
    this.s = r.state
    return r.result
  }
  /** the output of an op that must succeed */
  out<N extends Op['op']>(op: N, args: Args<N> = {} as Args<N>): number {
    const r = this.apply({ op, args } as Op)
    if (!r.ok) throw new Error(`${op} failed: ${JSON.stringify(r)}`)
    return Number(r.out)
  }
  errno<N extends Op['op']>(op: N, args: Args<N> = {} as Args<N>): string {
    const r = this.apply({ op, args } as Op)
    return 'errno' in r ? r.errno : r.ok ? 'ok' : 'fault'
  }
  dma(bdf: string, iova: bigint, pasid?: number): bigint | 'fault' {
    const r = this.do('DMA', pasid === undefined ? { bdf, iova } : { bdf, iova, pasid })
    return r.ok ? (r.out as bigint) : 'fault'
  }
  props(): string[] {
    return this.violations.map((v) => v.property)
  }
}

/** The standard old-kernel setup: a sealed 4-page memfd mapped at 0x100000 in an IOAS, a
 *  device bound and attached to a HWPT on it, the HWPT marked with TOKEN. */
export function vmSetup(m: Model, opts: { seal?: boolean; bdf?: string } = {}) {
  const bdf = opts.bdf ?? DEV
  const memfd = m.out('MEMFD_CREATE', { pages: 4 })
  if (opts.seal !== false) m.out('MEMFD_SEAL', { fd: memfd, seals: ['SEAL', 'GROW', 'SHRINK'] })
  const ifd = m.out('IOMMUFD_OPEN')
  const ioas = m.out('IOMMU_IOAS_ALLOC', { iommufd: ifd })
  m.out('IOMMU_IOAS_MAP_FILE', { iommufd: ifd, ioas, memfd, start: 0n, length: 0x4000n, iova: 0x100000n })
  const cdev = m.out('VFIO_CDEV_OPEN', { bdf })
  const devId = m.out('VFIO_DEVICE_BIND_IOMMUFD', { cdev, iommufd: ifd })
  const hwpt = m.out('IOMMU_HWPT_ALLOC', { iommufd: ifd, dev_id: devId, pt_id: ioas })
  m.out('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev, pt_id: hwpt })
  m.out('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: ifd, hwpt_id: hwpt, token: TOKEN })
  return { memfd, ifd, ioas, cdev, devId, hwpt, bdf }
}

/** vmSetup, then a session "vm0" preserving memfd (1) -> iommufd (2) -> cdev (3). */
export function preserved(m: Model, opts: { seal?: boolean } = {}) {
  const vm = vmSetup(m, opts)
  const luo = m.out('LIVEUPDATE_OPEN')
  const session = m.out('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'vm0' })
  m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session, fd: vm.memfd, token: 1n })
  m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session, fd: vm.ifd, token: 2n })
  m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session, fd: vm.cdev, token: 3n })
  return { ...vm, luo, session }
}

/** After KEXEC: open LUO, retrieve vm0 and its three files. */
export function retrieved(m: Model) {
  const luo = m.out('LIVEUPDATE_OPEN')
  const session = m.out('LIVEUPDATE_IOCTL_RETRIEVE_SESSION', { name: 'vm0' })
  const memfd = m.out('LIVEUPDATE_SESSION_RETRIEVE_FD', { session, token: 1n })
  const r = m.do('LIVEUPDATE_SESSION_RETRIEVE_FD', { session, token: 2n })
  const ifd = r.ok ? Number(r.out) : -1
  const cdev = m.out('LIVEUPDATE_SESSION_RETRIEVE_FD', { session, token: 3n })
  return { luo, session, memfd, ifd, cdev }
}

/** The rest of the documented recovery: bind, restore, new IOAS + HWPT, replace, destroy, finish. */
export function recoverAll(m: Model, r: ReturnType<typeof retrieved>) {
  const devId = m.out('VFIO_DEVICE_BIND_IOMMUFD', { cdev: r.cdev, iommufd: r.ifd })
  const restored = m.out('IOMMU_HWPT_LU_RESTORE', { iommufd: r.ifd, token: TOKEN })
  const ioas = m.out('IOMMU_IOAS_ALLOC', { iommufd: r.ifd })
  m.out('IOMMU_IOAS_MAP_FILE', { iommufd: r.ifd, ioas, memfd: r.memfd, start: 0n, length: 0x4000n, iova: 0x100000n })
  const hwpt = m.out('IOMMU_HWPT_ALLOC', { iommufd: r.ifd, dev_id: devId, pt_id: ioas })
  m.out('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: r.cdev, pt_id: hwpt })
  m.out('IOMMU_DESTROY', { iommufd: r.ifd, id: restored })
  return { devId, restored, ioas, hwpt, finish: m.errno('LIVEUPDATE_SESSION_FINISH', { session: r.session }) }
}
