import { describe, expect, it } from 'vitest'
import type { Op } from '../../models/ops.ts'
import { ItfError, itfToOps, parseItf, renderItf } from '../../src/report/itf.ts'
import { goldenCounterexample } from './fixture.ts'

const cx = goldenCounterexample()

describe('ITF', () => {
  it('itfToOps(itf(cx)) gives back the same ops, bigints revived', () => {
    const ops = itfToOps(renderItf(cx))
    expect(ops).toEqual(cx.steps.map((s) => s.op))
    const map = ops.find((o) => o.op === 'IOMMU_IOAS_MAP_FILE')
    expect(typeof (map?.args as { iova: unknown }).iova).toBe('bigint')
  })

  it('round-trips optional arguments as Option variants, present or absent', () => {
    const ops: Op[] = [
      { op: 'DMA', args: { bdf: '0000:00:02.0', pasid: 1, iova: 0xfffff000n, write: true } },
      { op: 'DMA', args: { bdf: '0000:00:02.0', iova: 0x1000n } },
      { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 3, dev_id: 1, pt_id: 2, flags: ['PASID', 'DIRTY_TRACKING'] } },
      { op: 'IOMMU_IOAS_MAP', args: { iommufd: 3, ioas: 1, length: 0x1000n } },
      { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 3, hwpt_id: 2, token: (1n << 64n) - 1n, preserve: false } },
    ]
    const withOps = { ...cx, divergenceIndex: 0, steps: ops.map((op, i) => ({ index: i, op, model: { ok: true as const }, violations: [] })) }
    const text = renderItf(withOps)
    expect(itfToOps(text)).toEqual(ops)
    const doc = JSON.parse(text)
    expect(doc.states[2]['mbt::nondetPicks'].pasid).toEqual({ tag: 'None', value: { '#tup': [] } })
    // Quint's MBT shape: every pick an Option, present ones Some
    expect(doc.states[1]['mbt::nondetPicks'].iova).toEqual({ tag: 'Some', value: { '#bigint': String(0xfffff000) } })
    expect(doc.states[1]['mbt::nondetPicks'].bdf).toEqual({ tag: 'Some', value: '0000:00:02.0' })
  })

  it('puts the run parameters in #meta and marks the diverging state', () => {
    const doc = JSON.parse(renderItf(cx))
    expect(doc['#meta']).toMatchObject({ format: 'ITF', status: 'violation', property: 'ownership', seed: 424242 })
    expect(doc.states).toHaveLength(cx.steps.length + 1)
    expect(doc.states[0]['mbt::actionTaken']).toBe('init')
    const last = doc.states[cx.steps.length]['#meta']
    expect(last).toMatchObject({ index: 22, step: 21, divergence: true, observed: true, violation: { property: 'ownership' } })
    expect(doc['#meta']).toMatchObject({ divergenceIndex: 21, observable: { kind: 'result', step: 21 } })
    expect(doc.vars).toContain('impl::owners')
    const { meta } = parseItf(doc)
    expect(meta).toMatchObject({ property: 'ownership', seed: 424242, path: '17:3:0:2', design: { profile: 'lpc2025' } })
    expect(meta.platform?.devices).toHaveLength(2)
  })

  it('leaves impl:: variables out when only the model ran', () => {
    const modelOnly = goldenCounterexample()
    for (const s of modelOnly.steps) {
      delete s.kernel
      delete s.kernel_obs
    }
    const doc = JSON.parse(renderItf(modelOnly))
    expect(doc.vars.some((v: string) => v.startsWith('impl::'))).toBe(false)
  })

  it('names the state and the field of a bad trace', () => {
    const doc = JSON.parse(renderItf(cx))
    doc.states[5]['mbt::nondetPicks'].length = { tag: 'Some', value: '0x2000' }
    expect(() => itfToOps(doc)).toThrow(ItfError)
    expect(() => itfToOps(doc)).toThrow(/states\[5\] \(step 4\): mbt::nondetPicks\.length: expected a u64/)

    const doc2 = JSON.parse(renderItf(cx))
    doc2.states[3]['mbt::actionTaken'] = 'IOMMU_FROB'
    expect(() => itfToOps(doc2)).toThrow(/states\[3\] \(step 2\): mbt::actionTaken: unknown op "IOMMU_FROB"/)

    const doc3 = JSON.parse(renderItf(cx))
    delete doc3.states[4]['mbt::nondetPicks'].iommufd
    expect(() => itfToOps(doc3)).toThrow(/states\[4\] \(step 3\): mbt::nondetPicks\.iommufd: missing/)

    const doc4 = JSON.parse(renderItf(cx))
    doc4.states[10]['mbt::nondetPicks'].pasid = 1
    expect(() => itfToOps(doc4)).toThrow(/states\[10\].*nondetPicks\.pasid: expected an Option/)

    const doc5 = JSON.parse(renderItf(cx))
    doc5.states[7]['mbt::nondetPicks'].bogus = 1
    expect(() => itfToOps(doc5)).toThrow(/states\[7\].*nondetPicks\.bogus: not an argument of VFIO_DEVICE_BIND_IOMMUFD/)

    expect(() => itfToOps('{')).toThrow(/not JSON/)
    expect(() => itfToOps({ vars: [], states: [] })).toThrow(/mbt::actionTaken is missing/)
  })
})
