// The transitions the exploration takes from a state: every op of the vocabulary with its
// arguments drawn from the scope's small domains and resolved against the state (every live
// fd / object of the right kind, plus, where the scope asks, one of the wrong kind and one
// that does not exist, so the error paths are explored too), within the scope's bounds.
//
// One enumerator per op, in a table keyed by op name. An op of the vocabulary without an
// enumerator here is not explored, and the exploration report says so (opsNotExplored).

import type { HwptAllocFlag, Op, OpName } from '../../models/ops.ts'
import { OP_NAMES } from '../../models/ops.ts'
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

/** Candidate values for an fd argument expecting `kind`. */
function fdArg(c: Ctx, kind: Kind): number[] {
  const out = [...fdsOfKind(c, kind)]
  if (c.scope.domains.wrongKindFd) {
    const other = c.all.find((fd) => c.s.files[c.s.fds[fd]].kind !== kind)
    if (other !== undefined) out.push(other)
  }
  if (c.scope.domains.badFd) out.push(BAD_FD)
  return out
}

function ictxOf(c: Ctx, fd: number): IommufdFile | undefined {
  const f = c.s.files[c.s.fds[fd]]
  return f?.kind === 'iommufd' ? f : undefined
}

type ObjType = 'IOAS' | 'HWPT_PAGING' | 'DEVICE'

/** Candidate object ids of `type` in the iommufd behind `fd`: every one, one of another type,
 *  and one that does not exist. */
function objArg(c: Ctx, fd: number, types: ObjType[]): number[] {
  const f = ictxOf(c, fd)
  if (!f) return [1]
  const ids = Object.keys(f.objects).map(Number).sort((a, b) => a - b)
  const good = ids.filter((id) => types.includes(f.objects[id].type))
  const other = ids.find((id) => !types.includes(f.objects[id].type))
  return [...good, ...(other !== undefined ? [other] : []), BAD_ID]
}

function count(c: Ctx, pred: (o: { type: string }) => boolean): number {
  let n = 0
  for (const f of Object.values(c.s.files)) if (f.kind === 'iommufd') for (const o of Object.values(f.objects)) if (pred(o)) n++
  return n
}

const cross = <A, B>(as: A[], bs: B[]): [A, B][] => as.flatMap((a) => bs.map((b) => [a, b] as [A, B]))

type Enumerator = (c: Ctx) => Op[]

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

