// Fault injection inside runs (issue 13; models/fault.ts): a step with fail-nth n armed fails
// the kernel's n-th fault-injectable allocation; the model then says -ENOMEM and nothing
// changed, and the kernel must agree. Committed faulted scenarios replay; a campaign with
// fault injection on finds an error path that leaks, one with it off does not; the bundle of
// that failure shows the faulted step in every file and replays it.

import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FAULT_POINTS, failNthOf, withFailNth } from '../../models/fault.ts'
import { OP_NAMES, type Op } from '../../models/ops.ts'
import { resolveDesign } from '../../models/design.ts'
import { DEFAULT_PLATFORM } from '../../models/platform.ts'
import { createExecutor } from '../../src/check/index.ts'
import { KernelExecutor } from '../../src/check/conformance.ts'
import { Kernel } from '../../src/kernel/index.ts'
import { loadScenario } from '../../src/scenario/load.ts'
import { runScenario } from '../../src/scenario/run.ts'
import { renderRun } from '../../src/scenario/print.ts'
import { resolveCampaignOptions } from '../../src/campaign/options.ts'
import { runCampaign } from '../../src/campaign/campaign.ts'
import { writeReport } from '../../src/campaign/write.ts'
import { seriesOf } from '../../src/report/series.ts'
import { luv, tmp } from '../campaign/helpers.ts'

const FAULTS = 'properties/faults'
const design = resolveDesign({})

describe('models/fault.ts', () => {
  it('classifies every op, and excludes only KEXEC, RETRIEVE_FD and DRIVER_BIND, each with its reason', () => {
    expect(Object.keys(FAULT_POINTS).sort()).toEqual([...OP_NAMES].sort())
    const excluded = OP_NAMES.filter((o) => FAULT_POINTS[o].kind === 'excluded')
    expect(excluded.sort()).toEqual(['DRIVER_BIND', 'KEXEC', 'LIVEUPDATE_SESSION_RETRIEVE_FD'])
    expect(FAULT_POINTS.KEXEC).toMatchObject({ why: expect.stringMatching(/liveupdate_reboot/) })
    expect(FAULT_POINTS.LIVEUPDATE_SESSION_RETRIEVE_FD).toMatchObject({ why: expect.stringMatching(/retrieve_status/) })
  })

  it('withFailNth arms and disarms without touching the op', () => {
    const op: Op = { op: 'IOMMUFD_OPEN', args: {} }
    const armed = withFailNth(op, 3)
    expect(failNthOf(armed)).toBe(3)
    expect(failNthOf(op)).toBeUndefined()
    expect(withFailNth(armed, undefined)).toEqual(op)
  })
})

