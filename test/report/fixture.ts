// A hand-built counterexample: a live update of one VM with one passthrough device, where
// after KEXEC the VMM retrieves its cdev but binds it to a fresh iommufd instead of the one
// preserved with it. The model (ownership=token) refuses with EPERM; the kernel, built with
// a seeded defect, lets the foreign iommufd claim the device.

import { PROFILES } from '../../models/design.ts'
import type { Observation } from '../../models/observation.ts'
import { err, ok, type Op, type Result } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import type { Counterexample, CounterexampleStep } from '../../src/report/types.ts'

export const PLATFORM: Platform = {
  memoryPages: 64,
  tablePages: 256,
  units: [{ name: 'dmar0', dids: 8 }],
  devices: [
    { bdf: '0000:00:02.0', unit: 'dmar0', pasids: 4 },
    { bdf: '0000:01:00.0', unit: 'dmar0' },
  ],
}

const DEV = '0000:01:00.0'

export const INITIAL: Observation = {
  boot: 0,
  translations: [],
  owners: { '0000:00:02.0': 'unowned', [DEV]: 'unowned' },
  luo: { open: false, outgoing: [], incoming: [] },
  fds: {},
  memory: { usedPages: 0, tablePages: 0 },
  iommufds: {},
}

type Edit = (o: Observation) => void

const mapped: Observation['translations'] = [
  { bdf: DEV, pasid: 0, iova: 0x100000n, pa: 0x0n },
  { bdf: DEV, pasid: 0, iova: 0x101000n, pa: 0x1000n },
]

/** [op, model result, edit of the model observation] per step; the kernel agrees unless noted. */
const FLOW: [Op, Result, Edit?][] = [
  [{ op: 'MEMFD_CREATE', args: { pages: 2 } }, ok(3), (o) => {
    o.fds[3] = 'memfd:2'
    o.memory.usedPages = 2
  }],
  [{ op: 'MEMFD_SEAL', args: { fd: 3, seals: ['SEAL', 'GROW', 'SHRINK'] } }, ok()],
  [{ op: 'IOMMUFD_OPEN', args: {} }, ok(4), (o) => {
    o.fds[4] = 'iommufd:2'
    o.iommufds[2] = {}
  }],
  [{ op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 4 } }, ok(1), (o) => {
    o.iommufds[2][1] = 'IOAS []'
  }],
  [
    { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: 4, ioas: 1, memfd: 3, start: 0n, length: 0x2000n, iova: 0x100000n } },
    ok(0x100000n),
    (o) => {
      o.iommufds[2][1] = 'IOAS [0x100000+0x2000]'
    },
  ],
  [{ op: 'VFIO_CDEV_OPEN', args: { bdf: DEV } }, ok(5), (o) => {
    o.fds[5] = `vfio:${DEV}`
  }],
  [{ op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 5, iommufd: 4 } }, ok(2), (o) => {
    o.iommufds[2][2] = `DEVICE ${DEV}`
    o.owners[DEV] = 'iommufd:2'
  }],
  [{ op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 1 } }, ok(3), (o) => {
    o.iommufds[2][3] = 'HWPT_PAGING ioas=1'
    o.memory.tablePages = 4
  }],
  [{ op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 5, pt_id: 3 } }, ok(), (o) => {
    o.translations = structuredClone(mapped)
  }],
  [{ op: 'DMA', args: { bdf: DEV, iova: 0x101000n } }, ok(0x1000n)],
  [{ op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 4, hwpt_id: 3, token: 100n } }, ok()],
  [{ op: 'LIVEUPDATE_OPEN', args: {} }, ok(6), (o) => {
    o.fds[6] = 'liveupdate'
    o.luo.open = true
  }],
  [{ op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'vmm' } }, ok(7), (o) => {
    o.fds[7] = 'session:vmm'
    o.luo.outgoing.push({ name: 'vmm', files: [] })
  }],
  [{ op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 7, fd: 3, token: 1n } }, ok(), (o) => {
    o.luo.outgoing[0].files.push({ token: 1n, kind: 'memfd' })
  }],
  [{ op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 7, fd: 4, token: 2n } }, ok(), (o) => {
    o.luo.outgoing[0].files.push({ token: 2n, kind: 'iommufd' })
  }],
  [{ op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 7, fd: 5, token: 3n } }, ok(), (o) => {
    o.luo.outgoing[0].files.push({ token: 3n, kind: 'vfio' })
  }],
  [{ op: 'KEXEC', args: {} }, ok(), (o) => {
    o.boot = 1
    o.fds = {}
    o.iommufds = {}
    o.owners[DEV] = 'restored:vmm/2'
    o.luo = {
      open: false,
      outgoing: [],
      incoming: [
        {
          name: 'vmm',
          files: [
            { token: 1n, kind: 'memfd', retrieved: 'no' },
            { token: 2n, kind: 'iommufd', retrieved: 'no' },
            { token: 3n, kind: 'vfio', retrieved: 'no' },
          ],
        },
      ],
    }
  }],
  [{ op: 'LIVEUPDATE_OPEN', args: {} }, ok(3), (o) => {
    o.fds[3] = 'liveupdate'
    o.luo.open = true
  }],
  [{ op: 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION', args: { name: 'vmm' } }, ok(4), (o) => {
    o.fds[4] = 'session:vmm'
    o.luo.incoming[0].retrieved = true
  }],
  [{ op: 'LIVEUPDATE_SESSION_RETRIEVE_FD', args: { session: 4, token: 3n } }, ok(5), (o) => {
    o.fds[5] = `vfio:${DEV}`
    o.luo.incoming[0].files[2].retrieved = 'ok'
  }],
  [{ op: 'IOMMUFD_OPEN', args: {} }, ok(6), (o) => {
    o.fds[6] = 'iommufd:4'
    o.iommufds[4] = {}
  }],
  [{ op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 5, iommufd: 6 } }, err('EPERM')],
]

