// Holes in what the default campaign reaches (issue 13, "generation that reaches what coverage
// shows missing"), closed or explained by the platforms its runs draw:
//
// * superpage-sized unmaps: the harness campaign (the power test, bench/defects.ts,
//   bench/heldout.ts: properties/harness.ts CAMPAIGN_PLATFORMS) now draws the 1024-page machine
//   `luv campaign` draws, so `psi-flush-truncated-for-large-unmap` (a 512-page unmap flushed
//   page-selectively past the PSI limit) is caught by both. Fails if either draw loses it.
// * the (op, errno) pairs the default campaign does not reach (properties/errnos.ts
//   NOT_REACHED): each verdict is held to the model, so a reason cannot go stale silently.
//   `generator hole` pairs are reached by the one step the reason names; the `platform` pair's
//   bound (more entries than usable DIDs on a unit) holds on the default campaign's platforms
//   and fails on the tiny one; the `unreachable` LUO pairs rest on lpc2025 being growable.

import { describe, expect, it } from 'vitest'
import { resolveDesign } from '../../models/design.ts'
import { IDA_START_DID } from '../../models/iommu.ts'
import type { Op } from '../../models/ops.ts'
import { DEFAULT_CAMPAIGN_PLATFORMS, DEFAULT_PLATFORM, TINY_PLATFORM, type Platform } from '../../models/platform.ts'
import { NOT_REACHED } from '../../properties/errnos.ts'
import { CAMPAIGN_PLATFORMS, CI, defectCampaign } from '../../properties/harness.ts'
import { runProperty } from '../../properties/run.ts'
import { resolvePlatforms } from '../../src/campaign/options.ts'
import { PROPERTY_NAMES } from '../../src/check/executor.types.ts'
import { createExecutor } from '../../src/check/index.ts'

const PSI = 'psi-flush-truncated-for-large-unmap'
// caught at run 6 (harness draw) at the CI seed; 60 leaves room for generator changes
const RUNS = 60

describe('superpage-sized unmaps reach psi-flush-truncated-for-large-unmap', () => {
  it('the harness campaign (power test, bench/defects.ts, bench/heldout.ts) catches it', () => {
    const r = defectCampaign(PSI, { seed: CI.seed, runs: RUNS })
    expect(r.error).toBeUndefined()
    expect(r.failure, `${PSI} not caught in ${r.runs} runs over ${CAMPAIGN_PLATFORMS.map((p) => p.memoryPages).join('/')}-page platforms`).toBeDefined()
    expect(r.failure!.platform.memoryPages).toBeGreaterThanOrEqual(1024)
  })

  it("`luv campaign`'s default draw catches it", () => {
    const platforms = resolvePlatforms('default')
    const r = runProperty({
      platform: platforms[0],
      platforms,
      design: resolveDesign({}),
      impl: 'both',
      defect: PSI,
      properties: new Set(PROPERTY_NAMES),
      seed: CI.seed,
      numRuns: RUNS,
      noShrink: true,
    })
    expect(r.error).toBeUndefined()
    expect(r.failure, `${PSI} not caught in ${r.runs} runs of the default draw`).toBeDefined()
  })
})

/** Run ops on a fresh model and kernel; the results of each, in order. */
function results(platform: Platform, ops: Op[]): string[] {
  const e = createExecutor(platform, resolveDesign({}), { impl: 'both' })
  return ops.map((op) => {
    const o = e.step(op)
    const name = (r: typeof o.result) => (r.ok ? 'ok' : 'errno' in r ? r.errno : r.fault)
    expect(name(o.kernelResult ?? o.result), `${op.op}: model and kernel disagree`).toBe(name(o.result))
    return name(o.result)
  })
}

const SETUP: Op[] = [
  { op: 'MEMFD_CREATE', args: { pages: 4 } },
  { op: 'IOMMUFD_OPEN', args: {} },
  { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 4 } },
] as Op[]
const U64_MAX = (1n << 64n) - 1n

describe('verdicts of the (op, errno) pairs the default campaign does not reach (properties/errnos.ts)', () => {
  const verdict = (op: string, errno: string) => (NOT_REACHED as Record<string, Record<string, string>>)[op]?.[errno]?.split(':')[0]

  it('every reason leads with its verdict', () => {
    for (const [op, per] of Object.entries(NOT_REACHED))
      for (const [errno, why] of Object.entries(per ?? {})) expect(why, `${op} ${errno}`).toMatch(/^(unreachable|generator hole|platform): /)
  })

  it('generator holes are one step away on the default platform (model and kernel agree)', () => {
    const steps: [string, string, Op][] = [
      ['IOMMU_IOAS_MAP_FILE', 'EOVERFLOW', { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: 4, ioas: 1, memfd: 3, start: 0n, length: 0x4000n, iova: U64_MAX - 0xfffn } }],
      ['IOMMU_IOAS_MAP_FILE', 'ENOSPC', { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: 4, ioas: 1, memfd: 3, start: 0n, length: 1n << 47n } }],
      ['IOMMU_IOAS_MAP', 'ENOSPC', { op: 'IOMMU_IOAS_MAP', args: { iommufd: 4, ioas: 1, length: 1n << 47n } }],
    ] as [string, string, Op][]
    for (const [op, errno, step] of steps) {
      expect(verdict(op, errno), `${op} ${errno}`).toBe('generator hole')
      expect(results(DEFAULT_PLATFORM, [...SETUP, step]).at(-1), `${op} ${errno}`).toBe(errno)
    }
  })

  /** Per unit: entries its devices can hold (RID + PASIDs 1..pasids-1) and usable DIDs. */
  const units = (p: Platform) =>
    p.units.map((u) => ({
      unit: u.name,
      entries: p.devices.filter((d) => d.unit === u.name).reduce((n, d) => n + 1 + Math.max(0, (d.pasids ?? 0) - 1), 0),
      usable: u.dids - IDA_START_DID,
    }))

  it('ATTACH ENOSPC: no unit of the default campaign platforms has more entries than usable DIDs; the tiny one has', () => {
    expect(verdict('VFIO_DEVICE_ATTACH_IOMMUFD_PT', 'ENOSPC')).toBe('platform')
    for (const p of resolvePlatforms('default')) for (const u of units(p)) expect(u.entries, `${u.unit}`).toBeLessThanOrEqual(u.usable)
    expect(DEFAULT_CAMPAIGN_PLATFORMS.length).toBe(resolvePlatforms('default').length)
    expect(units(TINY_PLATFORM).some((u) => u.entries > u.usable)).toBe(true)
    expect(CAMPAIGN_PLATFORMS).toContain(TINY_PLATFORM)
  })

  it('LUO capacity errnos are unreachable because lpc2025 is growable', () => {
    expect(resolveDesign({}).luoCapacity).toBe('growable')
    expect(verdict('LIVEUPDATE_IOCTL_CREATE_SESSION', 'ENOMEM')).toBe('unreachable')
    expect(verdict('LIVEUPDATE_SESSION_PRESERVE_FD', 'ENOSPC')).toBe('unreachable')
  })
})
