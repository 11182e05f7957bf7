// The op-spec table: for every op of the vocabulary, its generation weight and how its
// arguments are resolved against the model's current state from a sequence of picks. One
// table, not a class per op (style-anchors.md A2).

import type { HwptAllocFlag, Op, OpName, Seal } from '../models/ops.ts'
import { HWPT_ALLOC_FLAGS, OP_NAMES, SEALS } from '../models/ops.ts'
import type { IommufdFile, MemfdFile, State } from '../models/state.ts'
import { liveProbes } from '../models/index.ts'
import { groupOf, tablePagesOf } from '../models/platform.ts'
import type { Picker } from './picker.ts'

// ---------------------------------------------------------------- state queries

type Kind = State['files'][number]['kind']

/** The integer keys of a record of the state (the fd table, an iommufd's objects), ascending:
 *  integer keys are listed so (ECMA-262 OrdinaryOwnPropertyKeys). Made once per record object:
 *  the model never changes a part of a state, it makes a new one (models/memo.ts), and the
 *  generators ask this several times a step (issue 12: Object.keys and Number() per call). */
const idLists = new WeakMap<object, readonly number[]>()
function idsOf(r: Readonly<Record<number, unknown>>): readonly number[] {
  let ids = idLists.get(r)
  if (ids === undefined) idLists.set(r, (ids = Object.keys(r).map(Number)))
  return ids
}

/** Open fds whose file is of this kind, lowest first. */
export function fdsOf(s: State, kind: Kind, pred?: (f: State['files'][number]) => boolean): number[] {
  const out: number[] = []
  // (index loops here and below: these run several times a step, in every tier; issue 12)
  const fds = idsOf(s.fds)
  for (let i = 0; i < fds.length; i++) {
    const f = s.files[s.fds[fds[i]]]
    if (f?.kind === kind && (pred === undefined || pred(f))) out.push(fds[i])
  }
  return out
}

export const allFds = (s: State): readonly number[] => idsOf(s.fds)

export function ictx(s: State, fd: number): IommufdFile | undefined {
  const f = s.files[s.fds[fd]]
  return f?.kind === 'iommufd' ? f : undefined
}

export function objectsOf(s: State, fd: number, type?: 'IOAS' | 'HWPT_PAGING' | 'DEVICE'): number[] {
  const f = ictx(s, fd)
  if (!f) return []
  const out: number[] = []
  const ids = idsOf(f.objects)
  for (let i = 0; i < ids.length; i++) if (!type || f.objects[ids[i]].type === type) out.push(ids[i])
  return out
}

export const sessionFds = (s: State, dir: 'in' | 'out') => fdsOf(s, 'session', (f) => f.kind === 'session' && f.dir === dir)

/** Tokens a generated op should mostly use: the ones already in play, plus a u64 one so a
 *  token truncated to 32 bits somewhere shows. */
export const TOKENS = [1n, 2n, 3n, 0x1234n, 0x1_0000_0002n]
/** a token nothing ever preserves (the ENOENT paths) */
export const ABSENT_TOKEN = 0xdead_beefn
export const BDF_DRIVERS = ['pci-pf-stub', 'vfio-pci']
/** a BDF no platform has: the device-less paths (ENODEV) */
export const NO_DEVICE = '0000:7f:1f.7'

