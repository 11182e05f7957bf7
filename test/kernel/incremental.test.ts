// The per-step bookkeeping of the conformance executor (issue 12: cached probes merged instead
// of re-sorted, the model's observation cached on its immutable state, observations compared
// in one pass with the path worked out only on a mismatch, the kernel invariants walked only
// where an op wrote) against a full rebuild: a reference executor that does what
// src/check/conformance.ts did before, everything from scratch at every step — probes listed
// and sorted anew, both observations built, compared by isDeepStrictEqual, the kernel
// invariants swept in full, a failed op re-observed. On random runs, clean and with every
// seeded defect, both must give the same outcome at every step: results, violations (same
// messages, same order) and observations.

import fc from 'fast-check'
import { isDeepStrictEqual } from 'node:util'
import { describe, expect, it } from 'vitest'
import { DEFAULT_PLATFORM, initState, liveProbes, observe, resolveDesign, sortProbes, step, translations } from '../../models/index.ts'
import type { Design } from '../../models/design.ts'
import type { Observation, Probe } from '../../models/observation.ts'
import { err, opToString, resultToString, sameResult, type Op } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import type { State } from '../../models/state.ts'
import { firstDifference, invariantViolation, KernelExecutor, mergeProbes, ownersAfterKexec, sameObservation, thrownText } from '../../src/check/conformance.ts'
import type { StepOutcome, Violation } from '../../src/check/executor.types.ts'
import { checkStep } from '../../src/check/properties/index.ts'
import { DEFECT_NAMES, Kernel } from '../../src/kernel/index.ts'
import { shutdownEntry } from '../../src/kernel/vtd.ts'
import { PropertyFailure, runCommands, swarmArb, type Real } from '../../properties/commands.ts'

/** src/check/conformance.ts KernelExecutor.step as it was before issue 12, every step from scratch. */
class FullRebuild {
  model: State
  readonly kernel: Kernel
  private lastKernel?: { probes: Probe[]; obs: Observation }
  private broken?: Error
  constructor(platform: Platform, design: Design, defect?: string) {
    this.model = initState(platform, design)
    this.kernel = new Kernel(platform, design, { defect })
  }
  step(op: Op): StepOutcome {
    const prev = this.model
    const m = step(prev, op)
    this.model = m.state
    const violations: Violation[] = checkStep({ prev, op, result: m.result, next: m.state, transient: m.transient })
    let k: ReturnType<Kernel['apply']>, probes: Probe[], kernelObs: Observation, before: Probe[]
    try {
      if (this.broken) throw this.broken
      before = sortProbes([...liveProbes(prev), ...this.kernel.liveProbes()])
      k = this.kernel.apply(op, before)
      probes = sortProbes([...before, ...liveProbes(m.state), ...this.kernel.liveProbes()])
      kernelObs = this.kernel.observe(probes)
    } catch (e) {
      const first = !this.broken
      this.broken ??= e instanceof Error ? e : new Error(String(e))
      probes = sortProbes(liveProbes(m.state))
      const modelObs = observe(m.state, probes)
      if (first) violations.push({ property: 'conformance', message: `${opToString(op)}: the kernel implementation threw ${thrownText(this.broken)} (its result is shown as -EIO)` })
      return { result: m.result, kernelResult: err('EIO'), violations, observation: modelObs, kernelObservation: modelObs }
    }
    const modelObs = observe(m.state, probes)
    if (!sameResult(m.result, k.result))
      violations.push({ property: 'conformance', message: `${opToString(op)}: the kernel returned ${resultToString(k.result)}, the model ${resultToString(m.result)}` })
    const diff = isDeepStrictEqual(modelObs, kernelObs) ? undefined : firstDifference(modelObs, kernelObs)
    if (diff) violations.push({ property: 'conformance', message: `after ${op.op}: ${diff}` })
    const modelMid = m.transient.map((s) => translations(s, before))
    if (!isDeepStrictEqual(modelMid, k.transient)) violations.push({ property: 'conformance', message: `${op.op}: intermediate hardware states differ` })
    for (const message of this.kernel.invariants()) violations.push(invariantViolation(message))
    if (!k.result.ok && op.op !== 'LIVEUPDATE_SESSION_RETRIEVE_FD' && m.state === prev && this.lastKernel) {
      const d = firstDifference(this.lastKernel.obs, this.kernel.observe(this.lastKernel.probes))
      if (d) violations.push({ property: 'atomicity', message: `kernel: ${op.op} failed but changed the observable state: ${d.replace('model', 'before').replace('kernel', 'after')}` })
    }
    if (op.op === 'KEXEC' && k.result.ok) for (const message of ownersAfterKexec(prev, kernelObs)) violations.push({ property: 'ownership', message: `kernel: ${message}` })
    this.lastKernel = { probes, obs: kernelObs }
    return { result: m.result, kernelResult: k.result, violations, observation: modelObs, kernelObservation: kernelObs }
  }
}

