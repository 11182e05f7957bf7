// Coverage in model terms (src/coverage/): the lifecycle labels along the documented flow,
// counting, merging and rendering, the campaign block's hook — and the reach requirement:
// the default generators must reach every (op, errno) pair exploration shows reachable.

import { produce } from 'immer'
import { describe, expect, it } from 'vitest'
import { resolveDesign } from '../../models/design.ts'
import { DEFAULT_CAMPAIGN_PLATFORMS, DEFAULT_PLATFORM } from '../../models/platform.ts'
import { run } from '../../models/step.ts'
import { DEFAULT_SEED } from '../../src/campaign/options.ts'
import { runBlock } from '../../src/campaign/block.ts'
import { Coverage, countingExecutor, mergeCoverage, renderCoverageMd, unreachedShapes, type CoverageData } from '../../src/coverage/coverage.ts'
import { DEEP_TRANSITIONS, DEFAULT_PLATFORM_GAPS, TEST_DEPTH, defaultCampaignCoverage, exploreDefaultScope, reachGaps, transitionsOf } from '../../src/coverage/reach.ts'
import { ARG_CLASSES, SHAPE_NAMES, argClasses, stepShapes } from '../../src/coverage/shapes.ts'
import { AXIS_NAMES } from '../../models/design.ts'
import type { Op, Result } from '../../models/ops.ts'
import type { State } from '../../models/state.ts'
import { summarySchema } from '../../src/campaign/merge.ts'
import { deviceState, deviceStates, sessionStates } from '../../src/coverage/model-terms.ts'
import fc from 'fast-check'
import { createExecutor } from '../../src/check/index.ts'
import { PropertyFailure, runCommands, swarmArb, type Real } from '../../properties/commands.ts'
import { loadScenario, resolvedOps } from '../kernel/helpers.ts'

const lpc = resolveDesign({})

describe('lifecycle labels', () => {
  it('follow a preserved device and its session through the documented flow', () => {
    const sc = loadScenario('properties/scenarios/lpc2025-full-flow.json')
    const { states } = run(sc.platform, sc.design, resolvedOps(sc))
    const squash = (xs: string[]) => xs.filter((x, i) => x !== xs[i - 1])
    const dev = squash(states.map((s, i) => deviceState(s, '0000:01:00.0', states[i - 1])))
    expect(dev).toEqual(['unbound', 'bound', 'attached', 'frozen', 'incoming', 'restored', 'reclaimed', 'finished', 'attached'])
    const sess = squash(states.map((s, i) => sessionStates(s, states[i - 1]).get('vm0') ?? '-'))
    // FINISH leaves the session in place (finished) until its fd is closed; the flow never closes it
    expect(sess).toEqual(['-', 'created', 'preserving', 'incoming', 'retrieved', 'finished'])
    // the other device never left its ordinary life
    expect(new Set(states.map((s) => deviceState(s, '0000:00:02.0')))).toEqual(new Set(['unbound']))
  })

  it('frozen means the domain behind the preserved device is preserved too', () => {
    const sc = loadScenario('properties/scenarios/lpc2025-full-flow.json')
    const { states } = run(sc.platform, sc.design, resolvedOps(sc))
    const s = states[16]
    expect(deviceState(s, '0000:01:00.0')).toBe('frozen')
    const dom = s.groups['0000:01:00.0'].domain as number
    const unpreserved = produce(s, (d) => {
      d.domains[dom].preserved = undefined
    })
    expect(deviceState(unpreserved, '0000:01:00.0')).toBe('preserved')
  })

  it('preserved is a cdev preserved without IOMMU state (attached to nothing), as the model reaches it', () => {
    // the regression scenario: bound, never attached, its cdev preserved, then KEXEC
    const sc = loadScenario('properties/regressions/cdev-preserved-without-iommu-state-comes-back-unowned.json')
    const { states } = run(sc.platform, sc.design, resolvedOps(sc))
    const squash = (xs: string[]) => xs.filter((x, i) => x !== xs[i - 1])
    expect(squash(states.map((s, i) => deviceState(s, '0000:00:02.0', states[i - 1])))).toEqual(['unbound', 'bound', 'preserved', 'incoming', 'reclaimed'])
  })
})