function tokensInPlay(s: State): bigint[] {
  const t = new Set<bigint>()
  for (const sess of s.luo.outgoing) for (const p of sess.files) t.add(BigInt(p.token))
  for (const sess of s.luo.incoming) for (const f of sess.files) t.add(BigInt(f.token))
  for (const f of Object.values(s.files))
    if (f.kind === 'iommufd') {
      for (const o of Object.values(f.objects)) if (o.type === 'HWPT_PAGING' && o.mark) t.add(BigInt(o.mark))
      for (const r of f.lu?.records ?? []) t.add(BigInt(r.token))
    }
  return [...t].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

const pageBytes = (n: number) => BigInt(n) * 4096n
const MIB2 = 0x200000n
const GIB = 0x4000_0000n
/** 2^64: an IOVA this far below it ends past u64 */
const U64_END = 1n << 64n
const U64_MAX = U64_END - 1n
/** the smallest length no auto-placed IOVA range below IOVA_LIMIT = 2^48 holds (aligned to
 *  roundup_pow_of_two(length), the hole would have to start at 2^47 and end at the limit) */
const HUGE = 1n << 47n

/** A token: mostly one of TOKENS; now and then 0, the value no handle has (the argument
 *  classes of src/coverage/shapes.ts: 0, small, u64-high). */
const tokenArg = (p: Picker, from: readonly bigint[] = TOKENS): bigint => (p.chance(1, 16) ? 0n : p.pick(from)!)

/** A MEMFD_TRUNCATE the memfd's seals allow (mm/shmem.c shmem_setattr): smaller without
 *  F_SEAL_SHRINK, else larger by `grow()` pages without F_SEAL_GROW; undefined when the seals
 *  allow neither. On a preserved memfd only the frozen mapping then refuses it (EPERM). */
export function resizeSealsAllow(fd: number, m: MemfdFile, p: Picker, grow: () => number): Op | undefined {
  const n = m.pages.length
  if (!m.seals.includes('SHRINK') && n > 0) return { op: 'MEMFD_TRUNCATE', args: { fd, pages: p.int(n) } }
  if (!m.seals.includes('GROW')) return { op: 'MEMFD_TRUNCATE', args: { fd, pages: n + grow() } }
  return undefined
}

/** Would resizeSealsAllow find a size? */
export const sealsAllowResize = (m: MemfdFile): boolean => (!m.seals.includes('SHRINK') && m.pages.length > 0) || !m.seals.includes('GROW')

// ---------------------------------------------------------------- resolvers

type Resolver = (s: State, p: Picker) => Op

const iommufdArg = (s: State, p: Picker) => p.mostly(fdsOf(s, 'iommufd'), () => p.int(12))
const cdevArg = (s: State, p: Picker) => p.mostly(fdsOf(s, 'vfio'), () => p.int(12))
const memfdArg = (s: State, p: Picker) => p.mostly(fdsOf(s, 'memfd'), () => p.int(12))
const bdfArg = (s: State, p: Picker) => p.pick(s.platform.devices.map((d) => d.bdf))!
const objArg = (s: State, fd: number, p: Picker, type?: 'IOAS' | 'HWPT_PAGING' | 'DEVICE') =>
  p.mostly(objectsOf(s, fd, type), () => 1 + p.int(8))

/** An IOVA near what is live: the k-th area's start or end, plus a page offset. */
function iovaArg(s: State, fd: number, ioas: number, p: Picker): bigint {
  const o = ictx(s, fd)?.objects[ioas]
  const areas = o?.type === 'IOAS' ? o.areas : []
  const a = p.pick(areas)
  // now and then a 2 MiB- or 1 GiB-aligned IOVA (superpage leaves) or one inside a page (EINVAL)
  // (not where table pages are made scarce on purpose, the tiny platform: a mapping 1 GiB
  // away costs a domain three more table pages, and two preserved domains then leave the
  // documented recovery no table page for its new HWPT)
  const odd = p.int(16)
  const roomy = tablePagesOf(s.platform) >= 64
  if (odd === 1 && roomy) return MIB2 * BigInt(1 + p.int(4))
  if (odd === 2 && roomy) return GIB * BigInt(1 + p.int(2))
  if (odd === 3) return 0x100800n
  if (!a || p.chance(1, 5)) return 0x100000n + pageBytes(p.int(8)) * 0x40n
  return p.chance(1, 2) ? a.iova + a.length : a.iova + (p.chance(1, 6) ? 0x1000n : 0n)
}

/** Mostly the set the preserve rule asks for; a quarter of the time a flag word set only
 *  partly (some seals, not others: e.g. GROW|SHRINK without SEAL, so a later seal still
 *  changes it), every seal, or none. A memfd already sealed partly, and not yet with
 *  F_SEAL_SEAL, gets half the time the seals it lacks (or some of them): the word is built
 *  over several F_ADD_SEALS calls, each adding bits the one before did not set (held-out
 *  add-seals-overwrites: a call that stores instead of or-ing shows only then). */
function sealsArg(p: Picker, have: readonly Seal[] = []): Seal[] {
  if (have.length > 0 && !have.includes('SEAL') && p.chance(1, 2)) {
    const missing = SEALS.filter((x) => !have.includes(x))
    const some = missing.filter(() => p.chance(1, 2))
    return some.length > 0 ? some : missing
  }
  if (!p.chance(1, 4)) return ['SEAL', 'GROW', 'SHRINK']
  const k = p.int(6)
  if (k === 0) return [...SEALS]
  if (k === 1) return []
  // a proper, non-empty subset
  const sub = SEALS.filter(() => p.chance(1, 2))
  return sub.length === 0 || sub.length === SEALS.length ? [SEALS[p.int(SEALS.length)]] : sub
}

/** IOMMU_HWPT_ALLOC flags: none, PASID (the common one), or any other combination of the
 *  flag word: NEST_PARENT alone or with others, DIRTY_TRACKING (EOPNOTSUPP), all of them. */
function hwptFlagsArg(p: Picker, pasidLikely: boolean): HwptAllocFlag[] | undefined {
  if (p.chance(1, 6)) {
    const sub = HWPT_ALLOC_FLAGS.filter(() => p.chance(1, 2))
    return sub.length === 0 ? ['NEST_PARENT'] : sub
  }
  return p.chance(pasidLikely ? 3 : 1, 4) ? ['PASID'] : undefined
}

function markArgs(s: State, p: Picker): { iommufd: number; hwpt_id: number; token: bigint } {
  const iommufd = iommufdArg(s, p)
  // sometimes a token a HWPT of this iommufd already carries (EADDRINUSE)
  const marks = Object.values(ictx(s, iommufd)?.objects ?? {}).flatMap((o) => (o.type === 'HWPT_PAGING' && o.mark ? [BigInt(o.mark)] : []))
  const token = marks.length && p.chance(1, 4) ? p.pick(marks)! : tokenArg(p)
  return { iommufd, hwpt_id: objArg(s, iommufd, p, 'HWPT_PAGING'), token }
}

export const RESOLVE: Record<OpName, Resolver> = {
  // now and then a large memfd, so allocation failure (ENOMEM) happens too
  // now and then without MFD_ALLOW_SEALING (starts sealed: MEMFD_SEAL is EPERM)
  MEMFD_CREATE: (_s, p) => {
    const pages = p.chance(1, 12) ? 48 + p.int(200) : 1 + p.int(6)
    return { op: 'MEMFD_CREATE', args: p.chance(1, 10) ? { pages, allowSealing: false } : { pages } }
  },
  MEMFD_SEAL: (s, p) => {
    const fd = memfdArg(s, p)
    const f = s.files[s.fds[fd]]
    return { op: 'MEMFD_SEAL', args: { fd, seals: sealsArg(p, f?.kind === 'memfd' ? f.seals : []) } }
  },
  MEMFD_TRUNCATE: (s, p) => {
    // now and then a memfd preserved in an outgoing session (its size is frozen: EPERM)
    const preserved = Object.entries(s.fds).flatMap(([fd, id]) => (s.luo.outgoing.some((x) => x.files.some((f) => f.file === id && f.kind === 'memfd')) ? [Number(fd)] : []))
    const fd = preserved.length > 0 && p.chance(1, 3) ? p.pick(preserved)! : memfdArg(s, p)
    // on a preserved memfd, half the time a size its seals allow (smaller without F_SEAL_SHRINK,
    // larger without F_SEAL_GROW), so the EPERM comes from the frozen mapping
    // (samikhawaja/linux mm/memfd_luo.c memfd_luo_preserve -> shmem_freeze), not from the seals
    // (mm/shmem.c shmem_setattr), which a sealed memfd would answer first
    const f = s.files[s.fds[fd]]
    if (f?.kind === 'memfd' && preserved.includes(fd) && p.chance(1, 2)) {
      const r = resizeSealsAllow(fd, f, p, () => 1 + p.int(4))
      if (r) return r
    }
    return { op: 'MEMFD_TRUNCATE', args: { fd, pages: p.chance(1, 12) ? 300 : p.int(8) } }
  },
  IOMMUFD_OPEN: () => ({ op: 'IOMMUFD_OPEN', args: {} }),
  IOMMU_IOAS_ALLOC: (s, p) => ({ op: 'IOMMU_IOAS_ALLOC', args: { iommufd: iommufdArg(s, p) } }),
  IOMMU_IOAS_MAP_FILE: (s, p) => {
    const iommufd = iommufdArg(s, p)
    const ioas = objArg(s, iommufd, p, 'IOAS')
    const memfd = memfdArg(s, p)
    const size = (s.files[s.fds[memfd]] as { pages?: number[] } | undefined)?.pages?.length ?? 4
    const start = p.int(Math.max(1, size))
    const pages = p.chance(1, 8) ? size + 1 : 1 + p.int(Math.max(1, size - start))
    // now and then a start or length inside a page (EINVAL), or a 2 MiB length (a superpage
    // when the memfd is that large and the IOVA aligned)
    const odd = p.int(16)
    // once in 16 the range's u64 edges, values the uAPI lets through (struct iommu_ioas_map_file's
    // length and iova are __aligned_u64: torvalds/linux include/uapi/linux/iommufd.h) and that
    // fail before the memfd is looked at (models/iommufd.ts checkMap):
    //  * an IOVA whose end passes u64, or a length of U64_MAX: EOVERFLOW (torvalds/linux
    //    drivers/iommu/iommufd/ioas.c iommufd_ioas_map_file: `cmd->iova >= ULONG_MAX ||
    //    cmd->length >= ULONG_MAX`; the end: io_pagetable.c iopt_check_iova,
    //    check_add_overflow(iova, length - 1));
    //  * (half of them) an auto-IOVA length of 2^47 or 2^48: no aligned hole below the IOVA limit holds it, ENOSPC
    //    (io_pagetable.c iopt_alloc_iova, which aligns to roundup_pow_of_two(length))
    if (odd === 4) {
      const k = p.int(4)
      const edge = { iommufd, ioas, memfd, start: pageBytes(start) }
      if (k === 0) return { op: 'IOMMU_IOAS_MAP_FILE', args: { ...edge, length: pageBytes(pages), iova: U64_END - 0x1000n } }
      if (k === 1) return { op: 'IOMMU_IOAS_MAP_FILE', args: { ...edge, length: U64_MAX } }
      return { op: 'IOMMU_IOAS_MAP_FILE', args: { ...edge, length: HUGE << BigInt(p.int(2)) } }
    }
    const startB = odd === 1 ? pageBytes(start) + 0x800n : pageBytes(start)
    const lengthB = odd === 2 ? pageBytes(pages) - 0x800n : odd === 3 ? MIB2 : pageBytes(pages)
    const args = { iommufd, ioas, memfd, start: startB, length: lengthB }
    return { op: 'IOMMU_IOAS_MAP_FILE', args: p.chance(1, 3) ? args : { ...args, iova: iovaArg(s, iommufd, ioas, p) } }
  },
  IOMMU_IOAS_MAP: (s, p) => {
    const iommufd = iommufdArg(s, p)
    const ioas = objArg(s, iommufd, p, 'IOAS')
    // mostly a few pages; sometimes unaligned (EINVAL), more memory than exists (ENOMEM), or
    // an IOVA whose end overflows u64 (EOVERFLOW)
    const odd = p.int(12)
    const length = odd === 1 ? 0x800n : odd === 2 ? pageBytes(4096) : odd === 4 ? MIB2 : odd === 5 ? GIB : pageBytes(1 + p.int(4))
    const args = { iommufd, ioas, length }
    if (odd === 3) return { op: 'IOMMU_IOAS_MAP', args: { ...args, iova: U64_END - 0x1000n } }
    // once in 12 an auto-IOVA length of 2^47 or 2^48 (struct iommu_ioas_map's length is an
    // __aligned_u64, include/uapi/linux/iommufd.h): no aligned hole below the IOVA limit holds
    // it, ENOSPC before any page is pinned (io_pagetable.c iopt_alloc_iova; models/iommufd.ts allocIova)
    if (odd === 6) return { op: 'IOMMU_IOAS_MAP', args: { iommufd, ioas, length: HUGE << BigInt(p.int(2)) } }
    // a superpage-sized map wants an aligned IOVA
    if (odd === 4) return { op: 'IOMMU_IOAS_MAP', args: { ...args, iova: MIB2 * BigInt(2 + p.int(6)) } }
    return { op: 'IOMMU_IOAS_MAP', args: p.chance(1, 3) ? args : { ...args, iova: iovaArg(s, iommufd, ioas, p) } }
  },
  IOMMU_IOAS_UNMAP: (s, p) => {
    const iommufd = iommufdArg(s, p)
    const ioas = objArg(s, iommufd, p, 'IOAS')
    const o = ictx(s, iommufd)?.objects[ioas]
    const a = p.pick(o?.type === 'IOAS' ? o.areas : [])
    const odd = p.int(12)
    if (odd === 1) return { op: 'IOMMU_IOAS_UNMAP', args: { iommufd, ioas, iova: 0n, length: U64_MAX } }
    if (odd === 2) return { op: 'IOMMU_IOAS_UNMAP', args: { iommufd, ioas, iova: 0x100000n, length: 0n } }
    if (odd === 3) return { op: 'IOMMU_IOAS_UNMAP', args: { iommufd, ioas, iova: U64_MAX, length: 0x1000n } }
    // a superpage-sized range: 2 MiB from a 2 MiB-aligned IOVA, or 1 GiB from 1 GiB
    if (odd === 4) return { op: 'IOMMU_IOAS_UNMAP', args: { iommufd, ioas, iova: MIB2 * BigInt(1 + p.int(4)), length: MIB2 } }
    if (odd === 5) return { op: 'IOMMU_IOAS_UNMAP', args: { iommufd, ioas, iova: GIB, length: GIB } }
    const iova = a ? a.iova : iovaArg(s, iommufd, ioas, p)
    const length = a && !p.chance(1, 6) ? a.length : pageBytes(1 + p.int(4))
    return { op: 'IOMMU_IOAS_UNMAP', args: { iommufd, ioas, iova, length } }
  },
  IOMMU_HWPT_ALLOC: (s, p) => {
    const iommufd = iommufdArg(s, p)
    // now and then on an IOAS with nothing mapped yet (QEMU sets up a device's HWPT before the
    // memory listener maps guest RAM): such a domain costs one table page, so units run out of
    // DIDs (ENOSPC) before the table zone runs out of pages
    const empty = objectsOf(s, iommufd, 'IOAS').filter((id) => {
      const o = ictx(s, iommufd)!.objects[id]
      return o.type === 'IOAS' && o.areas.length === 0
    })
    const pt = empty.length > 0 && p.chance(1, 4) ? p.pick(empty)! : objArg(s, iommufd, p, p.chance(1, 8) ? undefined : 'IOAS')
    const args = { iommufd, dev_id: objArg(s, iommufd, p, 'DEVICE'), pt_id: pt }
    // PASID-capable a quarter of the time; mostly when the device already has PASIDs
    // attached, since only such a HWPT can then replace its RID or PASID domain
    // (iommufd_hwpt_pasid_compat): without it no replace of that device is ever tried
    const f = ictx(s, iommufd)
    const dev = f?.objects[args.dev_id]
    const pasids = dev?.type === 'DEVICE' && Object.keys(f!.attach[groupOf(s.platform, dev.bdf)] ?? {}).some((k) => k !== '0')
    const flags = hwptFlagsArg(p, pasids)
    return { op: 'IOMMU_HWPT_ALLOC', args: flags ? { ...args, flags } : args }
  },
  IOMMU_DESTROY: (s, p) => {
    const iommufd = iommufdArg(s, p)
    // a third of the time the VMM's teardown order: a HWPT nothing is attached to, and once
    // none is left an IOAS no HWPT sits on (the destroy of an IOAS whose HWPTs went first is
    // what checks that each HWPT dropped its IOAS reference)
    const f = ictx(s, iommufd)
    if (f && p.chance(1, 3)) {
      const hwpt = unattachedHwpts(f)[0]
      const bare = objectsOf(s, iommufd, 'IOAS').find((id) => !Object.values(f.objects).some((o) => o.type === 'HWPT_PAGING' && o.ioas === id))
      const id = hwpt ?? bare
      if (id !== undefined) return { op: 'IOMMU_DESTROY', args: { iommufd, id } }
    }
    return { op: 'IOMMU_DESTROY', args: { iommufd, id: objArg(s, iommufd, p) } }
  },
  IOMMU_HWPT_LU_SET_PRESERVE: (s, p) => {
    const iommufd = iommufdArg(s, p)
    // sometimes the token another HWPT of this iommufd already carries (EADDRINUSE)
    const marks = Object.values(ictx(s, iommufd)?.objects ?? {}).flatMap((o) => (o.type === 'HWPT_PAGING' && o.mark ? [BigInt(o.mark)] : []))
    const token = marks.length && p.chance(1, 4) ? p.pick(marks)! : tokenArg(p)
    const args = { iommufd, hwpt_id: objArg(s, iommufd, p, 'HWPT_PAGING'), token }
    return { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: p.chance(1, 10) ? { ...args, preserve: false } : args }
  },
  // the newer names of the mark ioctl: the same picks, without V1's `preserve` field
  IOMMU_HWPT_LU_MARK_PRESERVE: (s, p) => ({ op: 'IOMMU_HWPT_LU_MARK_PRESERVE', args: markArgs(s, p) }),
  IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE: (s, p) => ({ op: 'IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE', args: markArgs(s, p) }),
  IOMMU_HWPT_LU_RESTORE: (s, p) => {
    const iommufd = p.mostly(fdsOf(s, 'iommufd', (f) => f.kind === 'iommufd' && !!f.lu), () => iommufdArg(s, p))
    const records = (ictx(s, iommufd)?.lu?.records ?? []).map((r) => BigInt(r.token))
    return { op: 'IOMMU_HWPT_LU_RESTORE', args: { iommufd, token: p.mostly(records, () => tokenArg(p, [...TOKENS, ABSENT_TOKEN])) } }
  },
  VFIO_CDEV_OPEN: (s, p) => ({ op: 'VFIO_CDEV_OPEN', args: { bdf: bdfArg(s, p) } }),
  VFIO_DEVICE_BIND_IOMMUFD: (s, p) => {
    const cdev = cdevArg(s, p)
    // prefer an iommufd retrieved from LUO: that is the bind recovery needs
    const retrieved = fdsOf(s, 'iommufd', (f) => f.kind === 'iommufd' && !!f.lu)
    const others = fdsOf(s, 'iommufd', (f) => f.kind === 'iommufd' && !f.lu)
    const iommufd = retrieved.length && p.chance(2, 3) ? p.pick(retrieved)! : others.length && p.chance(1, 2) ? p.pick(others)! : iommufdArg(s, p)
    return { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev, iommufd } }
  },
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: (s, p) => {
    const cdev = cdevArg(s, p)
    const vf = s.files[s.fds[cdev]]
    const fd = (vf?.kind === 'vfio' && vf.bound ? fdOfFile(s, vf.bound.iommufd) : undefined) ?? iommufdArg(s, p)
    const f = ictx(s, fd)
    const slots = vf?.kind === 'vfio' && vf.bound ? f?.attach[groupOf(s.platform, vf.bdf)] : undefined
    const rid = slots?.[0]?.hwpt
    const compat = rid !== undefined && f?.objects[rid]?.type === 'HWPT_PAGING' && (f.objects[rid] as { pasidCompat: boolean }).pasidCompat
    const pasid = p.chance(1, 6) ? 1 + p.int(2) : 0
    // the slot already has a HWPT: most of the time another one, a replace (attaching the one
    // it has is a no-op). A replace has an error path the first attach has not: with
    // teardown-then-setup the old entry is gone before the new domain gets its DID, and when
    // the old domain keeps its DID through another slot (a PASID, another device) a unit
    // without a free DID fails the setup (ENOSPC), so the old domain has to be put back
    const cur = slots?.[pasid]?.hwpt
    const others = cur === undefined ? [] : objectsOf(s, fd, 'HWPT_PAGING').filter((id) => id !== cur)
    // an empty slot: now and then a HWPT nothing is attached to, a domain of its own. Each new
    // domain takes a DID on its unit, and only new domains side by side exhaust a unit's
    // domain_ida (ENOSPC on attach; the tiny platform's units have 2 and 1 DIDs), where a
    // replace mostly hands the old domain's DID to the new one
    const fresh = cur === undefined && f ? unattachedHwpts(f).filter((id) => pasid === 0 || (f.objects[id] as { pasidCompat?: boolean }).pasidCompat) : []
    const pt_id =
      others.length > 0 && p.chance(2, 3) ? p.pick(others)! : fresh.length > 0 && p.chance(1, 3) ? p.pick(fresh)! : objArg(s, fd, p, p.chance(1, 3) ? 'IOAS' : 'HWPT_PAGING')
    if (pasid === 0) return { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id } }
    // a PASID attach: half the time to the HWPT already on the RID, so one domain holds one DID
    // through the RID and a PASID (what a later RID replace has to get right)
    return { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: compat && cur === undefined && p.chance(1, 2) ? rid! : pt_id, pasid } }
  },
  VFIO_DEVICE_DETACH_IOMMUFD_PT: (s, p) => {
    const cdev = cdevArg(s, p)
    return { op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: p.chance(1, 6) ? { cdev, pasid: 1 } : { cdev } }
  },
  VFIO_DEVICE_SET_IRQS: (s, p) => ({ op: 'VFIO_DEVICE_SET_IRQS', args: { cdev: cdevArg(s, p), enabled: p.chance(1, 2) } }),
  DRIVER_BIND: (s, p) => ({ op: 'DRIVER_BIND', args: { bdf: p.chance(1, 12) ? NO_DEVICE : bdfArg(s, p), driver: p.pick(BDF_DRIVERS)! } }),
  LIVEUPDATE_OPEN: () => ({ op: 'LIVEUPDATE_OPEN', args: {} }),
  LIVEUPDATE_IOCTL_CREATE_SESSION: (_s, p) => ({ op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: p.pick(['vm0', 'vm1', 'vm0', 'vm1', ''])! } }),
  LIVEUPDATE_SESSION_PRESERVE_FD: (s, p) => {
    const session = p.mostly(sessionFds(s, 'out'), () => p.int(12))
    // the order the kernel needs: memfds first, then the iommufd, then cdevs
    const ordered = [...fdsOf(s, 'memfd'), ...fdsOf(s, 'iommufd'), ...fdsOf(s, 'vfio')]
    const unpreserved = ordered.filter((fd) => !s.luo.outgoing.some((x) => x.files.some((f) => f.file === s.fds[fd])))
    const fd = unpreserved.length && !p.chance(1, 5) ? unpreserved[0] : p.mostly(allFds(s), () => p.int(12))
    // tokens are unique within a session only (luo_preserve_file: -EEXIST in that session's
    // file set), so two sessions number their files alike (both VMs' iommufds token 2, ...):
    // what a token-only ownership or record lookup would confuse
    const sf = s.fds[session]
    const used = new Set(s.luo.outgoing.filter((x) => x.file === sf).flatMap((x) => x.files.map((f) => BigInt(f.token))))
    const fresh = TOKENS.filter((t) => !used.has(t))
    return { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session, fd, token: p.mostly(fresh, () => tokenArg(p)) } }
  },
  LIVEUPDATE_IOCTL_RETRIEVE_SESSION: (s, p) => ({
    op: 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION',
    args: { name: p.mostly(s.luo.incoming.map((x) => x.name), () => p.pick(['vm0', 'vm1'])!) },
  }),
  LIVEUPDATE_SESSION_RETRIEVE_FD: (s, p) => {
    const session = p.mostly(sessionFds(s, 'in'), () => p.int(12))
    const sess = s.luo.incoming.find((x) => x.retrievedAs === s.fds[session])
    const tokens = (sess?.files ?? []).map((f) => BigInt(f.token))
    return { op: 'LIVEUPDATE_SESSION_RETRIEVE_FD', args: { session, token: p.mostly(tokens, () => tokenArg(p, [...tokensInPlay(s), ABSENT_TOKEN])) } }
  },
  LIVEUPDATE_SESSION_FINISH: (s, p) => ({ op: 'LIVEUPDATE_SESSION_FINISH', args: { session: p.mostly(sessionFds(s, 'in'), () => p.pick(allFds(s)) ?? 3) } }),
  // any session fd, either direction; sometimes a non-zero reserved field (EINVAL)
  LIVEUPDATE_SESSION_GET_NAME: (s, p) => {
    const session = p.mostly([...sessionFds(s, 'out'), ...sessionFds(s, 'in')], () => p.pick(allFds(s)) ?? 3)
    return { op: 'LIVEUPDATE_SESSION_GET_NAME', args: p.chance(1, 4) ? { session, reserved: 1 } : { session } }
  },
  CLOSE: (s, p) => ({ op: 'CLOSE', args: { fd: p.mostly(allFds(s), () => 3 + p.int(10)) } }),
  // now and then kho_finalize fails after every file froze (-EAGAIN, the old kernel runs on)
  KEXEC: (_s, p) => ({ op: 'KEXEC', args: p.chance(1, 10) ? { khoFinalizeFails: true } : {} }),
  DMA: (s, p) => {
    const live = liveProbes(s)
    const probe = p.pick(live)
    if (!probe || p.chance(1, 8)) return { op: 'DMA', args: { bdf: p.chance(1, 10) ? NO_DEVICE : bdfArg(s, p), iova: 0x100000n + pageBytes(p.int(8)) } }
    const iova = probe.iova + BigInt(p.int(4) * 0x10)
    return { op: 'DMA', args: probe.pasid ? { bdf: probe.bdf, pasid: probe.pasid, iova } : { bdf: probe.bdf, iova } }
  },
}