export const ENUMERATORS: Partial<Record<OpName, Enumerator>> = {
  MEMFD_CREATE: (c) => (fdsOfKind(c, 'memfd').length >= c.scope.bounds.memfds ? [] : c.scope.domains.memfdPages.map((pages) => ({ op: 'MEMFD_CREATE', args: { pages } }))),
  MEMFD_SEAL: (c) => cross(fdArg(c, 'memfd'), c.scope.domains.seals).map(([fd, seals]) => ({ op: 'MEMFD_SEAL', args: { fd, seals } })),
  MEMFD_TRUNCATE: (c) => cross(fdArg(c, 'memfd'), c.scope.domains.truncatePages).map(([fd, pages]) => ({ op: 'MEMFD_TRUNCATE', args: { fd, pages } })),
  IOMMUFD_OPEN: (c) => (fdsOfKind(c, 'iommufd').length >= c.scope.bounds.iommufds ? [] : [{ op: 'IOMMUFD_OPEN', args: {} }]),
  IOMMU_IOAS_ALLOC: (c) =>
    count(c, (o) => o.type === 'IOAS') >= c.scope.bounds.ioas ? [] : fdArg(c, 'iommufd').map((iommufd) => ({ op: 'IOMMU_IOAS_ALLOC', args: { iommufd } })),
  IOMMU_IOAS_MAP_FILE: (c) => {
    const out: Op[] = []
    const iovas: (bigint | undefined)[] = [...c.scope.domains.iovas, ...(c.scope.domains.autoIova ? [undefined] : [])]
    for (const iommufd of fdArg(c, 'iommufd'))
      for (const ioas of objArg(c, iommufd, ['IOAS']))
        for (const memfd of fdArg(c, 'memfd'))
          for (const length of c.scope.domains.lengths)
            for (const iova of iovas)
              out.push({ op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd, ioas, memfd, start: 0n, length, ...(iova !== undefined && { iova }) } })
    return out
  },
  IOMMU_IOAS_MAP: (c) => {
    const out: Op[] = []
    const iovas: (bigint | undefined)[] = [...c.scope.domains.iovas, ...(c.scope.domains.autoIova ? [undefined] : [])]
    for (const iommufd of fdArg(c, 'iommufd'))
      for (const ioas of objArg(c, iommufd, ['IOAS']))
        for (const length of c.scope.domains.lengths)
          for (const iova of iovas) out.push({ op: 'IOMMU_IOAS_MAP', args: { iommufd, ioas, length, ...(iova !== undefined && { iova }) } })
    return out
  },
  IOMMU_IOAS_UNMAP: (c) => {
    const out: Op[] = []
    for (const iommufd of fdArg(c, 'iommufd'))
      for (const ioas of objArg(c, iommufd, ['IOAS']))
        for (const length of c.scope.domains.lengths)
          for (const iova of c.scope.domains.iovas) out.push({ op: 'IOMMU_IOAS_UNMAP', args: { iommufd, ioas, iova, length } })
    return out
  },
  IOMMU_HWPT_ALLOC: (c) => {
    if (count(c, (o) => o.type === 'HWPT_PAGING') >= c.scope.bounds.hwpts) return []
    const out: Op[] = []
    for (const iommufd of fdArg(c, 'iommufd'))
      for (const dev_id of objArg(c, iommufd, ['DEVICE']))
        for (const pt_id of objArg(c, iommufd, ['IOAS']))
          for (const flags of c.scope.domains.hwptFlags) out.push({ op: 'IOMMU_HWPT_ALLOC', args: { iommufd, dev_id, pt_id, ...flagsArg(flags) } })
    return out
  },
  IOMMU_DESTROY: (c) => fdArg(c, 'iommufd').flatMap((iommufd) => objArg(c, iommufd, ['IOAS', 'HWPT_PAGING', 'DEVICE']).map((id) => ({ op: 'IOMMU_DESTROY', args: { iommufd, id } }) as Op)),
  IOMMU_HWPT_LU_SET_PRESERVE: (c) => {
    const out: Op[] = []
    for (const iommufd of fdArg(c, 'iommufd'))
      for (const hwpt_id of objArg(c, iommufd, ['HWPT_PAGING'])) {
        for (const token of c.scope.domains.tokens) out.push({ op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd, hwpt_id, token } })
        // the V1 unmark (markSemantics=flag; the other options refuse it)
        out.push({ op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd, hwpt_id, token: c.scope.domains.tokens[0] ?? 1n, preserve: false } })
      }
    return out
  },
  IOMMU_HWPT_LU_RESTORE: (c) => cross(fdArg(c, 'iommufd'), c.scope.domains.tokens).map(([iommufd, token]) => ({ op: 'IOMMU_HWPT_LU_RESTORE', args: { iommufd, token } })),
  VFIO_CDEV_OPEN: (c) => (fdsOfKind(c, 'vfio').length >= c.scope.bounds.cdevs ? [] : c.s.platform.devices.map((d) => ({ op: 'VFIO_CDEV_OPEN', args: { bdf: d.bdf } }))),
  VFIO_DEVICE_BIND_IOMMUFD: (c) => cross(fdArg(c, 'vfio'), fdArg(c, 'iommufd')).map(([cdev, iommufd]) => ({ op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev, iommufd } })),
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: (c) => {
    const out: Op[] = []
    for (const cdev of fdArg(c, 'vfio')) {
      const vf = c.s.files[c.s.fds[cdev]]
      const bound = vf?.kind === 'vfio' && vf.bound ? Object.entries(c.s.fds).find(([, id]) => id === vf.bound!.iommufd)?.[0] : undefined
      const ids = bound !== undefined ? objArg(c, Number(bound), ['HWPT_PAGING', 'IOAS']) : [1]
      for (const pt_id of ids) for (const pasid of pasidsOf(c, cdevBdf(c, cdev))) out.push({ op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id, ...(pasid !== undefined && { pasid }) } })
    }
    return out
  },
  VFIO_DEVICE_DETACH_IOMMUFD_PT: (c) =>
    fdArg(c, 'vfio').flatMap((cdev) => pasidsOf(c, cdevBdf(c, cdev)).map((pasid) => ({ op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { cdev, ...(pasid !== undefined && { pasid }) } }) as Op)),
  VFIO_DEVICE_SET_IRQS: (c) => cross(fdArg(c, 'vfio'), [true, false]).map(([cdev, enabled]) => ({ op: 'VFIO_DEVICE_SET_IRQS', args: { cdev, enabled } })),
  DRIVER_BIND: (c) => cross(c.s.platform.devices.map((d) => d.bdf), c.scope.domains.drivers).map(([bdf, driver]) => ({ op: 'DRIVER_BIND', args: { bdf, driver } })),
  LIVEUPDATE_OPEN: () => [{ op: 'LIVEUPDATE_OPEN', args: {} }],
  LIVEUPDATE_IOCTL_CREATE_SESSION: (c) => (c.s.luo.outgoing.length >= c.scope.bounds.sessions ? [] : c.scope.domains.sessions.map((name) => ({ op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name } }))),
  LIVEUPDATE_SESSION_PRESERVE_FD: (c) => {
    const fds = [...c.all, ...(c.scope.domains.badFd ? [BAD_FD] : [])]
    const out: Op[] = []
    for (const session of fdArg(c, 'session')) for (const fd of fds) for (const token of c.scope.domains.tokens) out.push({ op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session, fd, token } })
    return out
  },
  LIVEUPDATE_IOCTL_RETRIEVE_SESSION: (c) => c.scope.domains.sessions.map((name) => ({ op: 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION', args: { name } })),
  LIVEUPDATE_SESSION_RETRIEVE_FD: (c) => cross(fdArg(c, 'session'), c.scope.domains.tokens).map(([session, token]) => ({ op: 'LIVEUPDATE_SESSION_RETRIEVE_FD', args: { session, token } })),
  LIVEUPDATE_SESSION_FINISH: (c) => fdArg(c, 'session').map((session) => ({ op: 'LIVEUPDATE_SESSION_FINISH', args: { session } })),
  CLOSE: (c) => [...c.all, ...(c.scope.domains.badFd ? [BAD_FD] : [])].map((fd) => ({ op: 'CLOSE', args: { fd } })),
  KEXEC: (c) => (c.s.boot >= c.scope.bounds.kexecs ? [] : [{ op: 'KEXEC', args: {} }]),
  DMA: (c) => {
    const out: Op[] = []
    for (const d of c.s.platform.devices)
      for (const pasid of pasidsOf(c, d.bdf)) for (const iova of c.scope.domains.iovas) out.push({ op: 'DMA', args: { bdf: d.bdf, iova, ...(pasid !== undefined && { pasid }) } })
    return out
  },
}

/** The ops of the vocabulary this exploration takes (scope.skipOps removed). */
export function exploredOps(scope: Scope): OpName[] {
  const skip = new Set(scope.skipOps)
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
