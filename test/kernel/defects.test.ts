// The seeded-defect catalogue: each defect's scenario passes on the clean kernel and, with the
// defect seeded (`luv run --impl both --defect NAME`), fails with a violation of the property
// the catalogue names, or a conformance divergence.

import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.ts'
import { createExecutor, UsageError } from '../../src/check/index.ts'
import { DEFECT_NAMES, DEFECTS } from '../../src/kernel/defects/index.ts'
import { DEFAULT_PLATFORM } from '../../models/platform.ts'
import { resolveDesign } from '../../models/design.ts'
import { loadScenario, runOn } from './helpers.ts'

async function luv(argv: string[]) {
  let out = ''
  let err = ''
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {} })
  return { code, out, err }
}

describe('the defect catalogue', () => {
  it('has at least 10 defects with unique names, each with a scenario file of its stated length', () => {
    expect(DEFECTS.length).toBeGreaterThanOrEqual(10)
    expect(new Set(DEFECT_NAMES).size).toBe(DEFECTS.length)
    for (const d of DEFECTS) {
      expect(d.scenario).toBe(`properties/defects/${d.name}.json`)
      expect(existsSync(d.scenario), d.scenario).toBe(true)
      expect(loadScenario(d.scenario).steps.length, d.name).toBe(d.shortestLength)
      expect(Object.keys(d.hooks).length, `${d.name} changes one behaviour`).toBe(1)
    }
  })

  it('includes the required ones', () => {
    for (const name of [
      'missing-iotlb-flush-on-replace',
      'missing-iotlb-flush-on-unmap',
      'dids-not-reserved-at-boot',
      'dids-reserved-on-every-unit',
      'ioas-mutable-after-preserve',
      'token-truncated-to-u32',
      'unpreserved-context-entries-survive-kexec',
      'table-pages-freed-at-finish-while-attached',
      'replace-no-rollback-on-failure',
      'group-owner-left-set-after-release',
    ])
      expect(DEFECT_NAMES).toContain(name)
  })

  it('refuses an unknown defect name', () => {
    expect(() => createExecutor(DEFAULT_PLATFORM, resolveDesign({}), { impl: 'both', defect: 'no-such-bug' })).toThrow(UsageError)
  })
})

describe.each(DEFECTS)('$name', (d) => {
  const sc = loadScenario(d.scenario)

  it('its scenario passes on the clean kernel', () => {
    const run = runOn(sc, sc.design, 'both')
    const why = run.steps.flatMap((s) => s.violations.map((v) => `${s.index}: ${v.property}: ${v.message}`))
    expect(run.passed, why.join('\n')).toBe(true)
  })

  it(`seeded, it is caught by ${d.property}`, () => {
    const run = runOn(sc, sc.design, 'both', d.name)
    expect(run.passed).toBe(false)
    const violated = new Set(run.steps.flatMap((s) => s.violations.map((v) => v.property)))
    expect([...violated], 'the property the catalogue names').toContain(d.property)
  })

  it('luv run --impl both --defect NAME exits 1, and 0 without the defect', async () => {
    expect((await luv(['run', '--impl', 'both', '--defect', d.name, '-q', d.scenario])).code).toBe(1)
    expect((await luv(['run', '--impl', 'both', '-q', d.scenario])).code).toBe(0)
  })
})

describe('luv defects', () => {
  it('lists every defect with its property', async () => {
    const r = await luv(['defects'])
    expect(r.code).toBe(0)
    for (const d of DEFECTS) expect(r.out).toMatch(new RegExp(`^${d.name} +${d.property} +${d.shortestLength} +${d.scenario}$`, 'm'))
  })

  it('--json gives the catalogue as data', async () => {
    const r = await luv(['defects', '--json'])
    expect(r.code).toBe(0)
    const rows = JSON.parse(r.out) as { name: string; property: string; description: string }[]
    expect(rows.map((x) => x.name)).toEqual(DEFECT_NAMES)
    for (const x of rows) expect(x.description.length).toBeGreaterThan(40)
  })

  it('refuses arguments it does not know (exit 2)', async () => {
    const r = await luv(['defects', 'extra'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/unexpected argument 'extra'/)
  })
})
