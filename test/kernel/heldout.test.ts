// Each held-out defect (src/kernel/defects/heldout.ts) is real: a short hand-written op
// sequence passes with impl both on the clean kernel and, with the defect seeded, the kernel
// disagrees with the model (a conformance divergence) or a property fires. No expectations
// are written into the steps: the model is the reference, so a pass on the clean kernel and a
// failure with the defect is exactly "this hook changes observable behaviour".

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.ts'
import { createExecutor } from '../../src/check/index.ts'
import { DEFECT_NAMES, HELD_OUT, HELD_OUT_NAMES, hooksFor, isDefectName } from '../../src/kernel/defects/index.ts'
import { CLEAN } from '../../src/kernel/defects/hooks.ts'
import { DEFAULT_PLATFORM } from '../../models/platform.ts'
import { resolveDesign } from '../../models/design.ts'
import { parseScenario } from '../../src/scenario/load.ts'
import { runOn } from './helpers.ts'

type Step = { op: string; args?: Record<string, unknown>; as?: string }
const s = (op: string, args?: Record<string, unknown>, as?: string): Step => ({ op, ...(args && { args }), ...(as && { as }) })

const A = '0000:00:02.0' // dmar0, PASID-capable
const B = '0000:01:00.0' // dmar0

/** A sealed 4-page memfd mapped at 0x100000 in an IOAS of a new iommufd. */
const mapped = (seals: string[] = ['SEAL', 'GROW', 'SHRINK']): Step[] => [
  s('MEMFD_CREATE', { pages: 4 }, 'mfd'),
  ...(seals.length > 0 ? [s('MEMFD_SEAL', { fd: '$mfd', seals })] : []),
  s('IOMMUFD_OPEN', {}, 'ifd'),
  s('IOMMU_IOAS_ALLOC', { iommufd: '$ifd' }, 'ioas'),
  s('IOMMU_IOAS_MAP_FILE', { iommufd: '$ifd', ioas: '$ioas', memfd: '$mfd', start: '0x0', length: '0x4000', iova: '0x100000' }),
]
/** ... a device attached to it (the auto-domain HWPT $hwpt) and marked with token 0x1234. */
const marked = (bdf = B, seals?: string[]): Step[] => [
  ...mapped(seals),
  s('VFIO_CDEV_OPEN', { bdf }, 'cdev'),
  s('VFIO_DEVICE_BIND_IOMMUFD', { cdev: '$cdev', iommufd: '$ifd' }, 'dev'),
  s('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: '$cdev', pt_id: '$ioas' }, 'hwpt'),
  s('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: '$ifd', hwpt_id: '$hwpt', token: '0x1234' }),
]
const session = (name = 'vm0', as = 'session'): Step[] => [s('LIVEUPDATE_IOCTL_CREATE_SESSION', { name }, as)]
const preserve = (fd: string, token: number, sess = '$session') => s('LIVEUPDATE_SESSION_PRESERVE_FD', { session: sess, fd, token: String(token) })
/** The documented preserve flow (memfd -> iommufd -> cdev) and KEXEC. */
const preservedAndKexec: Step[] = [
  ...marked(),
  s('LIVEUPDATE_OPEN', {}, 'luo'),
  ...session(),
  preserve('$mfd', 1),
  preserve('$ifd', 2),
  preserve('$cdev', 3),
  s('KEXEC'),
]
/** Next kernel: session vm0 retrieved (as $in). */
const retrieveSession: Step[] = [s('LIVEUPDATE_OPEN', {}, 'luo2'), s('LIVEUPDATE_IOCTL_RETRIEVE_SESSION', { name: 'vm0' }, 'in')]
/** B's cdev, opened and never bound, preserved alone in vm0, then KEXEC. */
const cdevPreservedAndKexec: Step[] = [s('VFIO_CDEV_OPEN', { bdf: B }, 'cdev'), s('LIVEUPDATE_OPEN', {}, 'luo'), ...session(), preserve('$cdev', 1), s('KEXEC')]
/** Next kernel: the session and its three files retrieved. */
const retrieved: Step[] = [
  ...retrieveSession,
  s('LIVEUPDATE_SESSION_RETRIEVE_FD', { session: '$in', token: '1' }, 'mfd2'),
  s('LIVEUPDATE_SESSION_RETRIEVE_FD', { session: '$in', token: '2' }, 'ifd2'),
  s('LIVEUPDATE_SESSION_RETRIEVE_FD', { session: '$in', token: '3' }, 'cdev2'),
  s('VFIO_DEVICE_BIND_IOMMUFD', { cdev: '$cdev2', iommufd: '$ifd2' }, 'dev2'),
]

interface Case {
  steps: Step[]
  profile?: string
  platform?: unknown
}

const CASES: Record<string, Case> = {
  // a PASID-only domain: DMA fills the IOTLB, the PASID is detached and its DID freed: the
  // entry tagged (DID, PASID) survives (the next domain at that PASID would get the same DID
  // and hit it; the kernel's IOTLB sweep already sees a tag no live entry uses)
  'pasid-teardown-skips-piotlb-flush': {
    steps: [
      s('MEMFD_CREATE', { pages: 2 }, 'mfd'),
      s('IOMMUFD_OPEN', {}, 'ifd'),
      s('IOMMU_IOAS_ALLOC', { iommufd: '$ifd' }, 'ioas1'),
      s('IOMMU_IOAS_MAP_FILE', { iommufd: '$ifd', ioas: '$ioas1', memfd: '$mfd', start: '0x0', length: '0x1000', iova: '0x100000' }),
      s('IOMMU_IOAS_ALLOC', { iommufd: '$ifd' }, 'ioas2'),
      s('IOMMU_IOAS_MAP_FILE', { iommufd: '$ifd', ioas: '$ioas2', memfd: '$mfd', start: '0x1000', length: '0x1000', iova: '0x100000' }),
      s('VFIO_CDEV_OPEN', { bdf: A }, 'cdev'),
      s('VFIO_DEVICE_BIND_IOMMUFD', { cdev: '$cdev', iommufd: '$ifd' }, 'dev'),
      s('IOMMU_HWPT_ALLOC', { iommufd: '$ifd', dev_id: '$dev', pt_id: '$ioas1', flags: ['PASID'] }, 'h1'),
      s('IOMMU_HWPT_ALLOC', { iommufd: '$ifd', dev_id: '$dev', pt_id: '$ioas2', flags: ['PASID'] }, 'h2'),
      s('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: '$cdev', pt_id: '$h1', pasid: 1 }),
      s('DMA', { bdf: A, pasid: 1, iova: '0x100000' }),
      s('VFIO_DEVICE_DETACH_IOMMUFD_PT', { cdev: '$cdev', pasid: 1 }),
    ],
  },
  // 300 pages of 4 KiB leaves: the last page's IOTLB entry is past the truncated flush
  'psi-flush-truncated-for-large-unmap': {
    platform: { memoryPages: 1024, tablePages: 1024, units: [{ name: 'dmar0', dids: 16 }], devices: [{ bdf: B, unit: 'dmar0' }] },
    steps: [
      s('MEMFD_CREATE', { pages: 300 }, 'mfd'),
      s('IOMMUFD_OPEN', {}, 'ifd'),
      s('IOMMU_IOAS_ALLOC', { iommufd: '$ifd' }, 'ioas'),
      s('IOMMU_IOAS_MAP_FILE', { iommufd: '$ifd', ioas: '$ioas', memfd: '$mfd', start: '0x0', length: '0x12c000', iova: '0x100000' }),
      s('VFIO_CDEV_OPEN', { bdf: B }, 'cdev'),
      s('VFIO_DEVICE_BIND_IOMMUFD', { cdev: '$cdev', iommufd: '$ifd' }, 'dev'),
      s('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: '$cdev', pt_id: '$ioas' }),
      s('DMA', { bdf: B, iova: '0x22b000' }),
      s('IOMMU_IOAS_UNMAP', { iommufd: '$ifd', ioas: '$ioas', iova: '0x100000', length: '0x12c000' }),
    ],
  },
  // two preserved devices on dmar0 share the restored domain; replacing one's domain must not
  // free the DID the other still uses
  'shared-restored-did-not-refcounted': {
    steps: [
      ...marked(B),
      s('VFIO_CDEV_OPEN', { bdf: A }, 'cdevA'),
      s('VFIO_DEVICE_BIND_IOMMUFD', { cdev: '$cdevA', iommufd: '$ifd' }, 'devA'),
      s('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: '$cdevA', pt_id: '$hwpt' }),
      s('LIVEUPDATE_OPEN', {}, 'luo'),
      ...session(),
      preserve('$mfd', 1),
      preserve('$ifd', 2),
      preserve('$cdev', 3),
      preserve('$cdevA', 4),
      s('KEXEC'),
      ...retrieved,
      s('LIVEUPDATE_SESSION_RETRIEVE_FD', { session: '$in', token: '4' }, 'cdevA2'),
      s('VFIO_DEVICE_BIND_IOMMUFD', { cdev: '$cdevA2', iommufd: '$ifd2' }, 'devA2'),
      s('IOMMU_HWPT_LU_RESTORE', { iommufd: '$ifd2', token: '0x1234' }, 'rh'),
      s('IOMMU_IOAS_ALLOC', { iommufd: '$ifd2' }, 'ioas2'),
      s('IOMMU_IOAS_MAP_FILE', { iommufd: '$ifd2', ioas: '$ioas2', memfd: '$mfd2', start: '0x0', length: '0x4000', iova: '0x100000' }),
      s('IOMMU_HWPT_ALLOC', { iommufd: '$ifd2', dev_id: '$dev2', pt_id: '$ioas2' }, 'nh'),
      s('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: '$cdev2', pt_id: '$nh' }),
    ],
  },
  // one usable DID (dids: 3): the second domain on the unit is ENOSPC
  'did-limit-off-by-one': {
    platform: { memoryPages: 64, tablePages: 64, units: [{ name: 'dmar0', dids: 3 }], devices: [{ bdf: A, unit: 'dmar0' }, { bdf: B, unit: 'dmar0' }] },
    steps: [
      ...mapped([]),
      s('IOMMU_IOAS_ALLOC', { iommufd: '$ifd' }, 'ioas2'),
      s('VFIO_CDEV_OPEN', { bdf: A }, 'cA'),
      s('VFIO_DEVICE_BIND_IOMMUFD', { cdev: '$cA', iommufd: '$ifd' }),
      s('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: '$cA', pt_id: '$ioas' }),
      s('VFIO_CDEV_OPEN', { bdf: B }, 'cB'),
      s('VFIO_DEVICE_BIND_IOMMUFD', { cdev: '$cB', iommufd: '$ifd' }),
      s('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: '$cB', pt_id: '$ioas2' }),
    ],
  },
  'duplicate-session-name-accepted': {
    steps: [s('LIVEUPDATE_OPEN', {}, 'luo'), ...session('vm0', 's1'), ...session('vm0', 's2')],
  },
  'closed-session-keeps-files-preserved': {
    steps: [s('MEMFD_CREATE', { pages: 4 }, 'mfd'), s('LIVEUPDATE_OPEN', {}, 'luo'), ...session(), preserve('$mfd', 1), s('CLOSE', { fd: '$session' }), s('MEMFD_TRUNCATE', { fd: '$mfd', pages: 2 })],
  },
  // nothing retrieved yet: the iommufd's can_finish says no
  'finish-ignores-can-finish': {
    steps: [...preservedAndKexec, ...retrieveSession, s('LIVEUPDATE_SESSION_FINISH', { session: '$in' })],
  },
  'retrieved-memfd-loses-grow-seal': {
    steps: [
      s('MEMFD_CREATE', { pages: 4 }, 'mfd'),
      s('MEMFD_SEAL', { fd: '$mfd', seals: ['SEAL', 'GROW', 'SHRINK'] }),
      s('LIVEUPDATE_OPEN', {}, 'luo'),
      ...session(),
      preserve('$mfd', 1),
      s('KEXEC'),
      ...retrieveSession,
      s('LIVEUPDATE_SESSION_RETRIEVE_FD', { session: '$in', token: '1' }, 'mfd2'),
      s('MEMFD_TRUNCATE', { fd: '$mfd2', pages: 8 }),
    ],
  },
  // sealed GROW only at map time: the preserve rule wants SEAL|GROW|SHRINK (EINVAL)
  'preserve-accepts-partial-seals': {
    steps: [...marked(B, ['GROW']), s('LIVEUPDATE_OPEN', {}, 'luo'), ...session(), preserve('$mfd', 1), preserve('$ifd', 2)],
  },
  'add-seals-overwrites': {
    steps: [s('MEMFD_CREATE', { pages: 4 }, 'mfd'), s('MEMFD_SEAL', { fd: '$mfd', seals: ['GROW'] }), s('MEMFD_SEAL', { fd: '$mfd', seals: ['SHRINK'] }), s('MEMFD_TRUNCATE', { fd: '$mfd', pages: 8 })],
  },
  'freeze-ignores-enabled-irqs': {
    steps: [
      s('IOMMUFD_OPEN', {}, 'ifd'),
      s('VFIO_CDEV_OPEN', { bdf: B }, 'cdev'),
      s('VFIO_DEVICE_BIND_IOMMUFD', { cdev: '$cdev', iommufd: '$ifd' }),
      s('VFIO_DEVICE_SET_IRQS', { cdev: '$cdev', enabled: true }),
      s('LIVEUPDATE_OPEN', {}, 'luo'),
      ...session(),
      preserve('$cdev', 1),
      s('KEXEC'),
    ],
  },
  'cdev-open-of-incoming-device': {
    steps: [...cdevPreservedAndKexec, s('VFIO_CDEV_OPEN', { bdf: B })],
  },
  'incoming-state-kept-after-bind': {
    steps: [
      ...cdevPreservedAndKexec,
      ...retrieveSession,
      s('LIVEUPDATE_SESSION_RETRIEVE_FD', { session: '$in', token: '1' }, 'cdev2'),
      s('IOMMUFD_OPEN', {}, 'own'),
      s('VFIO_DEVICE_BIND_IOMMUFD', { cdev: '$cdev2', iommufd: '$own' }),
      s('LIVEUPDATE_SESSION_FINISH', { session: '$in' }),
    ],
  },
  // vm1 preserves an unrelated iommufd under the same LUO token (2) as vm0's: it must not
  // claim the device preserved with vm0's iommufd
  'ownership-token-ignores-session': {
    steps: [
      ...marked(),
      s('IOMMUFD_OPEN', {}, 'other'),
      s('LIVEUPDATE_OPEN', {}, 'luo'),
      ...session(),
      ...session('vm1', 'session1'),
      preserve('$mfd', 1),
      preserve('$ifd', 2),
      preserve('$cdev', 3),
      preserve('$other', 2, '$session1'),
      s('KEXEC'),
      s('LIVEUPDATE_OPEN', {}, 'luo2'),
      s('LIVEUPDATE_IOCTL_RETRIEVE_SESSION', { name: 'vm1' }, 'in1'),
      s('LIVEUPDATE_SESSION_RETRIEVE_FD', { session: '$in1', token: '2' }, 'other2'),
      s('LIVEUPDATE_IOCTL_RETRIEVE_SESSION', { name: 'vm0' }, 'in'),
      s('LIVEUPDATE_SESSION_RETRIEVE_FD', { session: '$in', token: '3' }, 'cdev2'),
      s('VFIO_DEVICE_BIND_IOMMUFD', { cdev: '$cdev2', iommufd: '$other2' }),
    ],
  },
  // the iommufd in vm0, its device in vm1: ENOENT
  'device-preserve-ignores-iommufd-session': {
    steps: [...marked(), s('LIVEUPDATE_OPEN', {}, 'luo'), ...session(), ...session('vm1', 'session1'), preserve('$mfd', 1), preserve('$ifd', 2), preserve('$cdev', 3, '$session1')],
  },
  // a PASID-only attachment torn down by closing the cdev: the HWPT can then be destroyed
  'unbind-leaves-pasids-attached': {
    steps: [
      ...mapped([]),
      s('VFIO_CDEV_OPEN', { bdf: A }, 'cdev'),
      s('VFIO_DEVICE_BIND_IOMMUFD', { cdev: '$cdev', iommufd: '$ifd' }, 'dev'),
      s('IOMMU_HWPT_ALLOC', { iommufd: '$ifd', dev_id: '$dev', pt_id: '$ioas', flags: ['PASID'] }, 'h'),
      s('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: '$cdev', pt_id: '$h', pasid: 1 }),
      s('CLOSE', { fd: '$cdev' }),
      s('IOMMU_DESTROY', { iommufd: '$ifd', id: '$h' }),
    ],
  },
  'hwpt-destroy-leaks-ioas-ref': {
    steps: [
      s('IOMMUFD_OPEN', {}, 'ifd'),
      s('IOMMU_IOAS_ALLOC', { iommufd: '$ifd' }, 'ioas'),
      s('VFIO_CDEV_OPEN', { bdf: B }, 'cdev'),
      s('VFIO_DEVICE_BIND_IOMMUFD', { cdev: '$cdev', iommufd: '$ifd' }, 'dev'),
      s('IOMMU_HWPT_ALLOC', { iommufd: '$ifd', dev_id: '$dev', pt_id: '$ioas' }, 'h'),
      s('IOMMU_DESTROY', { iommufd: '$ifd', id: '$h' }),
      s('IOMMU_DESTROY', { iommufd: '$ifd', id: '$ioas' }),
    ],
  },
  'unpreserve-leaves-ioas-immutable': {
    steps: [
      ...marked(),
      s('LIVEUPDATE_OPEN', {}, 'luo'),
      ...session(),
      preserve('$mfd', 1),
      preserve('$ifd', 2),
      s('CLOSE', { fd: '$session' }),
    ],
  },
  'restored-token-reusable': {
    steps: [...preservedAndKexec, ...retrieved, s('IOMMU_HWPT_LU_RESTORE', { iommufd: '$ifd2', token: '0x1234' }), s('IOMMU_HWPT_LU_RESTORE', { iommufd: '$ifd2', token: '0x1234' })],
  },
  // rfc-v2's mark: marking a HWPT again with its own token is fine (V1 skips the target)
  'v1-mark-rejects-own-token': {
    profile: 'rfc-v2',
    steps: [
      s('IOMMUFD_OPEN', {}, 'ifd'),
      s('IOMMU_IOAS_ALLOC', { iommufd: '$ifd' }, 'ioas'),
      s('VFIO_CDEV_OPEN', { bdf: B }, 'cdev'),
      s('VFIO_DEVICE_BIND_IOMMUFD', { cdev: '$cdev', iommufd: '$ifd' }, 'dev'),
      s('IOMMU_HWPT_ALLOC', { iommufd: '$ifd', dev_id: '$dev', pt_id: '$ioas' }, 'h'),
      s('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: '$ifd', hwpt_id: '$h', token: '5' }),
      s('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: '$ifd', hwpt_id: '$h', token: '5' }),
    ],
  },
}

function scenario(name: string, c: Case) {
  return parseScenario(
    { name: `heldout-${name}`, description: `held-out defect ${name}`, ...(c.profile && { design: { profile: c.profile } }), ...(c.platform !== undefined && { platform: c.platform }), steps: c.steps },
    `heldout:${name}`,
  )
}

describe('the held-out registry', () => {
  it('has 15-20 defects, none of them seeded, each one hook away from the clean kernel', () => {
    expect(HELD_OUT.length).toBeGreaterThanOrEqual(15)
    expect(HELD_OUT.length).toBeLessThanOrEqual(20)
    expect(new Set(HELD_OUT_NAMES).size).toBe(HELD_OUT.length)
    for (const d of HELD_OUT) {
      expect(DEFECT_NAMES, d.name).not.toContain(d.name)
      expect(Object.keys(d.hooks), d.name).toHaveLength(1)
      const [hook, value] = Object.entries(d.hooks)[0]
      expect(value, `${d.name} changes ${hook}`).not.toBe(CLEAN[hook as keyof typeof CLEAN])
      expect(isDefectName(d.name)).toBe(true)
      expect(hooksFor(d.name)[hook as keyof typeof CLEAN]).toBe(value)
    }
    // no two held-out defects (nor a seeded one) share a hook
    const hooks = HELD_OUT.map((d) => Object.keys(d.hooks)[0])
    expect(new Set(hooks).size).toBe(hooks.length)
  })

  it('is accepted wherever a defect name is (KernelOptions.defect), an unknown name is not', () => {
    expect(() => createExecutor(DEFAULT_PLATFORM, resolveDesign({}), { impl: 'both', defect: HELD_OUT_NAMES[0] })).not.toThrow()
    expect(() => createExecutor(DEFAULT_PLATFORM, resolveDesign({}), { impl: 'both', defect: 'no-such-held-out-bug' })).toThrow(/unknown defect/)
  })

  it('luv run --impl both --defect HELD-OUT-NAME FILE exits 1 on a case, 0 without the defect', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'luv-heldout-')), 'add-seals-overwrites.json')
    writeFileSync(file, JSON.stringify({ name: 'add-seals-overwrites', description: 'held-out case', steps: CASES['add-seals-overwrites'].steps }))
    const luv = (argv: string[]) => main(argv, { stdout: { write: () => true }, stderr: { write: () => true }, env: {} })
    expect(await luv(['run', '--impl', 'both', '--defect', 'add-seals-overwrites', '-q', file])).toBe(1)
    expect(await luv(['run', '--impl', 'both', '-q', file])).toBe(0)
  })

  it('has a reachability case for every held-out defect', () => {
    expect(Object.keys(CASES).sort()).toEqual([...HELD_OUT_NAMES].sort())
  })
})

describe.each(HELD_OUT)('$name ($situation)', (d) => {
  const sc = scenario(d.name, CASES[d.name])

  it('its op sequence passes on the clean kernel', () => {
    const run = runOn(sc, sc.design, 'both')
    const why = run.steps.flatMap((x) => x.violations.map((v) => `step ${x.index} ${x.op.op}: ${v.property}: ${v.message}`))
    expect(run.steps.length, 'every step ran').toBe(sc.steps.length)
    expect(run.passed, why.join('\n')).toBe(true)
  })

  it('seeded, the kernel disagrees with the model or a property fires, at the last step', () => {
    const run = runOn(sc, sc.design, 'both', d.name)
    expect(run.passed, `${d.name}: nothing fired`).toBe(false)
    // the sequence is as short as the case needs: nothing fires before its last step
    const first = run.steps.find((x) => x.violations.length > 0)!
    expect(first.index, `${first.op.op}: ${first.violations[0].message}`).toBe(sc.steps.length - 1)
  })
})
