// The transitions the exploration takes from a state: every op of the vocabulary with its
// arguments drawn from the scope's small domains and resolved against the state (every live
// fd / object of the right kind, plus, where the scope asks, one of the wrong kind and one
// that does not exist, so the error paths are explored too; at most one wrong argument per
// op, see `tuples`), within the scope's bounds.
//
// One enumerator per op, in a table keyed by op name. An op of the vocabulary without an
// enumerator here is not explored, and the exploration report says so (opsNotExplored).

import type { HwptAllocFlag, Op, OpName, Seal } from '../../models/ops.ts'
import { OP_NAMES } from '../../models/ops.ts'
import { DEFAULT_PROFILE, type ProfileName } from '../../models/design.ts'
import type { IommufdFile, State } from '../../models/state.ts'
import type { Scope } from './scope.ts'

type Kind = State['files'][number]['kind']

/** An fd that is never open in a scope (fds are allocated lowest first from 3). */
export const BAD_FD = 99
/** An iommufd object id no scope reaches. */
export const BAD_ID = 99

interface Ctx {
  s: State
  scope: Scope
  /** open fds by file kind, ascending */
  byKind: Map<Kind, number[]>
  all: number[]
}

function fdsOfKind(c: Ctx, kind: Kind): number[] {
  return c.byKind.get(kind) ?? []
}

/** A candidate argument value; `odd` marks a deliberately wrong one (an fd that is not open
 *  or of another kind, an object id of another type or that does not exist). */
interface Cand<T> {
  v: T
  odd?: boolean
}
const good = <T>(vs: readonly T[]): Cand<T>[] => vs.map((v) => ({ v }))

/** Candidate values for an fd argument expecting `kind`. */
function fdArg(c: Ctx, kind: Kind): Cand<number>[] {
  const out = good(fdsOfKind(c, kind))
  if (c.scope.domains.wrongKindFd) {
    const other = c.all.find((fd) => c.s.files[c.s.fds[fd]].kind !== kind)
    if (other !== undefined) out.push({ v: other, odd: true })
  }
  if (c.scope.domains.badFd) out.push({ v: BAD_FD, odd: true })
  return out
}

function ictxOf(c: Ctx, fd: number): IommufdFile | undefined {
  const f = c.s.files[c.s.fds[fd]]
  return f?.kind === 'iommufd' ? f : undefined
}

type ObjType = 'IOAS' | 'HWPT_PAGING' | 'DEVICE'

/** Candidate object ids of `type` in the iommufd behind `fd`: every one, one of another type,
 *  and one that does not exist. Behind an fd that is not an iommufd: id 1 only (the op fails
 *  on the fd first). */
function objArg(c: Ctx, fd: number, types: ObjType[]): Cand<number>[] {
  const f = ictxOf(c, fd)
  if (!f) return [{ v: 1 }]
  const ids = Object.keys(f.objects).map(Number).sort((a, b) => a - b)
  const out = good(ids.filter((id) => types.includes(f.objects[id].type)))
  const other = ids.find((id) => !types.includes(f.objects[id].type))
  if (other !== undefined) out.push({ v: other, odd: true })
  out.push({ v: BAD_ID, odd: true })
  return out
}

function count(c: Ctx, pred: (o: { type: string }) => boolean): number {
  let n = 0
  for (const f of Object.values(c.s.files)) if (f.kind === 'iommufd') for (const o of Object.values(f.objects)) if (pred(o)) n++
  return n
}

/**
 * Argument tuples with at most one deliberately wrong value: every error path a single wrong
 * argument opens is explored from every state, and the tuples that only repeat an error
 * already taken (a bad fd combined with every value of the other arguments) are not. Each
 * argument's candidates may depend on the values before it (`args` is a list of functions of
 * the tuple so far).
 */
function tuples(args: ((prev: unknown[]) => Cand<unknown>[])[]): unknown[][] {
  const out: unknown[][] = []
  // one tuple under construction, copied at each leaf
  tuplesFrom(args, out, [], 0, false)
  return out
}