describe('KernelExecutor.stepFailNth', () => {
  const setup: Op[] = [
    { op: 'IOMMUFD_OPEN', args: {} },
    { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 3 } },
  ]
  const fresh = () => {
    const e = createExecutor(DEFAULT_PLATFORM, design, { impl: 'both' })
    for (const op of setup) e.step(op)
    return e
  }

  it('reached: -ENOMEM on both sides, nothing changed, no violation; the next alloc gets the id it would have had', () => {
    const e = fresh()
    const out = e.stepFailNth!({ op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 3 } }, 1)
    expect(out.reached).toBe(true)
    expect(out.failNth).toEqual({ n: 1, reached: true })
    expect(out.result).toEqual({ ok: false, errno: 'ENOMEM' })
    expect(out.kernelResult).toEqual({ ok: false, errno: 'ENOMEM' })
    expect(out.violations).toEqual([])
    expect(e.step({ op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 3 } }).result).toMatchObject({ ok: true, out: 2 })
  })

  it('not reached: an ordinary step', () => {
    const e = fresh()
    const out = e.stepFailNth!({ op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 3 } }, 5)
    expect(out).toMatchObject({ reached: false, failNth: { n: 5, reached: false }, result: { ok: true, out: 2 }, violations: [] })
  })

  it('an op carrying failNth goes through stepFailNth; the model alone runs it as an ordinary step', () => {
    const op = withFailNth({ op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 3 } }, 1)
    expect(fresh().step(op).result).toEqual({ ok: false, errno: 'ENOMEM' })
    const m = createExecutor(DEFAULT_PLATFORM, design, { impl: 'model' })
    for (const s of setup) m.step(s)
    expect(m.stepFailNth).toBeUndefined()
    expect(m.step(op).result).toMatchObject({ ok: true, out: 2 })
  })

  it('an excluded op (KEXEC) runs unarmed', () => {
    const out = fresh().stepFailNth!({ op: 'KEXEC', args: {} }, 1)
    expect(out).toMatchObject({ reached: false, result: { ok: true } })
  })

  it("catches an error path that does not put things back at the faulted step itself (replace-no-rollback-on-failure)", () => {
    // rfc-v2 replaces the restored domain teardown-then-setup (step 32): fail the setup's first allocation
    const sc = loadScenario('properties/scenarios/rfc-v2-full-flow.json')
    const faulted = { ...sc, steps: sc.steps.map((st) => (st.index === 32 ? { ...st, failNth: 1 } : st)) }
    const at32 = (defect?: string) =>
      runScenario(faulted, { executor: createExecutor(sc.platform, sc.design, { impl: 'both', ...(defect && { defect }) }) }).steps[32]
    const clean = at32()
    expect(clean.op.op).toBe('VFIO_DEVICE_ATTACH_IOMMUFD_PT')
    expect(clean.failNth).toEqual({ n: 1, reached: true })
    expect(clean.result).toEqual({ ok: false, errno: 'ENOMEM' })
    expect(clean.violations).toEqual([])
    const buggy = at32('replace-no-rollback-on-failure').violations.map((v) => `${v.property}: ${v.message}`)
    expect(buggy).toContainEqual(expect.stringMatching(/^atomicity: kernel: VFIO_DEVICE_ATTACH_IOMMUFD_PT\(.*\) with fail-nth 1 failed but changed the observable state/))
    expect(buggy).toContainEqual(expect.stringMatching(/^conformance: after VFIO_DEVICE_ATTACH_IOMMUFD_PT with fail-nth 1: translation of 0000:01:00.0/))
  })

  it('a kernel allocation inside an op the model says allocates nothing is a conformance failure', () => {
    // test-only: pretend IOMMU_DESTROY allocated (and failed): the model's table says it cannot
    const e = fresh() as KernelExecutor
    const apply = e.kernel.apply.bind(e.kernel)
    e.kernel.apply = (op, probes, o) => (op.op === 'IOMMU_DESTROY' && o?.failNth ? { result: { ok: false, errno: 'ENOMEM' }, transient: [], failNthReached: true } : apply(op, probes, o))
    const out = e.stepFailNth({ op: 'IOMMU_DESTROY', args: { iommufd: 3, id: 1 } }, 1)
    expect(out.violations.map((v) => v.message).join('\n')).toMatch(/IOMMU_DESTROY, which the model says allocates nothing/)
  })
})

