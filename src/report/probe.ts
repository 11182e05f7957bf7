// Making a failure observable. A seeded defect (or a real bug) often shows first as a
// difference of state: the kernel keeps a stale IOTLB entry, leaves an IOAS mutable, leaves a
// group owner set, keeps a DID allocated. No line of a reproducer can assert "the state
// differs"; it can only assert what a call returns. So after the diverging step, luv searches
// for the shortest probe - calls appended to the trace - after which a call returns something
// else in the kernel than in the model (a DMA that lands elsewhere, an ioctl that succeeds
// where it must fail). The candidates come from the diverging observation itself (the
// translations, objects, owners and files that differ) and from the documented recovery
// after a KEXEC (models/recovery.ts). The trace with its probe is then shrunk again, keeping
// the result difference at its end. Where no candidate shows the difference, the bundle says
// so and names the kernel state to inspect (the kernel-side invariant that failed).

import { recover } from '../../models/recovery.ts'
import type { Design } from '../../models/design.ts'
import type { Observation } from '../../models/observation.ts'
import { resultToString, type Op, type Result } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import { createExecutor } from '../check/index.ts'
import { materialize, symbolize } from '../check/minimize.ts'
import type { Executor, StepOutcome } from '../check/executor.types.ts'
import { diffObservations } from './obsdiff.ts'

/** How the last step of a counterexample shows the failure. */
export type Observable =
  /** the diverging step (0-based) itself returns one thing in the kernel and another in the model */
  | { kind: 'result'; step: number }
  /** steps `from`..`step` were appended by the probe search; `step` returns differently */
  | { kind: 'probe'; from: number; step: number; reason: string }
  /** no probe found: the difference is internal; `inspect` names the kernel state to look at */
  | { kind: 'state-only'; reason: string; inspect: string[] }

export interface ProbeInput {
  ops: readonly Op[]
  design: Design
  platform: Platform
  defect?: string
}

export interface ProbeResult {
  ops: Op[]
  observable: Observable
}

/** How many probe candidates are tried at most (each replays the trace). */
export const PROBE_BUDGET = 400
/** Replays the shrinking of trace + probe may use. */
export const PROBE_SHRINK_BUDGET = 200

const differs = (o: StepOutcome): boolean => o.kernelResult !== undefined && resultToString(o.kernelResult) !== resultToString(o.result)
/** A difference a test can assert: not only the reason of a fault (a device sees a fault either way). */
const strong = (o: StepOutcome): boolean => differs(o) && !('fault' in o.result && 'fault' in o.kernelResult!)

/** A candidate probe: plays ops through `run` (which returns the model's result) until done. */
type Candidate = { reason: string; play: (run: (op: Op) => Result | undefined) => void }

function freshBoth(i: ProbeInput): Executor {
  return createExecutor(i.platform, i.design, { impl: 'both', ...(i.defect !== undefined && { defect: i.defect }) })
}

/** Run ops on a fresh executor; the index of the first result difference, if any. */
function firstResultDifference(i: ProbeInput, ops: readonly Op[]): { at?: number; outcomes: StepOutcome[]; exec: Executor } {
  const exec = freshBoth(i)
  const outcomes: StepOutcome[] = []
  for (const [k, op] of ops.entries()) {
    const o = exec.step(op)
    outcomes.push(o)
    if (differs(o)) return { at: k, outcomes, exec }
  }
  return { outcomes, exec }
}

const FAIL: Result = { ok: false, errno: 'EINVAL' }
const outNum = (r: Result): number | undefined => (r.ok && r.out !== undefined ? Number(r.out) : undefined)

