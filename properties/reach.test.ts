// Generation reaches deep live-update flows (issue: reaching depth): at least 30% of runs
// contain a KEXEC with a preserved device doing DMA afterwards, at least 10% complete a full
// recovery through FINISH, and every op returns each of its documented errnos somewhere in
// the default campaign (lpc2025 over the default, small and tiny platforms).

import { describe, expect, it } from 'vitest'
import { DEFAULT_PLATFORM, SMALL_PLATFORM, TINY_PLATFORM, resolveDesign } from '../models/index.ts'
import { DOCUMENTED_ERRNOS, notReachedReason } from './errnos.ts'
import { runProperty } from './run.ts'
import { PROPERTY_NAMES } from '../src/check/executor.types.ts'

// On the tiny platform (12 table pages, 2 usable DIDs on dmar0) the documented recovery can
// run out of table pages once two preserved domains hold theirs (every marked HWPT of a
// preserved iommufd is restored at boot under lpc2025, and the recovery allocates the new
// HWPT before it destroys the restored one): `recoverability` then reports the platform's
// size, not the design. The reach figures below are about what generation reaches, so the
// tiny run leaves that one property out; properties/recoverability.prop.test.ts still checks it
// there with the CI seed. (Reported to the lead: the property does not tell resource
// exhaustion from a design failure.)
const ALL = new Set(PROPERTY_NAMES)
const NOT_ON_TINY = new Set(PROPERTY_NAMES.filter((p) => p !== 'recoverability'))

const RUNS = Number(process.env.LUV_REACH_RUNS ?? 300)

describe('reach of the default campaign', () => {
  const seen = new Set<string>()
  const perPlatform: string[] = []
  let runs = 0
  let kexecDma = 0
  let recovered = 0
  for (const [name, platform, seed] of [
    ['default', DEFAULT_PLATFORM, 1],
    ['small', SMALL_PLATFORM, 2],
    ['tiny', TINY_PLATFORM, 3],
  ] as const) {
    let r0 = 0
    let k0 = 0
    let f0 = 0
    const r = runProperty({
      platform,
      design: resolveDesign({}),
      impl: 'model',
      seed,
      numRuns: RUNS,
      properties: name === 'tiny' ? NOT_ON_TINY : ALL,
      onRun: (reach) => {
        r0++
        if (reach.kexecWithPreservedDma) k0++
        if (reach.fullRecovery) f0++
        reach.outcomes.forEach((o) => seen.add(o))
      },
    })
    if (!r.passed) throw new Error(`the default campaign failed on the ${name} platform: ${r.failure?.violation.message ?? r.error}`)
    runs += r0
    kexecDma += k0
    recovered += f0
    perPlatform.push(`${name.padEnd(8)} runs ${r0}, KEXEC + preserved DMA ${((100 * k0) / r0).toFixed(1)}%, full recovery ${((100 * f0) / r0).toFixed(1)}%`)
  }

  it('prints its statistics', () => {
    console.log(['reach (fc.statistics-style):', ...perPlatform.map((l) => '  ' + l), `  ${seen.size} distinct (op, result) pairs`].join('\n'))
    expect(runs).toBe(3 * RUNS)
  })

  it('at least 30% of runs contain a KEXEC with a preserved device doing DMA after it', () => {
    expect(kexecDma / runs).toBeGreaterThanOrEqual(0.3)
  })

  it('at least 10% of runs complete a full recovery through FINISH', () => {
    expect(recovered / runs).toBeGreaterThanOrEqual(0.1)
  })

  it('every op returns each of its documented errnos', () => {
    const missing: string[] = []
    for (const [op, errnos] of Object.entries(DOCUMENTED_ERRNOS))
      for (const e of errnos) {
        const why = notReachedReason(op, e)
        if (!why && !seen.has(`${op} ${e}`)) missing.push(`${op} ${e}`)
      }
    expect(missing).toEqual([])
  })
})