describe('committed scenarios with faulted steps', () => {
  const files = readdirSync(FAULTS).filter((f) => f.endsWith('.json'))
  it('there is at least one', () => expect(files.length).toBeGreaterThan(0))
  for (const f of files)
    for (const impl of ['both', 'kernel'] as const)
      it(`${f} replays (${impl})`, () => {
        const sc = loadScenario(join(FAULTS, f))
        const run = runScenario(sc, { executor: createExecutor(sc.platform, sc.design, { impl }) })
        expect(run.passed, renderRun(run).map((l) => l.text).join('\n')).toBe(true)
        const faulted = run.steps.filter((s) => s.failNth)
        expect(faulted.some((s) => s.failNth!.reached && 'errno' in s.result && s.result.errno === 'ENOMEM')).toBe(true)
      })

  it('luv run prints the faulted steps', async () => {
    const r = await luv(['run', join(FAULTS, 'lpc2025-allocation-failures-change-nothing.json')])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/\[7\] IOMMU_HWPT_ALLOC\(.*\) \[fail-nth 3: reached\] = -ENOMEM/)
    expect(r.out).toMatch(/\[16\] LIVEUPDATE_SESSION_PRESERVE_FD\(.*\) \[fail-nth 1: not reached, an ordinary step\] = 0/)
  })

  it.each([
    ['0', /steps\[1\]\.failNth: expected an integer >= 1/],
    ['1.5', /steps\[1\]\.failNth: expected an integer >= 1/],
    ['"2"', /steps\[1\]\.failNth: expected an integer >= 1/],
  ])('failNth %s is refused naming the step (exit 2)', async (v, msg) => {
    const dir = tmp('luv-faults-')
    const file = join(dir, 'bad.json')
    writeFileSync(file, `{"name": "bad", "steps": [{"op": "IOMMUFD_OPEN", "as": "ifd"}, {"op": "IOMMU_IOAS_ALLOC", "args": {"iommufd": "$ifd"}, "failNth": ${v}}]}`)
    const r = await luv(['run', file])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(msg)
  })

  it('failNth on an op excluded from fault injection is refused with the reason', async () => {
    const dir = tmp('luv-faults-')
    const file = join(dir, 'kexec.json')
    writeFileSync(file, '{"name": "k", "steps": [{"op": "KEXEC", "failNth": 1}]}')
    const r = await luv(['run', file])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/steps\[0\]\.failNth: KEXEC is not fault-injectable: not atomic: liveupdate_reboot/)
  })
})

describe('campaign --fail-rate', () => {
  it.each(['abc', '-0.1', '1.5', ''])('--fail-rate %j exits 2 with a clear message', async (v) => {
    const r = await luv(['campaign', '--runs', '1', `--fail-rate=${v}`, '--out', tmp()])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/--fail-rate .*expected the fraction of steps given a random fail-nth, a number from 0 to 1/)
  })

  it('defaults to a low rate; 0 turns it off', () => {
    expect(resolveCampaignOptions({ runs: '1', out: tmp() }).failRate).toBe(0.05)
    expect(resolveCampaignOptions({ runs: '1', out: tmp(), 'fail-rate': '0' }).failRate).toBe(0)
  })
})

// A test-only kernel bug that is not atomic under ENOMEM: an op that takes an iommufd and
// fails an injected allocation leaks an object id on its error path (the id allocated is not
// freed), so the next object of that iommufd gets another id than the model's. Ordinary runs
// never take that path; only fault injection does.
function withLeakyErrorPath(): () => void {
  const apply = Kernel.prototype.apply
  Kernel.prototype.apply = function (this: Kernel, op, probes, opts) {
    const r = apply.call(this, op, probes, opts)
    const fd = (op.args as { iommufd?: number }).iommufd
    if (r.failNthReached && fd !== undefined) {
      const f = this.internals.fds.get(fd)
      if (f?.kind === 'iommufd') f.ids.alloc()
    }
    return r
  }
  return () => {
    Kernel.prototype.apply = apply
  }
}