/** HWPT_PAGING objects of an iommufd no device is attached to (RID or PASID), lowest first. */
function unattachedHwpts(f: IommufdFile): number[] {
  const used = new Set(Object.values(f.attach).flatMap((g) => Object.values(g).map((x) => x.hwpt)))
  const out: number[] = []
  for (const id of idsOf(f.objects)) if (f.objects[id].type === 'HWPT_PAGING' && !used.has(id)) out.push(id)
  return out
}

/** The lowest fd open on a file, if any (a file can outlive its fds: LUO or a binding holds it). */
export function fdOfFile(s: State, file: number): number | undefined {
  // the first is the lowest (idsOf: ascending)
  const fds = idsOf(s.fds)
  for (let i = 0; i < fds.length; i++) if (s.fds[fds[i]] === file) return fds[i]
  return undefined
}

/** Generation weights: common ops often, machine-wide ones rarely. Swarm runs switch some off. */
export const WEIGHTS: Record<OpName, number> = {
  MEMFD_CREATE: 3,
  MEMFD_SEAL: 2,
  MEMFD_TRUNCATE: 1,
  IOMMUFD_OPEN: 2,
  IOMMU_IOAS_ALLOC: 2,
  IOMMU_IOAS_MAP_FILE: 4,
  IOMMU_IOAS_MAP: 2,
  IOMMU_IOAS_UNMAP: 2,
  IOMMU_HWPT_ALLOC: 3,
  IOMMU_DESTROY: 2,
  IOMMU_HWPT_LU_SET_PRESERVE: 3,
  IOMMU_HWPT_LU_RESTORE: 3,
  IOMMU_HWPT_LU_MARK_PRESERVE: 1,
  IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE: 1,
  VFIO_CDEV_OPEN: 3,
  VFIO_DEVICE_BIND_IOMMUFD: 3,
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: 4,
  VFIO_DEVICE_DETACH_IOMMUFD_PT: 1,
  VFIO_DEVICE_SET_IRQS: 2,
  DRIVER_BIND: 1,
  LIVEUPDATE_OPEN: 2,
  LIVEUPDATE_IOCTL_CREATE_SESSION: 2,
  LIVEUPDATE_SESSION_PRESERVE_FD: 4,
  LIVEUPDATE_IOCTL_RETRIEVE_SESSION: 2,
  LIVEUPDATE_SESSION_RETRIEVE_FD: 3,
  LIVEUPDATE_SESSION_FINISH: 2,
  LIVEUPDATE_SESSION_GET_NAME: 1,
  CLOSE: 1,
  KEXEC: 1,
  DMA: 4,
}

export { OP_NAMES }
