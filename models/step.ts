// The model's transition function: step(state, op) -> { state, result, transient }.
// Every op is a pure function of the state; a failed op returns the state it was given
// (atomicity), except a sticky LUO retrieve failure, which the kernel records.

import { Fail, frozen, produce, setFreezing, type D, type OpContext } from './context.ts'
import type { Design } from './design.ts'
import { close, needsRelease, releaseUnreferenced } from './files.ts'
import { tablePagesByFormula, translate } from './iommu.ts'
import { destroy, hwptAlloc, ioasAlloc, ioasMap, ioasMapFile, ioasUnmap, iommufdOpen, luRestore, luSetPreserve } from './iommufd.ts'
import { kexec } from './kexec.ts'
import { memoByParts } from './memo.ts'
import { createSession, finish, getName, liveupdateOpen, preserveFd, retrieveFd, retrieveSession } from './luo.ts'
import { memfdCreate, memfdSeal, memfdTruncate } from './memory.ts'
import { err, fault, ok, type Op, type Result } from './ops.ts'
import { checkPlatform, resolveDevices, type Platform } from './platform.ts'
import type { State } from './state.ts'
import { attach, bind, cdevOpen, detach, driverBind, setIrqs } from './vfio.ts'


/** The state a run starts from: a function of the platform and the design, made once per
 *  pair (every run of a campaign starts from it; a state is never changed, models/memo.ts). */
export function initState(platform: Platform, design: Design): State {
  return initialState({ platform, design })
}

const initialState = memoByParts((x: { platform: Platform; design: Design }) => [x.platform, x.design], ({ platform, design }) => bootState(platform, design))

function bootState(platform: Platform, design: Design): State {
  checkPlatform(platform)
  const units: State['units'] = {}
  for (const u of platform.units) units[u.name] = { ida: [], context: {}, pasid: {} }
  const groups: State['groups'] = {}
  const devices: State['devices'] = {}
  for (const dev of resolveDevices(platform)) {
    groups[dev.group] = { owner: { kind: 'none' }, ownerCnt: 0, domain: 'default', pasids: {} }
    // every device starts bound to vfio-pci (driver_override), which does not use the DMA API
    devices[dev.bdf] = { driver: 'vfio-pci' }
  }
  return frozen({
    platform,
    design,
    boot: 0,
    pages: Array.from({ length: platform.memoryPages }, () => ({ use: 'free' as const })),
    files: {},
    nextFile: 1,
    fds: {},
    domains: {},
    nextDomain: 1,
    tablePagesUsed: 0,
    units,
    groups,
    devices,
    luo: { outgoing: [], incoming: [] },
  })
}

const DROPS_REFERENCES = new Set<Op['op']>(['CLOSE', 'IOMMU_IOAS_UNMAP', 'IOMMU_DESTROY', 'LIVEUPDATE_SESSION_FINISH'])
const PARANOID = process.env.LUV_MODEL_PARANOID === '1'
// States are shared between the model, the checker and reports, and the caches keyed by state
// parts (models/memo.ts) rely on nothing mutating a state. Tests and paranoid mode freeze every
// state, so that an accidental mutation anywhere is an immediate TypeError there; campaigns do
// not (LUV_MODEL_FREEZE=1 turns it on). V8 in Node 20 spreads a frozen record ~10x slower than
// another (every write copies the records above it), runs filter/some over a frozen list ~20x
// slower (the model and every reader of its states), and freezing a KEXEC's next kernel walks
// all of it. Finishing a draft stops at frozen records (models/context.ts settle); unfrozen, it
// visits 4% more values in the default campaign (s7-model, counted).
setFreezing(process.env.VITEST !== undefined || PARANOID || process.env.LUV_MODEL_FREEZE === '1')

export interface Step {
  state: State
  result: Result
  /** intermediate hardware states inside the op, in order (empty for most ops) */
  transient: State[]
}

type Handler<N extends Op['op']> = (d: D, ctx: OpContext, args: Extract<Op, { op: N }>['args']) => Result

/** One handler per op of the vocabulary. The mapped type makes the table exhaustive: a new op
 *  in models/ops.ts does not compile until it has a handler here. (A table rather than a
 *  ts-pattern chain: this runs on every step of every campaign, and a match chain is rebuilt
 *  on each call.) */