/** Candidates, shortest and most direct first, from what differs after the last step. */
function candidates(model: Observation, kernel: Observation, exec: Executor, platform: Platform): Candidate[] {
  const out: Candidate[] = []
  const one = (reason: string, op: Op): Candidate => ({ reason, play: (run) => void run(op) })
  const changes = diffObservations(model, kernel)
  const fdsBySerial = new Map<number, number>()
  for (const [fd, v] of Object.entries(model.fds)) {
    const m = /^iommufd:(\d+)$/.exec(v)
    if (m) fdsBySerial.set(Number(m[1]), Number(fd))
  }
  const dmaKey = new Set<string>()
  const dmas: Candidate[] = []
  const addDma = (bdf: string, pasid: number, iova: bigint, why: string) => {
    const k = `${bdf}|${pasid}|${iova}`
    if (dmaKey.has(k)) return
    dmaKey.add(k)
    dmas.push(one(why, { op: 'DMA', args: { bdf, iova, ...(pasid !== 0 && { pasid }) } }))
  }
  // 1. a translation that differs: one DMA at that IOVA shows it
  const tr = (o: Observation) => new Map(o.translations.map((t) => [`${t.bdf}|${t.pasid}|${t.iova}`, t]))
  const tm = tr(model)
  const tk = tr(kernel)
  for (const [k, t] of [...tm, ...tk]) {
    const a = tm.get(k)?.pa
    const b = tk.get(k)?.pa
    if (a !== b) addDma(t.bdf, t.pasid, t.iova, `a DMA at the IOVA whose translation differs`)
  }
  out.push(...dmas)
  // 2. an iommufd object that differs: destroying it, or mapping into an IOAS
  for (const c of changes) {
    const m = /^iommufds\[(\d+)\]\[(\d+)\]$/.exec(c.path)
    if (!m) continue
    const fd = fdsBySerial.get(Number(m[1]))
    if (fd === undefined) continue
    const id = Number(m[2])
    const v = c.before ?? c.after ?? ''
    if (v.startsWith('IOAS') || (c.after ?? '').startsWith('IOAS')) {
      out.push(one('a map into the IOAS whose state differs', { op: 'IOMMU_IOAS_MAP', args: { iommufd: fd, ioas: id, length: 0x1000n } }))
      const area = /\[(0x[0-9a-f]+)\+(0x[0-9a-f]+)/.exec(c.before ?? c.after ?? '')
      if (area)
        out.push(
          one('an unmap in the IOAS whose state differs', {
            op: 'IOMMU_IOAS_UNMAP',
            args: { iommufd: fd, ioas: id, iova: BigInt(area[1]), length: BigInt(area[2]) },
          }),
        )
    }
    out.push(one('destroying the object that exists on one side only', { op: 'IOMMU_DESTROY', args: { iommufd: fd, id } }))
  }
  // 3. a group owner that differs: another claim on the device
  for (const c of changes) {
    const m = /^owners\[(.+)\]$/.exec(c.path)
    if (!m) continue
    const bdf = m[1]
    out.push(one('a kernel driver binding to the device whose DMA owner differs', { op: 'DRIVER_BIND', args: { bdf, driver: 'pci-pf-stub' } }))
    out.push({
      reason: 'a fresh iommufd claiming the device whose DMA owner differs',
      play: (run) => {
        const cdev = outNum(run({ op: 'VFIO_CDEV_OPEN', args: { bdf } }) ?? FAIL)
        const ifd = outNum(run({ op: 'IOMMUFD_OPEN', args: {} }) ?? FAIL)
        if (cdev !== undefined && ifd !== undefined) run({ op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev, iommufd: ifd } })
      },
    })
  }
  // 4. a file that differs (a memfd's size): shrink or grow it
  for (const c of changes) {
    const m = /^fds\[(\d+)\]$/.exec(c.path)
    if (!m || !(c.before ?? '').startsWith('memfd')) continue
    out.push(one('a truncate of the memfd whose size differs', { op: 'MEMFD_TRUNCATE', args: { fd: Number(m[1]), pages: 0 } }))
  }
  // 5. after a KEXEC: the documented recovery, then a DMA through every live translation
  const state = exec.modelState()
  if (model.boot > 0) {
    const rec = recover(state)
    out.push({
      reason: 'the documented recovery after KEXEC (retrieve, bind, restore, replace, destroy, finish)',
      play: (run) => {
        for (const op of rec.ops) if (run(op) === undefined) return
      },
    })
  }
  // 6. every live translation (either side), alone and in pairs (an IOTLB entry one device
  // fills and another device hits)
  for (const t of [...model.translations, ...kernel.translations]) addDma(t.bdf, t.pasid, t.iova, 'a DMA through a live translation')
  // 7. a new domain on each IOMMU unit, for a device no fd holds, mapping an IOVA another
  // device translates: a DID handed out twice shows as that device's IOTLB entry hit by the
  // new one (DMA first through the old translation, then through the new domain); a DID
  // space the kernel leaked shows as ENOSPC
  const held = new Set(Object.values(model.fds).flatMap((v) => (v.startsWith('vfio:') ? [v.slice(5)] : [])))
  for (const dev of platform.devices) {
    if (held.has(dev.bdf)) continue
    const other = model.translations.find((t) => t.pa !== null && platform.devices.find((d) => d.bdf === t.bdf)?.unit === dev.unit)
    const iova = other?.iova ?? 0x100000n
    out.push({
      reason: `a new domain on ${dev.unit} for ${dev.bdf}` + (other ? `, then DMA through ${other.bdf} and ${dev.bdf} at the same IOVA` : ''),
      play: (run) => {
        const ifd = outNum(run({ op: 'IOMMUFD_OPEN', args: {} }) ?? FAIL)
        if (ifd === undefined) return
        const ioas = outNum(run({ op: 'IOMMU_IOAS_ALLOC', args: { iommufd: ifd } }) ?? FAIL)
        if (ioas === undefined || run({ op: 'IOMMU_IOAS_MAP', args: { iommufd: ifd, ioas, length: 0x1000n, iova } }) === undefined) return
        const cdev = outNum(run({ op: 'VFIO_CDEV_OPEN', args: { bdf: dev.bdf } }) ?? FAIL)
        if (cdev === undefined) return
        const devId = outNum(run({ op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev, iommufd: ifd } }) ?? FAIL)
        if (devId === undefined) return
        const hwpt = outNum(run({ op: 'IOMMU_HWPT_ALLOC', args: { iommufd: ifd, dev_id: devId, pt_id: ioas } }) ?? FAIL)
        if (hwpt === undefined) return
        if (other && run({ op: 'DMA', args: { bdf: other.bdf, iova, ...(other.pasid !== 0 && { pasid: other.pasid }) } }) === undefined) return
        if (run({ op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: hwpt } }) === undefined) return
        run({ op: 'DMA', args: { bdf: dev.bdf, iova } })
      },
    })
  }
  // 8. attaching an open cdev to an HWPT of its iommufd, then a DMA through each translation
  for (const [fd, v] of Object.entries(model.fds)) {
    if (!v.startsWith('vfio:')) continue
    for (const [serial, objs] of Object.entries(model.iommufds)) {
      const ifd = fdsBySerial.get(Number(serial))
      if (ifd === undefined) continue
      for (const [id, o] of Object.entries(objs)) {
        if (!o.startsWith('HWPT')) continue
        out.push({
          reason: 'attaching the device to an HWPT again, then a DMA through its translations',
          play: (run) => {
            if (run({ op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: Number(fd), pt_id: Number(id) } }) === undefined) return
            for (const d of dmas) if (run(dmaOp(d)) === undefined) return
          },
        })
      }
    }
  }
  const rest = dmas.slice(out.filter((c) => dmas.includes(c)).length)
  out.push(...rest)
  for (const a of dmas)
    for (const b of dmas)
      if (a !== b)
        out.push({
          reason: 'two DMAs: the first fills an IOTLB entry, the second hits it',
          play: (run) => {
            if (run(dmaOp(a)) !== undefined) run(dmaOp(b))
          },
        })
  return out
}

