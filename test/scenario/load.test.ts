import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULT_PLATFORM } from '../../models/platform.ts'
import { PROFILES } from '../../models/design.ts'
import { ScenarioError, loadScenario, parseScenario } from '../../src/scenario/load.ts'
import { DESIGN_EXAMPLE } from './fixtures.ts'

/** A one-step scenario around `step`, plus top-level extras. */
const one = (step: unknown, extra: object = {}) => ({ name: 't', steps: [step], ...extra })

/** The ScenarioError parseScenario throws for `json` (fails the test if it does not throw). */
function errorOf(json: unknown): ScenarioError {
  try {
    parseScenario(json, 'bad.json')
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError)
    return e as ScenarioError
  }
  throw new Error('expected a ScenarioError')
}

describe('parseScenario: a valid file', () => {
  it('reads the DESIGN.md example: u64s as bigints, "$name" as references', () => {
    const s = parseScenario(DESIGN_EXAMPLE, 'example.json')
    expect(s.name).toBe('lpc2025-preserved-dma-survives-kexec')
    expect(s.steps).toHaveLength(8)
    expect(s.steps[1].args).toEqual({ fd: { ref: 'mfd' }, seals: ['SEAL', 'GROW', 'SHRINK'] })
    expect(s.steps[4].args).toMatchObject({ start: 0n, length: 0x4000n, iova: 0x100000n, memfd: { ref: 'mfd' } })
    expect(s.steps[2]).toEqual({ index: 2, op: 'IOMMUFD_OPEN', args: {}, as: 'ifd' })
    expect(s.steps[7].expect).toBe('ENOENT')
    expect(s.design.ownership).toBe('token')
    expect(s.designSpec).toEqual({ profile: 'lpc2025', overrides: { ownership: 'token' } })
    expect(s.platform.units).toEqual([{ name: 'dmar0', dids: 16 }])
  })

  it('uses the default platform and profile when they are left out', () => {
    const s = parseScenario({ name: 'x', steps: [] }, 'x.json')
    expect(s.platform).toEqual(DEFAULT_PLATFORM)
    expect(s.design).toEqual(PROFILES.lpc2025.design)
  })

  it('accepts u64 as hex, decimal string or safe integer, up to 2^64-1', () => {
    const step = (length: unknown) => one({ op: 'IOMMU_IOAS_MAP', args: { iommufd: 3, ioas: 1, length } })
    expect(parseScenario(step('0x4000'), 'x').steps[0].args.length).toBe(0x4000n)
    expect(parseScenario(step('16384'), 'x').steps[0].args.length).toBe(16384n)
    expect(parseScenario(step(16384), 'x').steps[0].args.length).toBe(16384n)
    expect(parseScenario(step('18446744073709551615'), 'x').steps[0].args.length).toBe((1n << 64n) - 1n)
    expect(parseScenario(step('0xffffffffffffffff'), 'x').steps[0].args.length).toBe((1n << 64n) - 1n)
  })

  it('reads expect { out } as a value or a reference', () => {
    const s = parseScenario(
      {
        name: 'x',
        steps: [
          { op: 'DMA', args: { bdf: '0000:01:00.0', iova: 0 }, as: 'pa', expect: { out: '0x1000' } },
          { op: 'DMA', args: { bdf: '0000:01:00.0', iova: 0 }, expect: { out: '$pa' } },
        ],
      },
      'x',
    )
    expect(s.steps[0].expect).toEqual({ out: 0x1000n })
    expect(s.steps[1].expect).toEqual({ out: { ref: 'pa' } })
  })
})