const HANDLERS: { [N in Op['op']]: Handler<N> } = {
  MEMFD_CREATE: (d, _c, a) => memfdCreate(d, a),
  MEMFD_SEAL: (d, _c, a) => memfdSeal(d, a),
  MEMFD_TRUNCATE: (d, _c, a) => memfdTruncate(d, a),
  IOMMUFD_OPEN: (d) => iommufdOpen(d),
  IOMMU_IOAS_ALLOC: (d, _c, a) => ioasAlloc(d, a),
  IOMMU_IOAS_MAP_FILE: (d, _c, a) => ioasMapFile(d, a),
  IOMMU_IOAS_MAP: (d, _c, a) => ioasMap(d, a),
  IOMMU_IOAS_UNMAP: (d, _c, a) => ioasUnmap(d, a),
  IOMMU_HWPT_ALLOC: (d, _c, a) => hwptAlloc(d, a),
  IOMMU_DESTROY: (d, _c, a) => destroy(d, a),
  IOMMU_HWPT_LU_SET_PRESERVE: (d, _c, a) => luSetPreserve(d, a),
  IOMMU_HWPT_LU_RESTORE: (d, _c, a) => luRestore(d, a),
  IOMMU_HWPT_LU_MARK_PRESERVE: (d, _c, a) => luSetPreserve(d, a),
  IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE: (d, _c, a) => luSetPreserve(d, a),
  VFIO_CDEV_OPEN: (d, _c, a) => cdevOpen(d, a),
  VFIO_DEVICE_BIND_IOMMUFD: (d, _c, a) => bind(d, a),
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: (d, c, a) => attach(d, c, a),
  VFIO_DEVICE_DETACH_IOMMUFD_PT: (d, _c, a) => detach(d, a),
  VFIO_DEVICE_SET_IRQS: (d, _c, a) => setIrqs(d, a),
  DRIVER_BIND: (d, _c, a) => driverBind(d, a),
  LIVEUPDATE_OPEN: (d) => liveupdateOpen(d),
  LIVEUPDATE_IOCTL_CREATE_SESSION: (d, _c, a) => createSession(d, a),
  LIVEUPDATE_SESSION_PRESERVE_FD: (d, _c, a) => preserveFd(d, a),
  LIVEUPDATE_IOCTL_RETRIEVE_SESSION: (d, _c, a) => retrieveSession(d, a),
  LIVEUPDATE_SESSION_RETRIEVE_FD: (d, _c, a) => retrieveFd(d, a),
  LIVEUPDATE_SESSION_FINISH: (d, _c, a) => finish(d, a),
  LIVEUPDATE_SESSION_GET_NAME: (d, _c, a) => getName(d, a),
  CLOSE: (d, _c, a) => close(d, a),
  KEXEC: (d, c, a) => kexec(d, c, a),
  DMA: (d, _c, a) => dma(d, a),
}

function apply(d: D, ctx: OpContext, o: Op): Result {
  return (HANDLERS[o.op] as Handler<typeof o.op>)(d, ctx, o.args as never)
}

/** A device performs one access; a fault changes nothing (the fault log is not modelled). */
function dma(d: D, a: Extract<Op, { op: 'DMA' }>['args']): Result {
  if (!d.devices[a.bdf]) return err('ENODEV')
  const w = translate(d, a.bdf, a.pasid ?? 0, a.iova)
  return 'pa' in w ? ok(w.pa) : fault(w.fault)
}

export function step(state: State, o: Op): Step {
  // a DMA changes nothing (dma above): it reads the state itself, without a draft to write to
  if (o.op === 'DMA') return { state, result: dma(state, o.args), transient: [] }
  const ctx: OpContext = { transient: [] }
  let result: Result = ok()
  let next: State
  try {
    next = produce(state, (d) => {
      try {
        result = apply(d, ctx, o)
      } catch (e) {
        // a sticky failure keeps the draft's changes; any other failure leaves the draft
        // (thrown past produce: nothing of it is finalized)
        if (!(e instanceof Fail) || !e.sticky) throw e
        result = err(e.errno)
      }
    })
  } catch (e) {
    if (!(e instanceof Fail)) throw e
    return { state, result: err(e.errno), transient: [] }
  }
  // an op that builds a whole new state (KEXEC: the next kernel) hands it over in ctx
  if (ctx.becomes) next = frozen(ctx.becomes)
  // files whose last reference this op dropped are released now (files.ts). Only these ops
  // drop a reference (an fd, an IOAS area's memfd, a LUO hold); LUV_MODEL_PARANOID=1 checks
  // after every op that no other op ever needs it (test/models/paranoid.test.ts).
  if (result.ok && (DROPS_REFERENCES.has(o.op) || PARANOID) && needsRelease(next)) {
    if (!DROPS_REFERENCES.has(o.op)) throw new Error(`luv internal error: ${o.op} dropped a file reference`)
    next = releaseUnreferenced(next)
  }
  if (PARANOID && next.tablePagesUsed !== tablePagesByFormula(next))
    throw new Error(`luv internal error: ${o.op} left tablePagesUsed ${next.tablePagesUsed}, the formula says ${tablePagesByFormula(next)}`)
  return { state: next, result, transient: ctx.transient }
}

/** Run a whole op list from a fresh state (tests, exploration). */
export function run(platform: Platform, design: Design, ops: Op[]): { states: State[]; results: Result[] } {
  const states = [initState(platform, design)]
  const results: Result[] = []
  for (const o of ops) {
    const s = step(states[states.length - 1], o)
    states.push(s.state)
    results.push(s.result)
  }
  return { states, results }
}
