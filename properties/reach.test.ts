// Generation reaches deep live-update flows (issue: reaching depth): at least 30% of runs
// contain a KEXEC with a preserved device doing DMA afterwards, at least 10% complete a full
// recovery through FINISH, and every op returns each of its documented errnos somewhere in
// the default campaign (lpc2025 over the default, small and tiny platforms).

import { describe, expect, it } from 'vitest'
import { DEFAULT_PLATFORM, SMALL_PLATFORM, TINY_PLATFORM, resolveDesign } from '../models/index.ts'
import { DOCUMENTED_ERRNOS, NOT_REACHED } from './errnos.ts'
import { runProperty } from './run.ts'

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
        const why = (NOT_REACHED as Record<string, Record<string, string> | undefined>)[op]?.[e]
        if (!why && !seen.has(`${op} ${e}`)) missing.push(`${op} ${e}`)
      }
    expect(missing).toEqual([])
  })
})
