// Known findings, rediscovered: the matrix reproduces what the domain notes and the talk record
// (issue 11's list), and the default profile keeps every property. These are the only tests
// that name axes and options: each encodes one recorded finding.
//
// Fixed seed, 25 runs per design (one campaign block), the model alone (every finding here is
// a design finding: the model against the safety properties), in-process.

import { beforeAll, describe, expect, it } from 'vitest'
import { AXES, DEFAULT_PROFILE, PROFILE_NAMES } from '../../models/design.ts'
import { FINDINGS } from '../../properties/findings.ts'
import { buildMatrix, type Matrix, type MatrixRow } from '../../src/compare/matrix.ts'
import { resolveCompareOptions } from '../../src/compare/options.ts'
import { runCompare } from '../../src/compare/run.ts'
import { tmp } from '../campaign/helpers.ts'

// memoryRule only once it has an option that admits unpreserved memory (`none`, PINNED.md)
const HAS_MEMORY_NONE = (AXES.memoryRule as readonly string[]).includes('none')
const AXES_WITH_FINDINGS = ['ownership', 'replaceSwap', 'didReservation', 'unfinished', 'finishGate', ...(HAS_MEMORY_NONE ? ['memoryRule'] : [])]
let m: Matrix
const row = (label: string): MatrixRow => {
  const r = m.rows.find((x) => x.label === label)
  if (!r) throw new Error(`no row ${label} in ${m.rows.map((x) => x.label).join(', ')}`)
  return r
}
const broken = (r: MatrixRow) => Object.entries(r.cells).filter(([, c]) => c.verdict === 'breaks').map(([p]) => p)
const explanation = (label: string, property: string) => row(label).cells[property as 'ownership']?.explanation ?? ''

beforeAll(async () => {
  const o = resolveCompareOptions({ axes: AXES_WITH_FINDINGS.join(','), profiles: 'all', runs: '25', seed: '437', impl: 'model', out: tmp('luv-compare-findings-') })
  m = buildMatrix(o, await runCompare(o, {}, { inline: true }))
})

describe('known findings, rediscovered by luv compare', () => {
  it(`the default profile (${DEFAULT_PROFILE}) keeps every property`, () => {
    const base = row(DEFAULT_PROFILE)
    expect(broken(base)).toEqual([])
    for (const c of Object.values(base.cells)) expect(c.runs).toBe(25)
  })

  it('ownership=strict breaks recoverability: the bind after kexec gets EBUSY (as the talk reports)', () => {
    expect(broken(row('lpc2025 ownership=strict'))).toEqual(['recoverability'])
    expect(explanation('lpc2025 ownership=strict', 'recoverability')).toMatch(/documented recovery .*bind .*VFIO_DEVICE_BIND_IOMMUFD\(.*\) returned -EBUSY/)
  })

  it('ownership=allow-if-preserved lets another iommufd take a preserved device', () => {
    expect(broken(row('lpc2025 ownership=allow-if-preserved'))).toEqual(['ownership'])
    expect(explanation('lpc2025 ownership=allow-if-preserved', 'ownership')).toMatch(
      /^bind of the retrieved cdev of \S+ to a fresh iommufd after KEXEC succeeds at step \d+: DMA ownership moves without the token/,
    )
  })

  it('replaceSwap=teardown-then-setup breaks dma-continuity during the replace of a restored domain', () => {
    expect(broken(row('lpc2025 replaceSwap=teardown-then-setup'))).toEqual(['dma-continuity'])
    expect(explanation('lpc2025 replaceSwap=teardown-then-setup', 'dma-continuity')).toMatch(/recovery .* VFIO_DEVICE_ATTACH_IOMMUFD_PT.*replacing the restored domain faults/)
  })

  it('didReservation=none breaks isolation', () => {
    expect(broken(row('lpc2025 didReservation=none'))).toContain('isolation')
    expect(explanation('lpc2025 didReservation=none', 'isolation')).toMatch(/DID \d+ is in use but not reserved/)
  })

  it.runIf(HAS_MEMORY_NONE)('a memory rule that admits unpreserved memory (memoryRule=none) breaks dma-safety after kexec', () => {
    expect(broken(row('lpc2025 memoryRule=none'))).toContain('dma-safety')
  })

  it('unfinished=finish-discards: FINISH frees memory a restored HWPT still maps (dma-safety)', () => {
    const r = row('lpc2025 unfinished=finish-discards')
    expect(broken(r)).toContain('dma-safety')
    expect(explanation(r.label, 'dma-safety')).toMatch(/FINISH of the retrieved session .* can reach PA 0x[0-9a-f]+ .* which is free memory/)
  })

  it('finishGate=no-attachments (the V1 can_finish) frees memory a restored HWPT still maps (dma-safety)', () => {
    expect(broken(row('lpc2025 finishGate=no-attachments'))).toEqual(['dma-safety'])
    expect(explanation('lpc2025 finishGate=no-attachments', 'dma-safety')).toMatch(/attach of the retrieved cdev .* to the restored HWPT after KEXEC .*which is free memory/)
  })

  it('every profile breaks at least what properties/findings.ts records for it', () => {
    for (const p of PROFILE_NAMES) expect(broken(row(p))).toEqual(expect.arrayContaining(Object.keys(FINDINGS[p])))
  })

  it('rfc-v2 → phase1: dma-continuity stays (phase1 keeps teardown-then-setup, and its VFIO freeze resets the device: deviceAcrossKexec=reset-at-freeze)', () => {
    const v = m.versions.find((x) => x.from === 'rfc-v2' && x.to === 'phase1')!
    expect(v.stay.map((x) => x.property)).toContain('dma-continuity')
    expect(v.disappear.map((x) => x.property)).not.toContain('dma-continuity')
  })

  it('the version comparison says what appears, disappears and stays between consecutive profiles', () => {
    expect(m.versions).toHaveLength(PROFILE_NAMES.length - 1)
    for (const v of m.versions) {
      const [a, b] = [broken(row(v.from)), broken(row(v.to))]
      expect(v.appear.map((x) => x.property).sort()).toEqual(b.filter((x) => !a.includes(x)).sort())
      expect(v.disappear.map((x) => x.property).sort()).toEqual(a.filter((x) => !b.includes(x)).sort())
      expect(v.stay.map((x) => x.property).sort()).toEqual(b.filter((x) => a.includes(x)).sort())
    }
  })
})

describe('a property the kernel keeps reporting after it is set aside', () => {
  it('didReservation=none with the kernel: isolation starves the other properties, and the matrix warns', async () => {
    const o = resolveCompareOptions({ profile: DEFAULT_PROFILE, set: ['didReservation=none'], axes: 'didReservation', runs: '50', seed: '437', out: tmp('luv-compare-starve-') })
    const mm = buildMatrix({ ...o, rows: o.rows.slice(0, 1) }, await runCompare({ ...o, rows: o.rows.slice(0, 1) }, {}, { inline: true }))
    const r = mm.rows[0]
    expect(r.cells.isolation?.verdict).toBe('breaks')
    expect(r.runs).toBeLessThan(50)
    expect(r.warnings.join('\n')).toMatch(/^isolation kept failing in \d+ blocks? that no longer checked it .* got \d+ of 50 runs$/)
  })
})
