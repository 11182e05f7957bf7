// Issue 13: an exception thrown inside the kernel implementation is a conformance failure like
// any other — shrunk, bundled, replayable, with the exception's message in the report — not
// a harness error. The exception is seeded here by wrapping Kernel.apply (this file only).

import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveDesign } from '../../models/design.ts'
import { DEFAULT_PLATFORM } from '../../models/platform.ts'
import { runProperty } from '../../properties/run.ts'
import { runBlock } from '../../src/campaign/block.ts'
import { main } from '../../src/cli/main.ts'
import { Kernel } from '../../src/kernel/index.ts'
import { writeBundle } from '../../src/report/bundle.ts'
import { toCounterexample } from '../../src/report/from-failure.ts'

const design = resolveDesign({})
const original = Kernel.prototype.apply

beforeAll(() => {
  Kernel.prototype.apply = function (this: Kernel, ...args: Parameters<Kernel['apply']>) {
    if (args[0].op === 'VFIO_DEVICE_SET_IRQS') throw new TypeError('seeded: set_irqs exploded')
    return original.apply(this, args)
  }
})
afterAll(() => {
  Kernel.prototype.apply = original
})

describe('an exception in the kernel implementation', () => {
  it('is a shrunk conformance failure, not a harness error', () => {
    const r = runProperty({ platform: DEFAULT_PLATFORM, design, impl: 'both', seed: 5, numRuns: 200 })
    expect(r.error).toBeUndefined()
    expect(r.passed).toBe(false)
    const f = r.failure!
    expect(f.violation.property).toBe('conformance')
    expect(f.violation.message).toMatch(/VFIO_DEVICE_SET_IRQS\(.*\): the kernel implementation threw TypeError: seeded: set_irqs exploded at test\/|VFIO_DEVICE_SET_IRQS\(.*\): the kernel implementation threw TypeError: seeded: set_irqs exploded/)
    // nothing but the op that throws is needed
    expect(f.ops.map((o) => o.op)).toEqual(['VFIO_DEVICE_SET_IRQS'])
  })

  it('is bundled with the message, and the bundle replays it', async () => {
    const r = runProperty({ platform: DEFAULT_PLATFORM, design, impl: 'both', seed: 5, numRuns: 200 })
    const cx = toCounterexample(r.failure!, { design, platform: DEFAULT_PLATFORM })
    const dir = await writeBundle(mkdtempSync(join(tmpdir(), 'luv-throw-')), cx)
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/seeded: set_irqs exploded/)
    let text = ''
    const sink = { write: (s: string) => (text += s) }
    expect(await main(['replay', dir], { stdout: sink, stderr: sink, env: {} })).toBe(1)
    expect(text).toMatch(/REPRODUCED: conformance/)
  })

  it('fails a campaign block with a failure to bundle, not an error', () => {
    const b = runBlock({ index: 0, seed: 5, numRuns: 50, platforms: [DEFAULT_PLATFORM], design, profile: 'lpc2025', impl: 'both', properties: ['conformance', 'atomicity'] })
    expect(b.error).toBeUndefined()
    expect(b.failure?.property).toBe('conformance')
    expect(b.failure?.cx.message).toMatch(/seeded: set_irqs exploded/)
  })
})