describe('a kernel error path that leaks, found only with fault injection', () => {
  let restore: (() => void) | undefined
  afterEach(() => {
    restore?.()
    restore = undefined
  })

  const campaign = async (rate: string) => {
    const out = tmp('luv-faults-campaign-')
    const o = resolveCampaignOptions({ runs: '50', 'fail-rate': rate, out, workers: '1' })
    const r = await runCampaign(o, {}, { inline: true })
    return { out, r }
  }

  it('the campaign with --fail-rate 0.05 finds it, with --fail-rate 0 it does not; the bundle shows and replays the faulted step', async () => {
    restore = withLeakyErrorPath()
    const on = await campaign('0.05')
    expect(on.r.summary.verdict).toBe('fail')
    expect(on.r.summary.failures[0].property).toBe('conformance')
    expect(on.r.summary.faults!.reached).toBeGreaterThan(0)
    expect(on.r.summary.failures[0].replay.fastCheck).toContain('--fail-rate 0.05')
    const off = await campaign('0')
    expect(off.r.summary.verdict).toBe('pass')
    expect(off.r.summary.faults).toBeUndefined()

    // the bundle: every file shows the faulted step
    await writeReport(on.r.summary, on.r.bundles)
    const bundle = join(on.out, on.r.summary.failures[0].bundle)
    const scenario = JSON.parse(readFileSync(join(bundle, 'scenario.json'), 'utf8'))
    const faulted = scenario.steps.findIndex((s: { failNth?: number }) => s.failNth !== undefined)
    expect(faulted).toBeGreaterThanOrEqual(0)
    expect(scenario.steps[faulted].expect).toBe('ENOMEM')
    const itf = JSON.parse(readFileSync(join(bundle, 'trace.itf.json'), 'utf8'))
    expect(itf.states[faulted + 1]['#meta']).toMatchObject({ failNth: scenario.steps[faulted].failNth, failNthReached: true })
    const n = scenario.steps[faulted].failNth
    expect(readFileSync(join(bundle, 'report.md'), 'utf8')).toContain(`[fail-nth ${n}]`)
    expect(readFileSync(join(bundle, 'email.txt'), 'utf8')).toContain(`[fail-nth ${n}]`)
    const repro = readFileSync(join(bundle, 'repro.c'), 'utf8')
    expect(repro).toContain(`if (fail_nth(${n}))`)
    expect(repro).toContain('ASSERT_EQ(0, fail_nth(0));')
    expect(repro).toContain('/proc/self/task/%ld/fail-nth')
    expect(readFileSync(join(on.out, 'summary.md'), 'utf8')).toMatch(/steps with fail-nth armed \(--fail-rate 0\.05\) \| \d+/)

    // replay: scenario.json and trace.itf.json reproduce it (the bug still in), a clean kernel does not
    expect((await luv(['replay', bundle])).code).toBe(1)
    expect((await luv(['replay', join(bundle, 'trace.itf.json')])).code).toBe(1)
    // and the fast-check replay summary.md lists (it carries --fail-rate: the draws depend on it)
    const seedReplay = await luv(on.r.summary.failures[0].replay.fastCheck.split(' ').slice(1))
    expect(seedReplay.code, seedReplay.out + seedReplay.err).toBe(1)
    restore()
    restore = undefined
    expect((await luv(['replay', bundle])).code).toBe(0)

    // repro.c builds against the kernel's selftest harness and uapi headers
    const HEADERS = process.env.LUV_KERNEL_HEADERS ?? '/var/cache/luv/linux-headers'
    if (!existsSync(join(HEADERS, '.done'))) throw new Error(`kernel headers missing at ${HEADERS}`)
    const dir = tmp('luv-faults-c-')
    cpSync(join(HEADERS, 'selftests'), dir, { recursive: true })
    mkdirSync(join(dir, 'liveupdate'), { recursive: true })
    const file = join(dir, 'liveupdate', 'faulted.c')
    writeFileSync(file, repro)
    const C_INCLUDE = new URL('../../src/report/c/include/', import.meta.url).pathname
    const series = seriesOf('lpc2025')
    const gcc = spawnSync('gcc', ['-Wall', '-fsyntax-only', '-I', join(C_INCLUDE, series.headers), '-I', join(C_INCLUDE, 'common'), '-isystem', join(HEADERS, 'usr/include'), file], { encoding: 'utf8' })
    expect(gcc.status, gcc.stderr).toBe(0)
    expect(gcc.stderr).not.toMatch(/warning:/)
  }, 300_000) // one campaign that finds, one that does not, three replays, gcc: minutes under load
})