/** tuples: the tuples extending `prev` from argument `i` on (`odd`: a wrong value was taken
 *  already). (Module level, not a closure per call: tsx wraps every named closure in
 *  __name, and this runs for every op of every state.) */
function tuplesFrom(args: ((prev: unknown[]) => Cand<unknown>[])[], out: unknown[][], prev: unknown[], i: number, odd: boolean): void {
  if (i === args.length) {
    out.push(prev.slice())
    return
  }
  const cands = args[i](prev)
  if (odd) {
    // after a wrong value, the later arguments take their first well-formed value only
    let x: Cand<unknown> | undefined
    for (const c of cands)
      if (!c.odd) {
        x = c
        break
      }
    x ??= cands[0]
    if (x === undefined) return
    prev.push(x.v)
    tuplesFrom(args, out, prev, i + 1, true)
    prev.pop()
    return
  }
  for (const x of cands) {
    prev.push(x.v)
    tuplesFrom(args, out, prev, i + 1, !!x.odd)
    prev.pop()
  }
}

type Enumerator = (c: Ctx) => Op[]

/** The names of the mark ioctl: one op under three names (models/step.ts maps all three to
 *  luSetPreserve), so exploring more than one only repeats every mark transition. */
export const MARK_OPS = ['IOMMU_HWPT_LU_SET_PRESERVE', 'IOMMU_HWPT_LU_MARK_PRESERVE', 'IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE'] as const
export type MarkOp = (typeof MARK_OPS)[number]

/** The name the posted version a profile is gives the mark ioctl; the one explored unless
 *  the scope lists others (domains.markOps). V1 (rfc-v2) and V2 (phase1) call it
 *  SET_PRESERVE(D); the V3 iommufd code (samikhawaja/linux drivers/iommu/iommufd/liveupdate.c
 *  iommufd_hwpt_liveupdate_mark_preserve, both the V3a xarray and the V3b mark versions, and
 *  the V3 selftest's struct iommu_hwpt_liveupdate_mark_preserve) calls it
 *  IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE; lpc2025 has no single posted version and keeps
 *  luv's first name. IOMMU_HWPT_LU_MARK_PRESERVE (an earlier V3 uapi header) is explored only
 *  when a scope asks for it. */
export const POSTED_MARK_OP: Record<ProfileName, MarkOp> = {
  lpc2025: 'IOMMU_HWPT_LU_SET_PRESERVE',
  'rfc-v2': 'IOMMU_HWPT_LU_SET_PRESERVE',
  phase1: 'IOMMU_HWPT_LU_SET_PRESERVE',
  v3: 'IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE',
}

/** The mark ioctl under `name`: every HWPT (and one wrong id) of every iommufd, every token. */
function markOps(c: Ctx, name: MarkOp): Op[] {
  return tuples([() => fdArg(c, 'iommufd'), ([fd]) => objArg(c, N(fd), ['HWPT_PAGING']), () => good(c.scope.domains.tokens)]).map(
    ([iommufd, hwpt_id, token]) => ({ op: name, args: { iommufd: N(iommufd), hwpt_id: N(hwpt_id), token: token as bigint } }) as Op,
  )
}

function flagsArg(flags: HwptAllocFlag[]): { flags?: HwptAllocFlag[] } {
  return flags.length ? { flags } : {}
}

/** Devices with PASID support get the scope's PASIDs too. */
function pasidsOf(c: Ctx, bdf: string | undefined): (number | undefined)[] {
  const dev = c.s.platform.devices.find((d) => d.bdf === bdf)
  return [undefined, ...((dev?.pasids ?? 0) > 0 ? c.scope.domains.pasids : [])]
}

const cdevBdf = (c: Ctx, fd: number): string | undefined => {
  const f = c.s.files[c.s.fds[fd]]
  return f?.kind === 'vfio' ? f.bdf : undefined
}