/** The intermediate-state message names the first differing state; the reference only says
 *  that they differ. Everything else must be identical. */
const comparable = (o: StepOutcome): StepOutcome => ({
  ...o,
  violations: o.violations.map((v) => (v.message.includes('intermediate hardware states differ') ? { ...v, message: v.message.replace(/differ .*/, 'differ') } : v)),
})

const design = resolveDesign({})

/** Run each command list on both, every command even after a violation; the first disagreement. */
function audit(lists: Iterable<unknown>[], defect: string | undefined, paranoid = false): { steps: number; violated: number; mismatch?: string } {
  let steps = 0
  let violated = 0
  for (const [run, cmds] of lists.entries()) {
    const exec = new KernelExecutor(DEFAULT_PLATFORM, design, { impl: 'both', defect, paranoid })
    const ref = new FullRebuild(DEFAULT_PLATFORM, design, defect)
    const real: Real = { exec, state: () => exec.modelState(), trace: [] }
    for (const c of cmds as Iterable<fc.Command<object, Real>>) {
      const n = real.trace.length
      try {
        c.run({}, real)
      } catch (e) {
        if (!(e instanceof PropertyFailure)) throw e
      }
      for (const { op, outcome } of real.trace.slice(n)) {
        const want = ref.step(op)
        steps++
        if (want.violations.length > 0) violated++
        if (!isDeepStrictEqual(comparable(outcome), comparable(want))) {
          const what = !isDeepStrictEqual(outcome.violations, want.violations)
            ? `violations ${JSON.stringify(outcome.violations)} vs the full rebuild's ${JSON.stringify(want.violations)}`
            : `observations differ: ${firstDifference(outcome.observation, want.observation) ?? firstDifference(outcome.kernelObservation!, want.kernelObservation!)}`
          return { steps, violated, mismatch: `run ${run} step ${real.trace.indexOf(real.trace.find((t) => t.op === op)!)} ${opToString(op)}${defect ? ` (defect ${defect})` : ''}: ${what}` }
        }
      }
    }
    // the end of the run: finish() sweeps everything and finds nothing the last step did not report
    const end = exec.finish().map((v) => v.message)
    if (end.length > 0) return { steps, violated, mismatch: `run ${run} finish() found what no step reported: ${JSON.stringify(end)}` }
  }
  return { steps, violated }
}

const sample = (seed: number, numRuns: number) => fc.sample(swarmArb({ maxCommands: 80 }), { seed, numRuns })

describe('conformance bookkeeping against a full rebuild (issue 12)', () => {
  it('random runs on the clean kernel: the same outcome at every step', () => {
    const r = audit(sample(12, 40), undefined)
    expect(r.mismatch).toBeUndefined()
    expect(r.steps).toBeGreaterThan(1000)
  })

  it('random runs with each seeded defect: the same outcome, violations included, at every step', () => {
    let violated = 0
    for (const [i, defect] of DEFECT_NAMES.entries()) {
      const r = audit(sample(100 + i, 6), defect)
      expect(r.mismatch).toBeUndefined()
      violated += r.violated
    }
    // the defects do break things on these runs: the comparison covers violations, not only clean steps
    expect(violated).toBeGreaterThan(50)
  })

  it('paranoid mode (a full sweep every step) gives the same outcomes', () => {
    const r = audit(sample(13, 10), DEFECT_NAMES[0], true)
    expect(r.mismatch).toBeUndefined()
  })

  it('mergeProbes of sorted lists is sortProbes of their concatenation', () => {
    const probe = fc.record({ bdf: fc.constantFrom('0000:00:02.0', '0000:01:00.0', '0000:01:00.1'), pasid: fc.nat(3), iova: fc.bigInt(0n, 8n).map((x) => x << 12n) })
    fc.assert(
      fc.property(fc.array(fc.array(probe, { maxLength: 12 }), { minLength: 1, maxLength: 4 }), (lists) => {
        const sorted = lists.map((l) => sortProbes(l))
        expect(mergeProbes(...sorted)).toEqual(sortProbes(lists.flat()))
      }),
      { seed: 12, numRuns: 300 },
    )
  })

  it('sameObservation agrees with isDeepStrictEqual, also on a field it does not know', () => {
    const base = observe(initState(DEFAULT_PLATFORM, design))
    const variants: Observation[] = [
      structuredClone(base),
      { ...structuredClone(base), boot: 1 },
      { ...structuredClone(base), owners: { ...base.owners, extra: 'unowned' } },
      { ...structuredClone(base), fds: { 3: 'liveupdate' } },
      { ...structuredClone(base), memory: { ...base.memory, usedPages: base.memory.usedPages + 1 } },
      { ...structuredClone(base), iommufds: { 1: { 1: 'IOAS []' } } },
      { ...structuredClone(base), luo: { ...base.luo, open: !base.luo.open } },
      { ...structuredClone(base), translations: [{ bdf: '0000:00:02.0', pasid: 0, iova: 0x1000n, pa: null }] },
      { ...structuredClone(base), future: 1 } as Observation,
    ]
    for (const a of variants) for (const b of variants) expect(sameObservation(a, b)).toBe(isDeepStrictEqual(a, b))
  })
})

