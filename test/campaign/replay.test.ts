// luv replay on hand-written files: a bundle folder with a scenario.json and an ITF trace,
// written here without luv's renderers or fast-check, as a user keeping a counterexample for
// months would have it. The trace is the RFC v2 finding: replacing the restored domain after
// KEXEC tears the entry down first, so the running device faults (dma-continuity).

import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Op } from '../../models/ops.ts'
import { fakeExecutor } from '../scenario/fake-executor.ts'
import { luv, tmp } from './helpers.ts'

const STEPS: [string, Record<string, unknown>][] = [
  ['MEMFD_CREATE', { pages: 4 }],
  ['MEMFD_SEAL', { fd: 3, seals: ['SEAL', 'GROW', 'SHRINK'] }],
  ['IOMMUFD_OPEN', {}],
  ['IOMMU_IOAS_ALLOC', { iommufd: 4 }],
  ['VFIO_CDEV_OPEN', { bdf: '0000:00:02.0' }],
  ['IOMMU_IOAS_MAP_FILE', { iommufd: 4, ioas: 1, memfd: 3, start: '0x0', length: '0x4000', iova: '0x100000' }],
  ['VFIO_DEVICE_BIND_IOMMUFD', { cdev: 5, iommufd: 4 }],
  ['IOMMU_HWPT_ALLOC', { iommufd: 4, dev_id: 2, pt_id: 1 }],
  ['VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: 5, pt_id: 3 }],
  ['IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: 4, hwpt_id: 3, token: '4663' }],
  ['LIVEUPDATE_OPEN', {}],
  ['LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'vm0' }],
  ['LIVEUPDATE_SESSION_PRESERVE_FD', { session: 7, fd: 3, token: '1' }],
  ['LIVEUPDATE_SESSION_PRESERVE_FD', { session: 7, fd: 4, token: '2' }],
  ['LIVEUPDATE_SESSION_PRESERVE_FD', { session: 7, fd: 5, token: '3' }],
  ['KEXEC', {}],
]

const PLATFORM = {
  memoryPages: 64,
  units: [{ name: 'dmar0', dids: 8 }],
  devices: [{ bdf: '0000:00:02.0', unit: 'dmar0', pasids: 4 }],
}

const scenario = {
  name: 'rfc-v2-replace-not-hitless',
  description: 'hand-written: the restored domain is replaced with teardown-then-setup',
  platform: PLATFORM,
  design: { profile: 'rfc-v2' },
  steps: STEPS.map(([op, args]) => ({ op, ...(Object.keys(args).length > 0 && { args }), expect: 'ok' })),
}

// ITF by hand: u64s and ids as #bigint, absent optional arguments as None
const U64 = new Set(['start', 'length', 'iova', 'token'])
const big = (v: unknown) => ({ '#bigint': String(BigInt(v as string | number)) })
const NONE = { tag: 'None', value: { '#tup': [] } }
const OPTIONAL: Record<string, string[]> = { IOMMU_IOAS_MAP_FILE: ['iova'], IOMMU_HWPT_ALLOC: ['flags'], VFIO_DEVICE_ATTACH_IOMMUFD_PT: ['pasid'], IOMMU_HWPT_LU_SET_PRESERVE: ['preserve'] }
function picks(op: string, args: Record<string, unknown>) {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(args)) {
    const enc = U64.has(k) || typeof v === 'number' ? big(v) : v
    out[k] = OPTIONAL[op]?.includes(k) ? { tag: 'Some', value: enc } : enc
  }
  for (const k of OPTIONAL[op] ?? []) if (!(k in out)) out[k] = NONE
  return out
}
const itf = {
  '#meta': {
    format: 'ITF',
    source: 'hand-written',
    property: 'dma-continuity',
    divergenceIndex: 15, // 0-based: steps[15]
    design: { profile: 'rfc-v2' },
    platform: PLATFORM,
  },
  vars: ['mbt::actionTaken', 'mbt::nondetPicks'],
  states: [
    { '#meta': { index: 0 }, 'mbt::actionTaken': 'init', 'mbt::nondetPicks': {} },
    ...STEPS.map(([op, args], i) => ({ '#meta': { index: i + 1 }, 'mbt::actionTaken': op, 'mbt::nondetPicks': picks(op, args) })),
  ],
}

const dir = tmp('luv-replay-')
const bundle = join(dir, '0123456789ab')
mkdirSync(bundle)
writeFileSync(join(bundle, 'scenario.json'), JSON.stringify(scenario, null, 2))
writeFileSync(join(bundle, 'trace.itf.json'), JSON.stringify(itf, null, 2))
const itfOnly = join(dir, 'itf-only')
mkdirSync(itfOnly)
writeFileSync(join(itfOnly, 'trace.itf.json'), JSON.stringify(itf))

describe('luv replay of hand-written files (no fast-check)', () => {
  it.each([
    ['the bundle folder', bundle],
    ['its scenario.json', join(bundle, 'scenario.json')],
    ['its trace.itf.json', join(bundle, 'trace.itf.json')],
    ['a folder with only a trace', itfOnly],
  ])('%s: the failure reproduces (exit 1) and the trace shows it', async (_what, path) => {
    const r = await luv(['replay', path, '--impl', 'model'])
    expect(r.err).toBe('')
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/^! \[15\] KEXEC\(\) = 0/m)
    expect(r.out).toMatch(/!! dma-continuity: .*not hitless/)
    expect(r.out).toMatch(/^REPRODUCED: dma-continuity at step 15/m)
    // what it replays against, before the verdict
    expect(r.out).toMatch(/^  against: design rfc-v2 \(from the file\); impl model; defect none/m)
    expect(r.out.trimEnd().split('\n').pop()).toBe('0 passed, 1 failed')
  })

  it('does not reproduce on a design with the hitless replace (exit 0)', async () => {
    const r = await luv(['replay', bundle, '--impl', 'model', '--set', 'replaceSwap=hitless'])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^NOT REPRODUCED: no property violation and no divergence \(recorded: dma-continuity at step 15\)$/m)
    expect(r.out).toContain('design rfc-v2 replaceSwap=hitless')
  })

  it('reports a model/kernel divergence with --impl both (a scripted kernel here)', async () => {
    const created: { impl: string; defect?: string }[] = []
    const r = await luv(['replay', bundle, '--defect', 'token-truncated-to-u32'], {
      createExecutor: (_p, _d, o) => {
        created.push(o)
        let fd = 3
        return fakeExecutor({
          impl: o.impl,
          respond: (op: Op) => (op.op === 'KEXEC' ? { result: { ok: true }, kernelResult: { ok: false, errno: 'EBUSY' } } : { ok: true, out: fd++ }),
        })
      },
    })
    expect(created).toEqual([{ impl: 'both', defect: 'token-truncated-to-u32' }])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/divergence: model 0, kernel -EBUSY/)
    expect(r.out).toMatch(/^REPRODUCED: conformance \(the kernel implementation diverged from the model\) at step 15 \(recorded: dma-continuity at step 15; this differs\)$/m)
  })

  it('names the recorded property when a step violates several and another comes first', async () => {
    // step 15 violates isolation before dma-continuity; the bundle recorded dma-continuity
    const r = await luv(['replay', bundle, '--impl', 'model'], {
      createExecutor: (_p, _d, o) => {
        let fd = 3
        return fakeExecutor({
          impl: o.impl,
          respond: (op: Op) =>
            op.op === 'KEXEC'
              ? { result: { ok: true }, violations: [{ property: 'isolation', message: 'scripted' }, { property: 'dma-continuity', message: 'scripted' }] }
              : { ok: true, out: fd++ },
        })
      },
    })
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/^REPRODUCED: dma-continuity at step 15 \(recorded: dma-continuity at step 15\)$/m)
    expect(r.out).toMatch(/^note: isolation was violated first, at step 15$/m)
  })

  it("takes the bundle's recorded defect when --defect is not given", async () => {
    const withDefect = join(dir, 'with-defect')
    mkdirSync(withDefect)
    writeFileSync(join(withDefect, 'scenario.json'), JSON.stringify(scenario))
    writeFileSync(join(withDefect, 'trace.itf.json'), JSON.stringify({ ...itf, '#meta': { ...itf['#meta'], defect: 'token-truncated-to-u32' } }))
    const created: { defect?: string }[] = []
    const r0 = await luv(['replay', withDefect], { createExecutor: (_p, _d, o) => (created.push(o), fakeExecutor({ impl: o.impl })) })
    expect(r0.err).toBe('')
    expect(created[0].defect).toBe('token-truncated-to-u32')
    const m = await luv(['replay', withDefect, '--impl', 'model'], { createExecutor: (_p, _d, o) => (created.push(o), fakeExecutor({ impl: o.impl })) })
    expect(m.out).toContain('note: the recorded defect token-truncated-to-u32 is not seeded: --impl model runs no kernel')
    expect(created[1].defect).toBeUndefined()
  })
})