const dmaOps = new WeakMap<Candidate, Op>()
function dmaOp(c: Candidate): Op {
  let op = dmaOps.get(c)
  if (!op) {
    c.play((o) => {
      op = o
      return undefined
    })
    dmaOps.set(c, op!)
  }
  return op!
}

/** The kernel-side invariants that failed along the trace: the state a developer inspects. */
function kernelState(outcomes: StepOutcome[], model?: Observation, kernel?: Observation): string[] {
  const seen = new Set<string>()
  for (const o of outcomes)
    for (const v of o.violations) {
      const m = /^kernel: (.*)$/.exec(v.message)
      if (m) seen.add(m[1])
    }
  if (model && kernel)
    for (const c of diffObservations(model, kernel)) seen.add(`${c.path}: model ${c.before ?? 'absent'}, kernel ${c.after ?? 'absent'}`)
  return [...seen]
}

/**
 * The trace, ending on a step whose result differs between the model and the kernel: the
 * trace's own diverging step if its result already differs, or a probe appended and shrunk.
 */
export function findObservable(input: ProbeInput): ProbeResult {
  const first = firstResultDifference(input, input.ops)
  if (first.at !== undefined) return { ops: input.ops.slice(0, first.at + 1), observable: { kind: 'result', step: first.at } }
  const last = first.outcomes[first.outcomes.length - 1]
  const mObs = last?.observation
  const kObs = last?.kernelObservation
  if (!last || !mObs || !kObs)
    return { ops: [...input.ops], observable: { kind: 'state-only', reason: 'the kernel did not run beside the model', inspect: [] } }

  const base = input.ops.length
  let tried = 0
  // the first candidate whose last call differs only in a fault's reason is kept as a fallback
  let weak: { probe: Op[]; reason: string } | undefined
  for (const cand of candidates(mObs, kObs, first.exec, input.platform)) {
    if (tried++ >= PROBE_BUDGET) break
    const exec = freshBoth(input)
    for (const op of input.ops) exec.step(op)
    const probe: Op[] = []
    let hit: 'strong' | 'weak' | undefined
    cand.play((op) => {
      if (hit) return undefined
      probe.push(op)
      const o = exec.step(op)
      if (differs(o)) {
        hit = strong(o) ? 'strong' : 'weak'
        return undefined
      }
      return o.result
    })
    if (hit === 'weak') weak ??= { probe, reason: cand.reason }
    if (hit !== 'strong') continue
    return probed(input, probe, cand.reason, base, true)
  }
  if (weak) return probed(input, weak.probe, `${weak.reason} (the two sides differ only in why the DMA faults)`, base, false)
  const inspect = kernelState(first.outcomes, mObs, kObs)
  return {
    ops: [...input.ops],
    observable: {
      kind: 'state-only',
      reason:
        `no call luv tried after the last step returns differently (${Math.min(tried, PROBE_BUDGET)} probes: a DMA at every ` +
        'live translation, alone and in pairs; destroy, map and unmap of the objects that differ; a kernel driver or a fresh ' +
        'iommufd claiming a device whose owner differs; a new domain on each IOMMU unit; re-attaching a device; the ' +
        'documented recovery after a KEXEC); the difference stays inside the kernel',
      inspect,
    },
  }
}

