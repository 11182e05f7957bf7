// Scope files (validated with zod, errors naming the field), the `luv explore` and
// `luv failnth` command lines.

import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.ts'
import { OP_NAMES } from '../../models/ops.ts'
import { checkInit, defaultScope, parseScope, scopeToJson, ScopeError } from '../../src/explore/scope.ts'

async function luv(argv: string[]) {
  let out = ''
  let err = ''
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {} })
  return { code, out, err }
}

describe('scope files', () => {
  const bad = (json: unknown) => () => parseScope(json, 's.json')
  it('name the field that is wrong', () => {
    expect(bad({ bounds: { iommufds: -1 } })).toThrow(/^s\.json: bounds\.iommufds: expected a count of live iommufds$/)
    expect(bad({ depht: 3 })).toThrow(/^s\.json: unknown key 'depht'$/)
    expect(bad({ domains: { seals: [['SEAL', 'GLUE']] } })).toThrow(/^s\.json: domains\.seals\[0\]\[1\]: expected a seal name/)
    expect(bad({ platform: { memoryPages: 0, units: [], devices: [] } })).toThrow(/^s\.json: platform\.memoryPages: /)
    expect(bad({ init: [{ name: 'x', steps: [{ op: 'NOPE' }] }] })).toThrow(/^s\.json: init\[0\]\.steps\[0\]/)
    expect(bad([])).toThrow(ScopeError)
  })
  it('check initial states against the platform, and skipOps against the vocabulary', () => {
    const s = parseScope({ init: [{ name: 'x', steps: [{ op: 'VFIO_CDEV_OPEN', args: { bdf: '0000:09:00.0' } }, { op: 'CLOSE', args: { fd: '$nope' } }] }] }, 's.json')
    expect(() => checkInit(s)).toThrow(/init\[0\].*steps\[1\]/)
    expect(() => checkInit(parseScope({ skipOps: ['KEXCE'] }, 's.json'))).toThrow(/skipOps: unknown op 'KEXCE'/)
  })
  it('the printed default scope reads back as the same scope', () => {
    const d = defaultScope()
    expect(parseScope(JSON.parse(JSON.stringify(scopeToJson(d))), 'default')).toEqual(d)
  })
})

describe('luv explore', () => {
  it('explores, prints TLC-style figures and writes its report; exit 0', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'luv-explore-cli-')), 'r')
    const r = await luv(['explore', '--depth', '1', '--conformance', 'off', '--out', out])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^luv explore: scope 'default' \(4 initial states\), design lpc2025, depth 1/)
    expect(r.out).toMatch(/\d+ states generated, \d+ distinct states found, 0 states left on queue\./)
    expect(r.out).toMatch(/PASS: no property violated in scope\./)
    const md = readFileSync(join(out, 'explore.md'), 'utf8')
    expect(md).toMatch(/## Coverage in model terms/)
    expect(md).toMatch(/### Device lifecycle: \d of 9 states reached/)
  })
  it('a violated property: exit 1, the shortest behaviour and its bundle', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'luv-explore-cli-')), 'r')
    const r = await luv(['explore', '--depth', '1', '--profile', 'phase1', '--conformance', 'off', '--out', out])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/Error: recoverability is violated/)
    const bundle = /bundle (\S+)\/ /.exec(r.out)![1]
    expect(existsSync(join(bundle, 'scenario.json'))).toBe(true)
  })
  it('a seeded kernel defect (--defect NAME): found by conformance with a shortest trace, bundled, and the bundle replays it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'luv-explore-cli-'))
    // cold boot, only the ops that open, bind and close a device: the defect's catalogue
    // trace has 4 steps (src/kernel/defects)
    const keep = new Set(['VFIO_CDEV_OPEN', 'IOMMUFD_OPEN', 'VFIO_DEVICE_BIND_IOMMUFD', 'CLOSE'])
    const scopeFile = join(dir, 'scope.json')
    writeFileSync(
      scopeFile,
      JSON.stringify({ name: 'device', depth: 4, init: [{ name: 'cold-boot', steps: [] }], bounds: { iommufds: 1, cdevs: 1 }, skipOps: OP_NAMES.filter((n) => !keep.has(n)) }),
    )
    const clean = await luv(['explore', '--scope', scopeFile, '--out', join(dir, 'clean')])
    expect(clean.code).toBe(0)
    const out = join(dir, 'r')
    const r = await luv(['explore', '--scope', scopeFile, '--defect', 'group-owner-left-set-after-release', '--out', out])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/FAIL: .*conformance/)
    const bundle = /bundle (\S+)\/ /.exec(r.out)![1]
    const sc = JSON.parse(readFileSync(join(bundle, 'scenario.json'), 'utf8'))
    // breadth-first: no shorter trace exists in scope, and the catalogue's is 4 steps
    expect(sc.steps.length).toBeLessThanOrEqual(4)
    const rep = await luv(['replay', bundle])
    expect(rep.code).toBe(1)
    expect(rep.out).toMatch(/REPRODUCED/)
  })
  it('bad input: exit 2 with the reason, nothing written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'luv-explore-cli-'))
    writeFileSync(join(dir, 's.json'), JSON.stringify({ depth: 0 }))
    for (const [argv, msg] of [
      [['explore', '--scope', join(dir, 's.json'), '--out', join(dir, 'o')], /depth: expected a depth >= 1/],
      [['explore', '--conformance', 'maybe'], /--conformance maybe: expected on or off/],
      [['explore', '--set', 'ownership=nobody'], /unknown option 'nobody' for axis 'ownership'/],
      [['explore', '--depth', 'x'], /--depth x: expected a positive integer/],
      [['explore', '--properties', 'conformance', '--conformance', 'off'], /conformance.*needs --impl both/],
    ] as [string[], RegExp][]) {
      const r = await luv(argv)
      expect(r.code, argv.join(' ')).toBe(2)
      expect(r.err).toMatch(msg)
    }
    expect(existsSync(join(dir, 'o'))).toBe(false)
  })
})

describe('luv failnth', () => {
  it('sweeps every allocation point of a scenario: each one -ENOMEM, unchanged, in step with the model; exit 0', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'luv-failnth-')), 'failnth.md')
    const r = await luv(['failnth', 'properties/scenarios/lpc2025-full-flow.json', '--out', out])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^ok   step 7 IOMMU_HWPT_ALLOC\(.*\) fail-nth 1: -ENOMEM, unchanged, model agrees, rest: \d+ steps agree$/m)
    expect(r.out).toMatch(/^PASS: every injected allocation failure gave -ENOMEM and changed nothing$/m)
    expect(readFileSync(out, 'utf8')).toMatch(/\| 7 \| `IOMMU_HWPT_ALLOC.* \| 5 \| -ENOMEM \| yes \| yes \|/)
  })
  it('an error path that does not unwind: exit 1, the point named', async () => {
    const r = await luv(['failnth', 'properties/scenarios/rfc-v2-full-flow.json', '--defect', 'replace-no-rollback-on-failure'])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/^FAIL step \d+ VFIO_DEVICE_ATTACH_IOMMUFD_PT\(.*\) fail-nth 1: -ENOMEM, CHANGED/m)
  })
  it('bad input: exit 2', async () => {
    expect((await luv(['failnth'])).code).toBe(2)
    expect((await luv(['failnth', '/nonexistent.json'])).err).toMatch(/no such file/)
    expect((await luv(['failnth', 'properties/scenarios/lpc2025-full-flow.json', '--defect', 'nope'])).err).toMatch(/unknown defect 'nope'/)
  })
})