describe('lifecycle labels carried from step to step (issue 12: reused when the parts they read are unchanged)', () => {
  it('equal the labels computed afresh at every step of random runs', () => {
    const lists = fc.sample(swarmArb({ maxCommands: 80 }), { seed: 0x1abe1, numRuns: 60 })
    let reusedSteps = 0
    let checked = 0
    for (const cmds of lists) {
      const exec = createExecutor(DEFAULT_PLATFORM, lpc, { impl: 'model' })
      const real: Real = { exec, state: () => exec.modelState(), trace: [] }
      const cov = new Coverage()
      let labels: ReturnType<Coverage['states']> | undefined
      let prev = exec.modelState()
      for (const c of cmds as Iterable<fc.Command<object, Real>>) {
        try {
          c.run({}, real)
        } catch (e) {
          if (!(e instanceof PropertyFailure)) throw e
          break
        }
        const next = exec.modelState()
        labels = cov.states(prev, next, labels)
        if (next === prev || next.files === prev.files) reusedSteps++
        expect(labels.devices).toEqual(deviceStates(next, prev))
        expect([...labels.sessions]).toEqual([...sessionStates(next, prev)])
        checked++
        prev = next
      }
    }
    expect(checked).toBeGreaterThan(1000)
    expect(reusedSteps).toBeGreaterThan(100)
  })
})

describe('counting against a plain recount (issue 12: Map counters, keys made once, labels carried)', () => {
  /** The counts as the coverage tables define them, recomputed naively from the trace: every
   *  key concatenated afresh, every label computed afresh, each (op, option) pair counted per step. */
  function recount(trace: { prev: State; op: Op; result: Result; next: State }[]): CoverageData {
    const d = { format: 'luv-coverage', ops: {}, design: {}, devices: {}, deviceTransitions: {}, sessions: {}, sessionTransitions: {}, shapes: {}, args: {} } as unknown as Record<string, Record<string, number>>
    const bump = (m: string, k: string) => void (d[m][k] = (d[m][k] ?? 0) + 1)
    // a step's labels are read against the state before it (finished, released), and the
    // next step's transitions start from them
    let before = deviceStates(trace[0].prev)
    let was = sessionStates(trace[0].prev)
    for (const l of before) bump('devices', l)
    for (const l of was.values()) bump('sessions', l)
    for (const { prev, op, result, next } of trace) {
      bump('ops', `${op.op} ${'errno' in result ? result.errno : 'fault' in result ? 'fault' : 'ok'}`)
      for (const a of argClasses(op)) bump('args', a)
      for (const sh of stepShapes(prev, op, result, next)) bump('shapes', sh)
      for (const axis of AXIS_NAMES) bump('design', `${op.op} ${axis}=${prev.design[axis]}`)
      const devs = deviceStates(next, prev)
      devs.forEach((l, i) => {
        bump('devices', l)
        if (l !== before[i]) bump('deviceTransitions', `${before[i]} -> ${l}`)
      })
      const sess = sessionStates(next, prev)
      for (const [name, l] of sess) {
        bump('sessions', l)
        if (l !== was.get(name)) bump('sessionTransitions', `${was.get(name) ?? 'none'} -> ${l}`)
      }
      before = devs
      was = sess
    }
    return mergeCoverage([d as unknown as CoverageData])
  }

  it('a run counted by countingExecutor equals the recount of its trace, runs summed by add()', () => {
    const lists = fc.sample(swarmArb({ maxCommands: 80 }), { seed: 0xc0de, numRuns: 40 })
    const total = new Coverage()
    const all: CoverageData[] = []
    let steps = 0
    for (const cmds of lists) {
      const cov = new Coverage()
      const exec = countingExecutor(createExecutor(DEFAULT_PLATFORM, lpc, { impl: 'model' }), cov)
      const trace: { prev: State; op: Op; result: Result; next: State }[] = []
      const inner = exec.step.bind(exec)
      exec.step = (op) => {
        const prev = exec.modelState()
        const out = inner(op)
        trace.push({ prev, op, result: out.result, next: exec.modelState() })
        return out
      }
      runCommands(cmds, exec)
      if (trace.length === 0) continue
      steps += trace.length
      const want = recount(trace)
      expect(cov.data()).toEqual(want)
      total.add(cov)
      all.push(want)
    }
    expect(steps).toBeGreaterThan(1000)
    expect(total.data()).toEqual(mergeCoverage(all))
  })
})