function probed(input: ProbeInput, probe: Op[], reason: string, base: number, keepStrong: boolean): ProbeResult {
  const shrunk = shrinkKeepingDifference(input, [...input.ops, ...probe], keepStrong)
  const from = Math.min(shrunk.probeFrom ?? base, shrunk.ops.length - 1)
  return { ops: shrunk.ops, observable: { kind: 'probe', from, step: shrunk.ops.length - 1, reason } }
}

/**
 * Delta debugging of trace + probe: drop steps (with the steps using their outputs) as long
 * as the last step still returns differently (as strongly: not only in a fault's reason) and
 * no earlier step does.
 */
function shrinkKeepingDifference(input: ProbeInput, ops: Op[], keepStrong: boolean): { ops: Op[]; probeFrom?: number } {
  const probeStart = input.ops.length
  const first = freshBoth(input)
  const results = ops.map((op) => first.step(op).result)
  const steps = symbolize(ops, results)
  let keep = steps.map((_, i) => i)
  let best = ops
  let replays = 0
  let progress = true
  const lastIdx = ops.length - 1
  while (progress && replays < PROBE_SHRINK_BUDGET) {
    progress = false
    for (let idx = keep.length - 2; idx >= 0 && replays < PROBE_SHRINK_BUDGET; idx--) {
      const drop = new Set([keep[idx]])
      for (let j = keep[idx] + 1; j < steps.length; j++) if (Object.values(steps[j].refs).some((r) => drop.has(r.from))) drop.add(j)
      if (drop.has(lastIdx)) continue
      const cand = keep.filter((i) => !drop.has(i))
      replays++
      const exec = freshBoth(input)
      const diffs: boolean[] = []
      let lastStrong = false
      const m = materialize(steps, cand, (op) => {
        const o = exec.step(op)
        diffs.push(differs(o))
        lastStrong = strong(o)
        return { result: o.result }
      })
      // a shrink must not weaken a difference a test can assert into a fault reason
      const lastDiffers = diffs[m.ops.length - 1] === true && (!keepStrong || lastStrong)
      const earlier = diffs.slice(0, -1).some(Boolean)
      if (lastDiffers && !earlier) {
        keep = cand
        best = m.ops
        progress = true
        idx = Math.min(idx, keep.length - 1)
      }
    }
  }
  const probeFrom = keep.findIndex((i) => i >= probeStart)
  return { ops: best, ...(probeFrom >= 0 && { probeFrom }) }
}