/** The fd of the iommufd a cdev is bound to, if it has one. */
function boundIommufd(c: Ctx, cdev: number): number | undefined {
  const vf = c.s.files[c.s.fds[cdev]]
  if (vf?.kind !== 'vfio' || !vf.bound) return undefined
  const e = Object.entries(c.s.fds).find(([, id]) => id === vf.bound!.iommufd)
  return e ? Number(e[0]) : undefined
}

const iovasOf = (c: Ctx): (bigint | undefined)[] => [...c.scope.domains.iovas, ...(c.scope.domains.autoIova ? [undefined] : [])]
const N = (x: unknown) => x as number

export const ENUMERATORS: Partial<Record<OpName, Enumerator>> = {
  // with MFD_ALLOW_SEALING (luv's default) and without it (flags 0: born with F_SEAL_SEAL)
  MEMFD_CREATE: (c) =>
    fdsOfKind(c, 'memfd').length >= c.scope.bounds.memfds
      ? []
      : c.scope.domains.memfdPages.flatMap((pages): Op[] => [
          { op: 'MEMFD_CREATE', args: { pages } },
          { op: 'MEMFD_CREATE', args: { pages, allowSealing: false } },
        ]),
  MEMFD_SEAL: (c) =>
    tuples([() => fdArg(c, 'memfd'), () => good(c.scope.domains.seals)]).map(([fd, seals]) => ({ op: 'MEMFD_SEAL', args: { fd: N(fd), seals: seals as Seal[] } })),
  MEMFD_TRUNCATE: (c) =>
    tuples([() => fdArg(c, 'memfd'), () => good(c.scope.domains.truncatePages)]).map(([fd, pages]) => ({ op: 'MEMFD_TRUNCATE', args: { fd: N(fd), pages: N(pages) } })),
  IOMMUFD_OPEN: (c) => (fdsOfKind(c, 'iommufd').length >= c.scope.bounds.iommufds ? [] : [{ op: 'IOMMUFD_OPEN', args: {} }]),
  IOMMU_IOAS_ALLOC: (c) =>
    count(c, (o) => o.type === 'IOAS') >= c.scope.bounds.ioas ? [] : fdArg(c, 'iommufd').map(({ v: iommufd }) => ({ op: 'IOMMU_IOAS_ALLOC', args: { iommufd } })),
  IOMMU_IOAS_MAP_FILE: (c) =>
    tuples([() => fdArg(c, 'iommufd'), ([fd]) => objArg(c, N(fd), ['IOAS']), () => fdArg(c, 'memfd'), () => good(c.scope.domains.lengths), () => good(iovasOf(c))]).map(
      ([iommufd, ioas, memfd, length, iova]) => ({
        op: 'IOMMU_IOAS_MAP_FILE',
        args: { iommufd: N(iommufd), ioas: N(ioas), memfd: N(memfd), start: 0n, length: length as bigint, ...(iova !== undefined && { iova: iova as bigint }) },
      }),
    ),
  IOMMU_IOAS_MAP: (c) =>
    tuples([() => fdArg(c, 'iommufd'), ([fd]) => objArg(c, N(fd), ['IOAS']), () => good(c.scope.domains.lengths), () => good(iovasOf(c))]).map(([iommufd, ioas, length, iova]) => ({
      op: 'IOMMU_IOAS_MAP',
      args: { iommufd: N(iommufd), ioas: N(ioas), length: length as bigint, ...(iova !== undefined && { iova: iova as bigint }) },
    })),
  IOMMU_IOAS_UNMAP: (c) =>
    tuples([() => fdArg(c, 'iommufd'), ([fd]) => objArg(c, N(fd), ['IOAS']), () => good(c.scope.domains.lengths), () => good(c.scope.domains.iovas)]).map(([iommufd, ioas, length, iova]) => ({
      op: 'IOMMU_IOAS_UNMAP',
      args: { iommufd: N(iommufd), ioas: N(ioas), iova: iova as bigint, length: length as bigint },
    })),
  IOMMU_HWPT_ALLOC: (c) =>
    count(c, (o) => o.type === 'HWPT_PAGING') >= c.scope.bounds.hwpts
      ? []
      : tuples([() => fdArg(c, 'iommufd'), ([fd]) => objArg(c, N(fd), ['DEVICE']), ([fd]) => objArg(c, N(fd), ['IOAS']), () => good(c.scope.domains.hwptFlags)]).map(
          ([iommufd, dev_id, pt_id, flags]) => ({ op: 'IOMMU_HWPT_ALLOC', args: { iommufd: N(iommufd), dev_id: N(dev_id), pt_id: N(pt_id), ...flagsArg(flags as HwptAllocFlag[]) } }),
        ),
  IOMMU_DESTROY: (c) =>
    tuples([() => fdArg(c, 'iommufd'), ([fd]) => objArg(c, N(fd), ['IOAS', 'HWPT_PAGING', 'DEVICE'])]).map(([iommufd, id]) => ({ op: 'IOMMU_DESTROY', args: { iommufd: N(iommufd), id: N(id) } })),
  IOMMU_HWPT_LU_SET_PRESERVE: (c) => {
    const out = markOps(c, 'IOMMU_HWPT_LU_SET_PRESERVE')
    // the V1 unmark (markSemantics=flag; the other options refuse it), on well-formed arguments
    for (const { v: iommufd } of fdArg(c, 'iommufd').filter((x) => !x.odd))
      for (const { v: hwpt_id } of objArg(c, iommufd, ['HWPT_PAGING']).filter((x) => !x.odd))
        out.push({ op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd, hwpt_id, token: c.scope.domains.tokens[0] ?? 1n, preserve: false } })
    return out
  },
  // the newer names of the same ioctl (no unmark); which name is explored: exploredOps
  IOMMU_HWPT_LU_MARK_PRESERVE: (c) => markOps(c, 'IOMMU_HWPT_LU_MARK_PRESERVE'),
  IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE: (c) => markOps(c, 'IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE'),
  IOMMU_HWPT_LU_RESTORE: (c) =>
    tuples([() => fdArg(c, 'iommufd'), () => good(c.scope.domains.tokens)]).map(([iommufd, token]) => ({ op: 'IOMMU_HWPT_LU_RESTORE', args: { iommufd: N(iommufd), token: token as bigint } })),
  VFIO_CDEV_OPEN: (c) => (fdsOfKind(c, 'vfio').length >= c.scope.bounds.cdevs ? [] : c.s.platform.devices.map((d) => ({ op: 'VFIO_CDEV_OPEN', args: { bdf: d.bdf } }))),
  VFIO_DEVICE_BIND_IOMMUFD: (c) =>
    tuples([() => fdArg(c, 'vfio'), () => fdArg(c, 'iommufd')]).map(([cdev, iommufd]) => ({ op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: N(cdev), iommufd: N(iommufd) } })),
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: (c) =>
    tuples([
      () => fdArg(c, 'vfio'),
      ([cdev]) => {
        const fd = boundIommufd(c, N(cdev))
        return fd !== undefined ? objArg(c, fd, ['HWPT_PAGING', 'IOAS']) : [{ v: 1 }]
      },
      ([cdev]) => good(pasidsOf(c, cdevBdf(c, N(cdev)))),
    ]).map(([cdev, pt_id, pasid]) => ({ op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: N(cdev), pt_id: N(pt_id), ...(pasid !== undefined && { pasid: N(pasid) }) } })),
  VFIO_DEVICE_DETACH_IOMMUFD_PT: (c) =>
    tuples([() => fdArg(c, 'vfio'), ([cdev]) => good(pasidsOf(c, cdevBdf(c, N(cdev))))]).map(([cdev, pasid]) => ({
      op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT',
      args: { cdev: N(cdev), ...(pasid !== undefined && { pasid: N(pasid) }) },
    })),
  VFIO_DEVICE_SET_IRQS: (c) =>
    tuples([() => fdArg(c, 'vfio'), () => good([true, false])]).map(([cdev, enabled]) => ({ op: 'VFIO_DEVICE_SET_IRQS', args: { cdev: N(cdev), enabled: enabled as boolean } })),
  DRIVER_BIND: (c) =>
    tuples([() => good(c.s.platform.devices.map((d) => d.bdf)), () => good(c.scope.domains.drivers)]).map(([bdf, driver]) => ({ op: 'DRIVER_BIND', args: { bdf: bdf as string, driver: driver as string } })),
  LIVEUPDATE_OPEN: () => [{ op: 'LIVEUPDATE_OPEN', args: {} }],
  LIVEUPDATE_IOCTL_CREATE_SESSION: (c) => (c.s.luo.outgoing.length >= c.scope.bounds.sessions ? [] : c.scope.domains.sessions.map((name) => ({ op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name } }))),
  LIVEUPDATE_SESSION_PRESERVE_FD: (c) =>
    // any open fd may be offered for preservation (each kind has its own rules), plus one that is not open
    tuples([() => fdArg(c, 'session'), () => [...good(c.all), ...(c.scope.domains.badFd ? [{ v: BAD_FD, odd: true }] : [])], () => good(c.scope.domains.tokens)]).map(([session, fd, token]) => ({
      op: 'LIVEUPDATE_SESSION_PRESERVE_FD',
      args: { session: N(session), fd: N(fd), token: token as bigint },
    })),
  LIVEUPDATE_IOCTL_RETRIEVE_SESSION: (c) => c.scope.domains.sessions.map((name) => ({ op: 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION', args: { name } })),
  LIVEUPDATE_SESSION_RETRIEVE_FD: (c) =>
    tuples([() => fdArg(c, 'session'), () => good(c.scope.domains.tokens)]).map(([session, token]) => ({ op: 'LIVEUPDATE_SESSION_RETRIEVE_FD', args: { session: N(session), token: token as bigint } })),
  LIVEUPDATE_SESSION_FINISH: (c) => fdArg(c, 'session').map(({ v: session }) => ({ op: 'LIVEUPDATE_SESSION_FINISH', args: { session } })),
  // reserved must be 0 (luo_session_get_name: EINVAL otherwise); one odd value where the scope asks
  LIVEUPDATE_SESSION_GET_NAME: (c) =>
    fdArg(c, 'session').flatMap(({ v: session, odd }): Op[] =>
      odd || !c.scope.domains.badFd ? [{ op: 'LIVEUPDATE_SESSION_GET_NAME', args: { session } }] : [{ op: 'LIVEUPDATE_SESSION_GET_NAME', args: { session } }, { op: 'LIVEUPDATE_SESSION_GET_NAME', args: { session, reserved: 1 } }],
    ),
  CLOSE: (c) => [...c.all, ...(c.scope.domains.badFd ? [BAD_FD] : [])].map((fd) => ({ op: 'CLOSE', args: { fd } })),
  // and, where the scope asks (the default), the reboot whose kho_finalize fails (EAGAIN,
  // the old kernel runs on; liveupdate_reboot)
  KEXEC: (c) => (c.s.boot >= c.scope.bounds.kexecs ? [] : [{ op: 'KEXEC', args: {} }, ...(c.scope.domains.khoFinalizeFails ? [{ op: 'KEXEC', args: { khoFinalizeFails: true } } as Op] : [])]),
  DMA: (c) => {
    const out: Op[] = []
    for (const d of c.s.platform.devices)
      for (const pasid of pasidsOf(c, d.bdf)) for (const iova of c.scope.domains.iovas) out.push({ op: 'DMA', args: { bdf: d.bdf, iova, ...(pasid !== undefined && { pasid }) } })
    return out
  },
}

/** The ops of the vocabulary this exploration takes (scope.skipOps removed; of the mark
 *  ioctl's names, the scope's domains.markOps, by default the one `profile` posted). */
export function exploredOps(scope: Scope, profile: ProfileName = DEFAULT_PROFILE): OpName[] {
  const skip = new Set<string>(scope.skipOps)
  const marks = new Set<string>(scope.domains.markOps ?? [POSTED_MARK_OP[profile] ?? 'IOMMU_HWPT_LU_SET_PRESERVE'])
  for (const m of MARK_OPS) if (!marks.has(m)) skip.add(m)
  return OP_NAMES.filter((n) => ENUMERATORS[n] !== undefined && !skip.has(n))
}

/** Ops of the vocabulary that have no enumerator (an op added to models/ops.ts since). */
export const opsWithoutEnumerator = (): OpName[] => OP_NAMES.filter((n) => ENUMERATORS[n] === undefined)

/** Every transition from `s`, in a fixed order (the order is part of what makes a run
 *  reproducible: the shortest trace kept for a state is the first one found). */
export function enabledOps(s: State, scope: Scope, ops: readonly OpName[]): Op[] {
  const byKind = new Map<Kind, number[]>()
  const all = Object.keys(s.fds)
    .map(Number)
    .sort((a, b) => a - b)
  for (const fd of all) {
    const k = s.files[s.fds[fd]].kind
    const l = byKind.get(k)
    if (l) l.push(fd)
    else byKind.set(k, [fd])
  }
  const c: Ctx = { s, scope, byKind, all }
  const out: Op[] = []
  for (const n of ops) for (const o of ENUMERATORS[n]!(c)) out.push(o)
  return out
}

/** enabledOps with the lists kept by what the enumerators read of a state (`opsKey`): most
 *  states of a search share their fd table's shape with many others, and building ~100 ops
 *  per state (their argument records, the candidate lists) was a twentieth of a search. The
 *  lists are shared between states (ops are plain data nobody writes); test/explore checks
 *  them against enabledOps over every state of a search. At most `max` lists are kept. */
export class EnabledOps {
  private readonly lists = new Map<string, Op[]>()
  constructor(
    private readonly scope: Scope,
    private readonly ops: readonly OpName[],
    private readonly max = 1 << 14,
  ) {}
  of(s: State): Op[] {
    const key = opsKey(s)
    let l = this.lists.get(key)
    if (l === undefined) {
      l = enabledOps(s, this.scope, this.ops)
      if (this.lists.size < this.max) this.lists.set(key, l)
    }
    return l
  }
  get size(): number {
    return this.lists.size
  }
}

/** Everything of `s` the enumerators (ENUMERATORS, with the scope and the platform fixed)
 *  read: the boot, the outgoing sessions' count, the IOAS and HWPT objects' counts over every
 *  file (count), and per open fd in ascending order its file's kind; for an iommufd its
 *  objects' ids and types (objArg); for a cdev its BDF and the fd of the iommufd it is bound
 *  to (boundIommufd). Two states with one key get one op list. */
export function opsKey(s: State): string {
  let ioas = 0
  let hwpts = 0
  for (const id in s.files) {
    const f = s.files[id]
    if (f.kind === 'iommufd')
      for (const o in f.objects) {
        const t = f.objects[o].type
        if (t === 'IOAS') ioas++
        else if (t === 'HWPT_PAGING') hwpts++
      }
  }
  let key = `${s.boot};${s.luo.outgoing.length};${ioas};${hwpts}`
  for (const fd in s.fds) {
    const f = s.files[s.fds[fd]]
    key += `;${fd}${f.kind}`
    if (f.kind === 'iommufd') for (const o in f.objects) key += `,${o}${f.objects[o].type}`
    else if (f.kind === 'vfio') {
      key += `,${f.bdf}`
      if (f.bound) {
        const file = f.bound.iommufd
        for (const g in s.fds)
          if (s.fds[g] === file) {
            key += `>${g}`
            break
          }
      }
    }
  }
  return key
}
