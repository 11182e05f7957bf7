import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Design } from '../../models/design.ts'
import type { Platform } from '../../models/platform.ts'
import type { Result } from '../../models/ops.ts'
import { main } from '../../src/cli/main.ts'
import type { CreateExecutor } from '../../src/cli/deps.ts'
import { fakeExecutor } from '../scenario/fake-executor.ts'
import { DESIGN_EXAMPLE } from '../scenario/fixtures.ts'

interface Captured {
  code: number
  out: string
  err: string
  created: { platform: Platform; design: Design; opts: { impl: string; defect?: string } }[]
}

/** Run the CLI in-process with a fake executor whose answers come from `respond`. */
async function luv(
  argv: string[],
  opts: { respond?: (op: { op: string }, n: number) => Result; tty?: boolean; env?: Record<string, string> } = {},
): Promise<Captured> {
  let out = ''
  let err = ''
  const created: Captured['created'] = []
  const createExecutor: CreateExecutor = (platform, design, o) => {
    created.push({ platform, design, opts: o })
    return fakeExecutor({ impl: o.impl, ...(opts.respond && { respond: opts.respond }) })
  }
  const code = await main(argv, {
    createExecutor,
    stdout: { write: (s: string) => (out += s), isTTY: opts.tty ?? false },
    stderr: { write: (s: string) => (err += s) },
    env: opts.env ?? {},
  })
  return { code, out, err, created }
}

const dir = mkdtempSync(join(tmpdir(), 'luv-cli-'))
function file(name: string, content: unknown): string {
  const p = join(dir, name)
  mkdirSync(join(p, '..'), { recursive: true })
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content))
  return p
}

/** Succeeds everywhere (outputs 3, 4, …) except: DMA faults, the second IOMMU_DESTROY is ENOENT. */
function exampleRespond() {
  let destroys = 0
  let n = 3
  return (op: { op: string }): Result => {
    if (op.op === 'DMA') return { ok: false, fault: 'not-present' }
    if (op.op === 'IOMMU_DESTROY') return destroys++ ? { ok: false, errno: 'ENOENT' } : { ok: true }
    return { ok: true, out: n++ }
  }
}

const example = file('example.json', DESIGN_EXAMPLE)
const lastLine = (s: string) => s.trimEnd().split('\n').at(-1)