describe('parseScenario: a bad file names the step and the field', () => {
  it.each([
    ['unknown op', one({ op: 'IOMMU_FROB' }), 'steps[0].op', /unknown op "IOMMU_FROB" \(known: MEMFD_CREATE, .*DMA\)/],
    ['missing op', one({ args: {} }), 'steps[0].op', /missing/],
    [
      'bad u64',
      { name: 't', steps: [{ op: 'KEXEC' }, { op: 'IOMMU_IOAS_MAP', args: { iommufd: 3, ioas: 1, length: '4k' } }] },
      'steps[1].args.length',
      /expected a u64 \(hex string like "0x1000", decimal string, or safe integer\)/,
    ],
    ['u64 over 2^64-1', one({ op: 'DMA', args: { bdf: '0000:01:00.0', iova: '18446744073709551616' } }), 'steps[0].args.iova', /expected a u64/],
    ['u64 hex too long', one({ op: 'DMA', args: { bdf: '0000:01:00.0', iova: '0x10000000000000000' } }), 'steps[0].args.iova', /expected a u64/],
    ['u64 unsafe number', one({ op: 'DMA', args: { bdf: '0000:01:00.0', iova: 2 ** 60 } }), 'steps[0].args.iova', /expected a u64/],
    ['negative count', one({ op: 'MEMFD_CREATE', args: { pages: -1 } }), 'steps[0].args.pages', /non-negative integer/],
    [
      'null optional arg',
      one({ op: 'IOMMU_IOAS_MAP', args: { iommufd: 3, ioas: 1, length: '0x1000', iova: null } }),
      'steps[0].args.iova',
      /null is not allowed/,
    ],
    ['unknown argument', one({ op: 'CLOSE', args: { fd: 3, force: true } }), 'steps[0].args.force', /unknown argument \(CLOSE takes fd\)/],
    ['unknown step key', one({ op: 'KEXEC', expected: 'ok' }), 'steps[0].expected', /unknown key \(a step has op, args, as, expect, failNth\)/],
    ['unknown top-level key', { name: 't', steps: [], seed: 1 }, 'seed', /unknown key/],
    ['missing args', one({ op: 'MEMFD_SEAL' }), 'steps[0].args', /missing \(MEMFD_SEAL takes fd, seals\)/],
    ['bad bdf', one({ op: 'VFIO_CDEV_OPEN', args: { bdf: '01:00.0' } }), 'steps[0].args.bdf', /DDDD:BB:DD.F/],
    ['bad seal', one({ op: 'MEMFD_SEAL', args: { fd: 3, seals: ['SEAL', 'FUTURE_WRITE'] } }), 'steps[0].args.seals[1]', /seal name/],
    ['bad flag', one({ op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 3, dev_id: 1, pt_id: 2, flags: ['NEST'] } }), 'steps[0].args.flags[0]', /flag name/],
    ['bad expect', one({ op: 'KEXEC', expect: 'ENOEXEC' }), 'steps[0].expect', /an errno name/],
    ['bad as', one({ op: 'IOMMUFD_OPEN', as: '$ifd' }), 'steps[0].as', /without the \$/],
    // 'v3' is a profile now (issue 8): 'v9' is the unknown one
    ['unknown profile', { name: 't', steps: [], design: { profile: 'v9' } }, 'design.profile', /unknown profile "v9" \(known: lpc2025, rfc-v2, phase1, v3\)/],
    ['unknown axis', { name: 't', steps: [], design: { ownership2: 'token' } }, 'design.ownership2', /unknown design axis/],
    ['unknown option', { name: 't', steps: [], design: { ownership: 'mine' } }, 'design.ownership', /unknown option "mine" for axis 'ownership'/],
    [
      'never-bound $name',
      { name: 't', steps: [{ op: 'IOMMUFD_OPEN', as: 'ifd' }, { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: '$idf' } }] },
      'steps[1].args.iommufd',
      /\$idf is not bound by any earlier step/,
    ],
    [
      '$name bound only later',
      { name: 't', steps: [{ op: 'CLOSE', args: { fd: '$m' } }, { op: 'MEMFD_CREATE', args: { pages: 1 }, as: 'm' }] },
      'steps[0].args.fd',
      /\$m is not bound by any earlier step/,
    ],
    ['unbound $name in expect', one({ op: 'DMA', args: { bdf: '0000:01:00.0', iova: 0 }, expect: { out: '$pa' } }), 'steps[0].expect.out', /\$pa is not bound/],
    [
      'platform: unknown unit',
      { name: 't', steps: [], platform: { memoryPages: 8, units: [{ name: 'dmar0', dids: 8 }], devices: [{ bdf: '0000:01:00.0', unit: 'dmar9' }] } },
      'platform.devices[0].unit',
      /no unit named 'dmar9'/,
    ],
    ['platform: missing field', { name: 't', steps: [], platform: { units: [], devices: [] } }, 'platform.memoryPages', /missing/],
    ['missing name', { steps: [] }, 'name', /missing/],
  ])('%s', (_what, json, field, message) => {
    const e = errorOf(json)
    expect(e.field).toBe(field)
    expect(e.message).toMatch(message)
    expect(e.message.startsWith(`bad.json: ${field}: `)).toBe(true)
  })

  it('rejects JSON that is not an object', () => {
    expect(errorOf([1, 2]).message).toMatch(/^bad\.json: expected a JSON object/)
  })
})

describe('loadScenario', () => {
  const dir = mkdtempSync(join(tmpdir(), 'luv-load-'))

  it('reads a file', () => {
    const f = join(dir, 'ok.json')
    writeFileSync(f, JSON.stringify(DESIGN_EXAMPLE))
    expect(loadScenario(f).source).toBe(f)
  })

  it('names the file on bad JSON', () => {
    const f = join(dir, 'bad.json')
    writeFileSync(f, '{ "name": "x", "steps": [ }')
    expect(() => loadScenario(f)).toThrow(new RegExp(`^${f}: invalid JSON`))
  })

  it('names the file when it cannot be read', () => {
    const f = join(dir, 'missing.json')
    expect(() => loadScenario(f)).toThrow(ScenarioError)
    expect(() => loadScenario(f)).toThrow(/missing\.json: cannot read file \(ENOENT\)/)
  })
})