describe('counting, merging, rendering', () => {
  it('counts every step once, expands (op, option) over the design, and merges by summing', () => {
    const sc = loadScenario('properties/scenarios/lpc2025-full-flow.json')
    const ops = resolvedOps(sc)
    const { states, results } = run(sc.platform, sc.design, ops)
    const c = new Coverage()
    c.start(states[0])
    ops.forEach((op, i) => c.step(states[i], op, results[i], states[i + 1]))
    const d = c.data()
    expect(Object.values(d.ops).reduce((a, b) => a + b, 0)).toBe(ops.length)
    expect(d.ops['LIVEUPDATE_SESSION_FINISH EBUSY']).toBe(1)
    expect(d.design['KEXEC ownership=token']).toBe(1)
    expect(d.design['KEXEC ownership=strict']).toBeUndefined()
    expect(d.deviceTransitions['incoming -> restored']).toBe(1)
    const twice = mergeCoverage([d, d])
    expect(twice.ops['DMA ok']).toBe(2 * d.ops['DMA ok'])
    // a block sums its runs' accumulators (Coverage.add), then one data(): the same as merging
    const sum = new Coverage()
    sum.add(c)
    sum.add(c)
    expect(sum.data()).toEqual(twice)
    const md = renderCoverageMd(twice).join('\n')
    expect(md).toMatch(/\| ownership=strict \| 0 \| 0 \| all \|/)
    expect(md).toMatch(/\| LIVEUPDATE_SESSION_FINISH \| ok 2, EBUSY 2 \| EBADF, ENOTTY, EINVAL \|/)
  })

  it('sharing shapes and argument classes: counted per step, summed by merge, kept by luv merge\'s summary schema', () => {
    const sc = loadScenario('properties/scenarios/lpc2025-full-flow.json')
    const ops = resolvedOps(sc)
    const { states, results } = run(sc.platform, sc.design, ops)
    const c = new Coverage()
    ops.forEach((op, i) => c.step(states[i], op, results[i], states[i + 1]))
    const d = c.data()
    expect(d.shapes!['kexec: preserved domain with 1 device']).toBe(1)
    expect(d.shapes!['kexec: preserved domain shared by >=2 devices on one unit']).toBeUndefined()
    expect(d.args!['MEMFD_SEAL.seals partial']).toBeGreaterThanOrEqual(1)
    const twice = mergeCoverage([d, JSON.parse(JSON.stringify(d))])
    expect(twice.shapes!['kexec: preserved domain with 1 device']).toBe(2)
    expect(twice.args!['MEMFD_SEAL.seals partial']).toBe(2 * d.args!['MEMFD_SEAL.seals partial'])
    // summary.json's coverage survives the schema luv merge reads shards with
    const parsed = summarySchema.shape.coverage.parse(JSON.parse(JSON.stringify(d)))
    expect(parsed).toEqual(d)
    const md = renderCoverageMd(twice).join('\n')
    expect(md).toMatch(/\| kexec: preserved domain with 1 device \| 2 \|/)
    expect(md).toMatch(/\| kexec: preserved domain shared by >=2 devices on one unit \| not reached \|/)
  })

  it('argument classes: flag words partly set, alignments, token widths', () => {
    expect(argClasses({ op: 'MEMFD_SEAL', args: { fd: 3, seals: ['GROW', 'SHRINK'] } })).toEqual(['MEMFD_SEAL.seals partial', 'MEMFD_SEAL.seals bit:SHRINK', 'MEMFD_SEAL.seals bit:GROW'])
    expect(argClasses({ op: 'MEMFD_SEAL', args: { fd: 3, seals: [] } })).toEqual(['MEMFD_SEAL.seals none'])
    expect(argClasses({ op: 'IOMMU_IOAS_MAP', args: { iommufd: 3, ioas: 1, length: 0x200000n, iova: 0x40000000n } })).toEqual(['IOMMU_IOAS_MAP.iova 1G', 'IOMMU_IOAS_MAP.length 2M'])
    expect(argClasses({ op: 'IOMMU_IOAS_UNMAP', args: { iommufd: 3, ioas: 1, iova: 0x100800n, length: 0n } })).toEqual(['IOMMU_IOAS_UNMAP.iova unaligned', 'IOMMU_IOAS_UNMAP.length zero'])
    expect(argClasses({ op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: 4, fd: 3, token: 0x1_0000_0002n } })).toEqual(['LIVEUPDATE_SESSION_PRESERVE_FD.token u64-high'])
    for (const op of ['IOMMU_HWPT_LU_MARK_PRESERVE', 'IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE'] as const)
      expect(argClasses({ op, args: { iommufd: 3, hwpt_id: 2, token: 0n } })).toEqual(['IOMMU_HWPT_LU_MARK_PRESERVE.token 0'])
    // every class an op can produce is in the universe the table lists
    expect(ARG_CLASSES.length).toBe(new Set(ARG_CLASSES).size)
  })

  it('the campaign block counts its generated runs (the hook in src/campaign/block.ts)', () => {
    const r = runBlock({ index: 0, seed: 7, numRuns: 4, platforms: [DEFAULT_PLATFORM], design: lpc, profile: 'lpc2025', impl: 'model', properties: ['atomicity'] })
    expect(r.passed).toBe(true)
    expect(Object.values(r.coverage!.ops).reduce((a, b) => a + b, 0)).toBe(r.steps)
  })
})