export const MESSAGE =
  'a fresh iommufd (iommufd:4, fd 6) that was not retrieved from session vmm took DMA ownership of ' +
  '0000:01:00.0 from the preserved iommufd (restored:vmm/2)'

function buildSteps(): CounterexampleStep[] {
  let obs = INITIAL
  const steps: CounterexampleStep[] = FLOW.map(([op, model, edit], i) => {
    const next = structuredClone(obs)
    edit?.(next)
    obs = next
    return { index: i, op, model, kernel: model, violations: [], model_obs: next, kernel_obs: next }
  })
  const last = steps[steps.length - 1]
  const kernelObs = structuredClone(last.model_obs!)
  kernelObs.owners[DEV] = 'iommufd:4'
  kernelObs.iommufds[4][1] = `DEVICE ${DEV}`
  last.kernel = ok(1)
  last.kernel_obs = kernelObs
  last.violations = [
    { property: 'ownership', message: MESSAGE },
    { property: 'conformance', message: 'VFIO_DEVICE_BIND_IOMMUFD: the kernel returned 1, the model -EPERM' },
  ]
  return steps
}

/** The golden counterexample. A fresh copy on every call. */
export function goldenCounterexample(): Counterexample {
  const steps = buildSteps()
  return {
    property: 'ownership',
    message: MESSAGE,
    design: { ...PROFILES.lpc2025.design },
    profile: 'lpc2025',
    designLabel: 'lpc2025',
    platform: structuredClone(PLATFORM),
    seed: 424242,
    path: '17:3:0:2',
    defect: 'bind-ignores-lu-token',
    divergenceIndex: steps.length - 1,
    steps,
    observable: { kind: 'result', step: steps.length - 1 },
    versions: { luv: '0.1.0', node: 'v20.20.2', fastCheck: '4.10.2', gitRev: 'a1b2c3d4e5f6' },
    timestamp: '2026-03-01T12:00:00.000Z',
    initial_obs: structuredClone(INITIAL),
  }
}