// Each section of touchedInvariants reacts to a write of what it reads, also a write no op of
// the random runs makes on its own: the kernel's state broken from the inside, one structure
// at a time, through the functions that write it.
describe('touchedInvariants: each section walks again after a write to what it reads', () => {
  const A = '0000:00:02.0'
  const ops: Op[] = [
    { op: 'MEMFD_CREATE', args: { pages: 2 } }, // fd 3
    { op: 'IOMMUFD_OPEN', args: {} }, // fd 4
    { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 4 } }, // ioas 1
    { op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: 4, ioas: 1, memfd: 3, start: 0n, length: 0x2000n, iova: 0x100000n } },
    { op: 'VFIO_CDEV_OPEN', args: { bdf: A } }, // fd 5
    { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: 5, iommufd: 4 } }, // dev 2
    { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 4, dev_id: 2, pt_id: 1 } }, // hwpt 3
    { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: 5, pt_id: 3 } },
    { op: 'DMA', args: { bdf: A, iova: 0x100000n } },
  ]
  const attached = () => {
    const k = new Kernel(DEFAULT_PLATFORM, design)
    for (const op of ops) expect(k.apply(op, []).result.ok, op.op).toBe(true)
    expect(k.invariants()).toEqual([])
    expect(k.touchedInvariants()).toEqual([])
    return k
  }
  const cases: [string, (k: Kernel) => void, RegExp][] = [
    ['an IOTLB entry filled with a wrong PFN (IOTLB section)', (k) => k.internals.m.iotlb.fill(0, 2, 0, 0x101, 7, 0), /stale IOTLB entry dmar0 DID 2 pasid 0 iova 0x101000/],
    ['a DID freed in domain_ida while an entry uses it (DID section)', (k) => k.internals.units[0].ida.free(2), /DID 2 is in use but not allocated in domain_ida/],
    ['a context entry cleared behind the kernel (entry section)', (k) => shutdownEntry(k.internals, k.internals.deviceByBdf.get(A)!, 0), /the kernel attached a domain but the entry is not present/],
    ['a software entry dropped with the hardware one left (entry section)', (k) => (k.internals.deviceByBdf.get(A)!.rid = undefined), /has a present entry .* the kernel did not program/],
    ['a table page freed under its domain (table section)', (k) => k.internals.m.phys.free(k.internals.deviceByBdf.get(A)!.rid!.domain.pt.tablePages().at(-1)!), /table page \d+ of domain \d+ is free/],
  ]
  for (const [what, corrupt, message] of cases)
    it(what, () => {
      const k = attached()
      corrupt(k)
      const touched = k.touchedInvariants()
      expect(touched.join('\n')).toMatch(message)
      expect(touched).toEqual(k.invariants())
      // and reported again while nothing changes, as the full sweep does
      expect(k.touchedInvariants()).toEqual(touched)
    })
})