describe('reach: generation against exploration and the coverage tables', () => {
  // One default campaign shared by the checks below: the default campaign's platforms (the
  // default one and the superpage one, drawn per run), the CI seed, the model (what the
  // generators reach does not depend on the implementation checked against it).
  const RUNS = Number(process.env.LUV_COVERAGE_RUNS ?? 400)
  const campaign = () => defaultCampaignCoverage(RUNS)
  let got: ReturnType<typeof campaign> | undefined
  const defaultCampaign = () => (got ??= campaign())
  // the exploration of the default scope to TEST_DEPTH (src/coverage/reach.ts: deeper costs
  // too much here; bench/reach.ts checks DEEP_TRANSITIONS against a depth-5 one)
  let explored: Awaited<ReturnType<typeof exploreDefaultScope>> | undefined
  const exploration = async () => (explored ??= await exploreDefaultScope(TEST_DEPTH))

  it('the default campaign reaches every (op, errno) pair exploration reaches', async () => {
    const ex = await exploration()
    const { r, data } = defaultCampaign()
    expect(r.passed).toBe(true)
    const gaps = reachGaps(data, ex.coverage)
    expect(gaps.pairs).toEqual(Object.keys(DEFAULT_PLATFORM_GAPS).filter((k) => k in ex.coverage.ops).sort())
    expect(gaps.reachedGaps).toEqual([])
  })

  it('the default campaign reaches every lifecycle transition exploration reaches (and those a depth-5 one adds)', async () => {
    const ex = await exploration()
    const { r, data } = defaultCampaign()
    expect(r.passed).toBe(true)
    // the deeper list only holds what this exploration does not reach itself
    expect(DEEP_TRANSITIONS.filter((t) => transitionsOf(ex.coverage).includes(t))).toEqual([])
    expect(reachGaps(data, ex.coverage, DEEP_TRANSITIONS).transitions).toEqual([])
    // and not by a hair: the ones only the call-off and close-finishes steps of
    // properties/guide.ts make, several times each
    for (const t of ['preserved -> attached', 'preserved -> bound', 'preserved -> unbound', 'bound -> preserved', 'frozen -> unbound']) expect(data.deviceTransitions[t], t).toBeGreaterThanOrEqual(3)
    expect(data.sessionTransitions['retrieved -> created']).toBeGreaterThanOrEqual(3)
  })

  it('the default campaign reaches every sharing shape and argument class the tables define', () => {
    const { r, data } = defaultCampaign()
    expect(r.passed).toBe(true)
    expect(unreachedShapes(data)).toEqual({ shapes: [], args: [] })
    // and not by a hair: each of the situations the held-out defects needed, several times
    for (const s of ['kexec: preserved domain shared by >=2 devices on one unit', 'teardown: PASID-only domain detached', 'teardown: PASID-only domain closed', 'kexec: preserved domain with a 2 MiB leaf'])
      expect(data.shapes![s], s).toBeGreaterThanOrEqual(2)
    const md = renderCoverageMd(data).join('\n')
    expect(md).toMatch(new RegExp(`### Sharing shapes: ${SHAPE_NAMES.length} of ${SHAPE_NAMES.length} reached`))
    expect(md).toMatch(new RegExp(`### Argument classes: ${ARG_CLASSES.length} of ${ARG_CLASSES.length} reached`))
  })
})