describe('luv run', () => {
  it('exits 0 and ends with the count when every expectation holds', async () => {
    const r = await luv(['run', example], { respond: exampleRespond() })
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    expect(r.out).toContain('  [7] IOMMU_DESTROY(iommufd=5, id=6) = -ENOENT  expect ENOENT\n')
    expect(r.out).toContain('PASS lpc2025-preserved-dma-survives-kexec\n')
    expect(lastLine(r.out)).toBe('1 passed, 0 failed')
    expect(r.created[0].opts).toEqual({ impl: 'both' })
    expect(r.created[0].platform.units).toEqual([{ name: 'dmar0', dids: 16 }])
  })

  it('exits 1 on an expectation mismatch and marks the step', async () => {
    const r = await luv(['run', example], { respond: () => ({ ok: true, out: 3 }) })
    expect(r.code).toBe(1)
    expect(r.out).toContain('! [7] IOMMU_DESTROY(iommufd=3, id=3) = 3  expect ENOENT\n')
    expect(r.out).toContain('        !! expectation failed: expected ENOENT, got model 3, kernel 3\n')
    expect(lastLine(r.out)).toBe('0 passed, 1 failed')
  })

  it('expands a directory to its *.json files, sorted, and counts each', async () => {
    const d = join(dir, 'suite')
    // Created out of order: directory listing order must not leak into the run order.
    for (const n of ['c', 'a', 'e', 'b', 'd']) file(`suite/${n}.json`, { name: n, steps: [{ op: 'KEXEC', expect: 'ok' }] })
    file('suite/f.json', { name: 'f', steps: [{ op: 'KEXEC', expect: 'EBUSY' }] })
    file('suite/notes.txt', 'not a scenario')
    const r = await luv(['run', '--impl', 'model', d], { respond: () => ({ ok: true }) })
    expect(r.code).toBe(1)
    const order = [...r.out.matchAll(/^scenario (\w) \(/gm)].map((m) => m[1])
    expect(order).toEqual(['a', 'b', 'c', 'd', 'e', 'f'])
    expect(lastLine(r.out)).toBe('5 passed, 1 failed')
    expect(r.created.map((c) => c.opts.impl)).toEqual(Array(6).fill('model'))
  })

  it('--quiet prints only failing scenarios and the count', async () => {
    const r = await luv(['run', '-q', join(dir, 'suite')], { respond: () => ({ ok: true }) })
    expect(r.out).not.toContain('scenario a (')
    expect(r.out).toContain('scenario f (')
    expect(lastLine(r.out)).toBe('5 passed, 1 failed')
  })

  it('applies the file design, then --profile replaces its profile, then --set on top', async () => {
    const f = file('design.json', { name: 'd', design: { profile: 'phase1', ownership: 'strict' }, steps: [] })
    const plain = await luv(['run', f])
    expect(plain.created[0].design).toMatchObject({ restoreFlow: 'boot-only', ownership: 'strict' })
    expect(plain.out).toContain('  design phase1 ownership=strict, impl both\n')
    const cli = await luv(['run', '--profile', 'rfc-v2', '--set', 'replaceSwap=hitless', f])
    expect(cli.created[0].design).toMatchObject({
      restoreFlow: 'full', // rfc-v2
      ownership: 'strict', // the file's override survives --profile
      replaceSwap: 'hitless', // --set
    })
    const over = await luv(['run', '--set', 'ownership=token', f])
    expect(over.created[0].design.ownership).toBe('token')
  })

  it('passes --defect and --impl to the executor factory', async () => {
    const r = await luv(['run', '--impl', 'kernel', '--defect', 'did-reuse', example], { respond: exampleRespond() })
    expect(r.created[0].opts).toEqual({ impl: 'kernel', defect: 'did-reuse' })
  })

  it('colours only a TTY without NO_COLOR', async () => {
    expect((await luv(['run', example], { respond: exampleRespond(), tty: true })).out).toMatch(/\x1b\[/)
    expect((await luv(['run', example], { respond: exampleRespond(), tty: true, env: { NO_COLOR: '1' } })).out).not.toMatch(/\x1b\[/)
    expect((await luv(['run', example], { respond: exampleRespond() })).out).not.toMatch(/\x1b\[/)
  })
})

describe('luv run: bad usage or bad input exits 2 with a one-line message', () => {
  const bad = (name: string, json: unknown) => file(`bad/${name}.json`, json)
  const two = (step: unknown) => ({ name: 'x', steps: [{ op: 'KEXEC' }, step] })

  it.each([
    ['bad JSON', () => bad('json', '{"name": "x", "steps": [,]}'), /bad\/json\.json: invalid JSON/],
    ['unknown op', () => bad('op', two({ op: 'IOMMU_FROB' })), /op\.json: steps\[1\]\.op: unknown op "IOMMU_FROB" \(known: MEMFD_CREATE,/],
    ['bad u64', () => bad('u64', two({ op: 'DMA', args: { bdf: '0000:01:00.0', iova: '0x' } })), /u64\.json: steps\[1\]\.args\.iova: expected a u64/],
    ['null optional arg', () => bad('null', two({ op: 'DMA', args: { bdf: '0000:01:00.0', iova: 0, pasid: null } })), /steps\[1\]\.args\.pasid: null is not allowed/],
    ['unknown key', () => bad('key', two({ op: 'KEXEC', args: {}, comment: 'x' })), /steps\[1\]\.comment: unknown key/],
    ['bad bdf', () => bad('bdf', two({ op: 'VFIO_CDEV_OPEN', args: { bdf: '0000:01:00' } })), /steps\[1\]\.args\.bdf: expected a PCI address/],
    ['unknown profile in file', () => bad('profile', { name: 'x', steps: [], design: { profile: 'v9' } }), /design\.profile: unknown profile "v9"/],
    ['unknown axis in file', () => bad('axis', { name: 'x', steps: [], design: { hitless: 'yes' } }), /design\.hitless: unknown design axis/],
    ['unknown option in file', () => bad('option', { name: 'x', steps: [], design: { replaceSwap: 'fast' } }), /design\.replaceSwap: unknown option "fast"/],
    ['never-bound $name', () => bad('unbound', two({ op: 'CLOSE', args: { fd: '$fd' } })), /steps\[1\]\.args\.fd: \$fd is not bound by any earlier step/],
  ])('%s', async (_what, make, message) => {
    const r = await luv(['run', make()])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^luv run: /)
    expect(r.err).toMatch(message)
    expect(r.err.trimEnd().split('\n')).toHaveLength(1)
    expect(r.created).toHaveLength(0) // nothing ran
  })

  it('does not run anything when one of several files is bad', async () => {
    const r = await luv(['run', example, bad('late', two({ op: 'NOPE' }))], { respond: exampleRespond() })
    expect(r.code).toBe(2)
    expect(r.created).toHaveLength(0)
  })

  it('a "$name" bound by a failed step: prints the trace so far, exits 2', async () => {
    const f = bad('failed-binding', {
      name: 'fb',
      steps: [
        { op: 'MEMFD_CREATE', args: { pages: 4 }, as: 'mfd' },
        { op: 'MEMFD_SEAL', args: { fd: '$mfd', seals: ['SEAL'] } },
      ],
    })
    const r = await luv(['run', f], { respond: () => ({ ok: false, errno: 'ENOMEM' }) })
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/failed-binding\.json: steps\[1\]\.args\.fd: \$mfd is unbound: steps\[0\] \(MEMFD_CREATE\), which binds it, failed with -ENOMEM/)
    expect(r.out).toContain('  [0] MEMFD_CREATE(pages=4) = -ENOMEM\n')
    expect(r.out).toMatch(/^ERROR fb: /m)
    expect(lastLine(r.out)).toBe('0 passed, 1 failed')
  })

  it.each([
    [['run', '--frobnicate', 'x.json'], "luv run: unknown option '--frobnicate'"],
    [['run', '--impl', 'qemu', 'x.json'], "luv run: --impl: unknown implementation 'qemu' (known: model, kernel, both)"],
    [['run', '--impl', 'model', '--defect', 'did-reuse', 'x.json'], 'luv run: --defect seeds the kernel implementation; it needs --impl kernel or --impl both'],
    [['run', '--profile', 'v9', 'x.json'], "luv run: --profile v9: unknown profile 'v9' (known: lpc2025, rfc-v2, phase1, v3)"],
    [['run', '--set', 'hitless=yes', 'x.json'], "luv run: --set hitless=yes: unknown design axis 'hitless'"],
    [['run', '--set', 'replaceSwap=fast', 'x.json'], "luv run: --set replaceSwap=fast: unknown option 'fast' for axis 'replaceSwap'"],
    [['run', '--set', 'replaceSwap', 'x.json'], 'luv run: --set replaceSwap: expected AXIS=OPTION'],
    [['run'], 'luv run: no scenario file or directory given'],
    [['run', join(dir, 'nope.json')], 'nope.json: no such file or directory'],
    [['frob'], "luv: unknown command 'frob'"],
    [['--frob'], "luv: unknown option '--frob'"],
  ])('%j', async (argv, message) => {
    const r = await luv(argv as string[])
    expect(r.code).toBe(2)
    expect(r.err).toContain(message)
    expect(r.err.trimEnd().split('\n')).toHaveLength(1)
    expect(r.out).toBe('')
  })

  it('an executor factory that refuses (unknown defect) is bad usage', async () => {
    let err = ''
    const code = await main(['run', example], {
      createExecutor: () => {
        throw new Error("unknown defect 'nope' (see luv defects)")
      },
      stdout: { write: () => true },
      stderr: { write: (s: string) => (err += s) },
      env: {},
    })
    expect(code).toBe(2)
    expect(err).toBe("luv run: unknown defect 'nope' (see luv defects)\n")
  })
})
