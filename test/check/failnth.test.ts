// The fail-nth sweep (src/check/failnth.ts, after iommufd_fail_nth.c) over every committed
// scenario and every defect scenario: each fault-injectable allocation of each op, failed in
// turn, gives ENOMEM and leaves the kernel as it was. And the sweep does catch an error path
// that does not unwind.

import { describe, expect, it } from 'vitest'
import { failNthSweep } from '../../src/check/failnth.ts'
import { loadScenario, resolvedOps, scenarioFiles } from '../kernel/helpers.ts'

const files = scenarioFiles(['properties/scenarios', 'properties/regressions', 'properties/defects'])

describe('fail-nth sweep', () => {
  it.each(files)('%s: every injected failure is ENOMEM and changes nothing', (f) => {
    const sc = loadScenario(f)
    const r = failNthSweep(sc.platform, sc.design, resolvedOps(sc))
    expect(r.findings.map((x) => x.message)).toEqual([])
    expect(r.injected).toBeGreaterThan(0)
  })

  it('reaches the allocation points of map, HWPT alloc, bind and attach', () => {
    const sc = loadScenario('properties/scenarios/lpc2025-full-flow.json')
    const ops = resolvedOps(sc)
    const r = failNthSweep(sc.platform, sc.design, ops)
    const points = (name: string) => Math.max(...ops.flatMap((o, i) => (o.op === name ? [r.pointsPerOp[i]] : [])))
    // IOAS alloc: the object id; HWPT alloc: root + 3 tables for 4 KiB leaves + the id;
    // attach: the DID and the context table; bind: the DEVICE id
    expect(points('IOMMU_IOAS_ALLOC')).toBe(1)
    expect(points('IOMMU_HWPT_ALLOC')).toBe(5)
    expect(points('VFIO_DEVICE_ATTACH_IOMMUFD_PT')).toBe(2)
    expect(points('VFIO_DEVICE_BIND_IOMMUFD')).toBe(1)
    expect(points('MEMFD_CREATE')).toBe(1)
  })

  it('catches an error path that does not put things back (replace-no-rollback-on-failure)', () => {
    // rfc-v2 replaces the restored domain teardown-then-setup: fail the setup's DID allocation
    const sc = loadScenario('properties/scenarios/rfc-v2-full-flow.json')
    const r = failNthSweep(sc.platform, sc.design, resolvedOps(sc), { defect: 'replace-no-rollback-on-failure' })
    expect(r.findings.length).toBeGreaterThan(0)
    expect(r.findings[0].message).toMatch(/VFIO_DEVICE_ATTACH_IOMMUFD_PT.*changed the observation/)
  })
})