// Kernel.matches (issue 12): the conformance executor compares the kernel's state with the
// model's observation directly and builds the kernel's observation only on a mismatch; it
// must say yes exactly when the built observation is deeply equal to the model's.
describe('Kernel.matches agrees with isDeepStrictEqual against the built observation', () => {
  /** Every observation one change away from `o`: each leaf changed, each record key dropped,
   *  a key added to each object, an element dropped from each array. */
  function variants(o: unknown): unknown[] {
    const out: unknown[] = []
    const change = (v: unknown): unknown[] =>
      typeof v === 'string' ? [`${v}x`, 0] : typeof v === 'number' ? [v + 1, -0 === v ? 0 : String(v)] : typeof v === 'bigint' ? [v + 1n, Number(v)] : typeof v === 'boolean' ? [!v] : v === null ? [0n, undefined] : []
    const walk = (v: unknown, put: (x: unknown) => unknown) => {
      if (Array.isArray(v)) {
        if (v.length > 0) out.push(put(v.slice(1)))
        v.forEach((x, i) => walk(x, (y) => put(v.map((z, j) => (j === i ? y : z)))))
      } else if (typeof v === 'object' && v !== null) {
        const r = v as Record<string, unknown>
        out.push(put({ ...r, extra: 'x' }), put(Object.assign(Object.create(null), r)))
        for (const key of Object.keys(r)) {
          const { [key]: _, ...rest } = r
          out.push(put(rest))
          walk(r[key], (y) => put({ ...r, [key]: y }))
        }
      } else for (const x of change(v)) out.push(put(x))
    }
    walk(o, (x) => x)
    return out
  }

  const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x === undefined ? '(undefined)' : x))

  function check(defect: string | undefined, seed: number, runs: number, every: number): { steps: number; differed: number; perturbed: number } {
    let steps = 0
    let differed = 0
    let perturbed = 0
    for (const cmds of sample(seed, runs)) {
      // the ops a run generates, replayed on a model and a kernel side by side
      const exec = new KernelExecutor(DEFAULT_PLATFORM, design, { impl: 'both', defect })
      const trace = runCommands(cmds, exec)
      let model = initState(DEFAULT_PLATFORM, design)
      const kernel = new Kernel(DEFAULT_PLATFORM, design, { defect })
      let last: Observation | undefined
      // the first step of a run with an outgoing or incoming session is perturbed too: the
      // every-Nth sample alone can miss every session (MUTATION.md, session 7: matchLuo's
      // session check forced off survived)
      let sessionSeen = false
      for (const { op } of trace) {
        model = step(model, op).state
        try {
          kernel.apply(op, [])
        } catch {
          break
        }
        steps++
        const probes = sortProbes([...liveProbes(model), ...kernel.liveProbes()])
        const pas = kernel.translate(probes)
        const modelObs = observe(model, probes)
        const full = kernel.observe(probes, pas)
        // observe() with the translations given equals observe() walking them itself
        expect(full).toEqual(kernel.observe(probes))
        const same = isDeepStrictEqual(modelObs, full)
        if (!same) differed++
        if (kernel.matches(modelObs, probes, pas) !== same) expect.fail(`${opToString(op)}: matches() says ${!same}, the observations ${same ? 'are equal' : `differ: ${firstDifference(modelObs, full)}`}`)
        if (!kernel.matches(full, probes, pas)) expect.fail(`${opToString(op)}: matches() refused the kernel's own observation`)
        // and against the kernel's observation of the step before, as the atomicity check
        // compares (most ops change something: the refusals are checked too)
        if (last !== undefined) {
          const was = isDeepStrictEqual(last, full)
          if (!was) differed++
          if (kernel.matches(last, probes, pas) !== was) expect.fail(`${opToString(op)} against the step before: matches() says ${!was}`)
        }
        last = full
        const session = !sessionSeen && full.luo.outgoing.length + full.luo.incoming.length > 0
        if (session) sessionSeen = true
        if (steps % every === 0 || session)
          for (const v of variants(full)) {
            if (isDeepStrictEqual(v, full)) continue
            perturbed++
            if (kernel.matches(v as Observation, probes, pas)) expect.fail(`matches() accepted ${firstDifference(v as Observation, full) ?? show(v)}`)
          }
      }
    }
    return { steps, differed, perturbed }
  }

  it('clean kernel: every step, and every observation one change away is refused', () => {
    const r = check(undefined, 21, 12, 6)
    expect(r.steps).toBeGreaterThan(300)
    expect(r.perturbed).toBeGreaterThan(2000)
  })

  it('seeded defects: it says no exactly where the observations differ (model against kernel, step against step)', () => {
    let differed = 0
    for (const [i, defect] of DEFECT_NAMES.entries()) differed += check(defect, 300 + i, 4, 1000).differed
    expect(differed).toBeGreaterThan(100)
  })
})
