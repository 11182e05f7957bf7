// Coverage in model terms, part two: the SHARING SHAPES a run put the model in and the
// ARGUMENT CLASSES its ops were called with. The (op, errno) table says which error paths ran;
// these say which situations the rules were tried in. Each of them is a situation a held-out
// kernel defect needed and the generators once never produced (issue 13):
//   * several preserved devices behind one preserved domain on one IOMMU unit at KEXEC time
//     (the boot restore must re-attach every one of them with the same DID);
//   * a domain shared by devices of different units (one DID per unit);
//   * a domain attached only at a PASID, torn down outside KEXEC (the PASID entry is the only
//     reference: its DID must go with it);
//   * 2 MiB leaves (splitRun in models/iommu.ts: an IOVA and a PA run aligned to 2 MiB);
//   * flag words set only partly (some seals, not others), tokens of each width, IOVAs and
//     lengths of each alignment.
// Classification is cheap on purpose: an argument class is a few comparisons on the op, and a
// shape is looked for only after the ops that can make it (exploration counts every transition).
//
// Keys are plain strings, `shape` -> steps that showed it and `OP.arg class` -> steps; the
// universes below are what summary.md lists as reached / not reached.

import { splitRun, iovaPfnOf } from '../../models/iommu.ts'
import { HWPT_ALLOC_FLAGS, SEALS, type Op, type Result } from '../../models/ops.ts'
import { resolveDevices } from '../../models/platform.ts'
import type { DomainId, State } from '../../models/state.ts'
import { joined } from './keys.ts'

/** what most steps show: no shape, no argument class */
const NONE: readonly string[] = Object.freeze([])

// ---------------------------------------------------------------- sharing shapes

export const SHAPES = {
  'kexec: preserved domain with 1 device': 'a KEXEC crossed with a preserved domain one preserved device translates through',
  'kexec: preserved domain shared by >=2 devices on one unit':
    'a KEXEC crossed with one preserved domain behind two or more preserved devices of the same IOMMU unit (one DID, several context entries)',
  'kexec: >=2 preserved domains on one unit': 'a KEXEC crossed with two or more preserved domains on the same unit (two DIDs to reserve)',
  'kexec: preserved domains on >=2 units': 'a KEXEC crossed with preserved devices behind two IOMMU units',
  'kexec: preserved domain with a 2 MiB leaf': 'a KEXEC crossed with a preserved domain whose page table holds a 2 MiB leaf',
  'attach: domain shared by >=2 devices on one unit': 'after an attach, one domain is the RID domain of two or more devices of one unit',
  'attach: domain shared across units': 'after an attach, one domain is the RID domain of devices behind two IOMMU units',
  'attach: PASID-only domain': 'after an attach, a domain is attached at a PASID and at no RID',
  'teardown: PASID-only domain detached': 'a domain attached only at PASIDs lost its last attachment by VFIO_DEVICE_DETACH_IOMMUFD_PT',
  'teardown: PASID-only domain closed': 'a domain attached only at PASIDs lost its last attachment by CLOSE (the cdev unbinds)',
  'map: 2 MiB leaf': 'an IOMMU_IOAS_MAP or MAP_FILE mapped a 2 MiB leaf',
  'unmap: 2 MiB leaf': 'an IOMMU_IOAS_UNMAP removed a 2 MiB leaf',
} as const
export type Shape = keyof typeof SHAPES
export const SHAPE_NAMES = Object.keys(SHAPES) as Shape[]

/** Where is each RID / PASID domain used: per domain, the devices (with their unit) whose RID
 *  it is, and the number of PASID entries pointing at it. */
function domainUse(s: State): Map<DomainId, { rid: { bdf: string; unit: string }[]; pasids: number }> {
  const m = new Map<DomainId, { rid: { bdf: string; unit: string }[]; pasids: number }>()
  const get = (d: DomainId) => {
    let e = m.get(d)
    if (!e) m.set(d, (e = { rid: [], pasids: 0 }))
    return e
  }
  for (const dev of resolveDevices(s.platform)) {
    const g = s.groups[dev.group]
    if (!g) continue
    if (typeof g.domain === 'number') get(g.domain).rid.push({ bdf: dev.bdf, unit: dev.unit })
  }
  for (const g of Object.values(s.groups)) for (const d of Object.values(g.pasids)) get(d).pasids++
  return m
}

const hasSuperLeaf = (s: State, d: DomainId) => (s.domains[d]?.extents ?? []).some((e) => e.pages.length >= 512 && splitRun(iovaPfnOf(e.iova), e.pages).some((l) => l.order > 0))

/** The shapes of the preserved state a successful KEXEC left (`prev` is the state before it). */
function kexecShapes(prev: State, out: string[]): void {
  const use = domainUse(prev)
  const perUnit = new Map<string, number>()
  const units = new Set<string>()
  for (const [d, u] of use) {
    if (prev.domains[d]?.preserved === undefined) continue
    const devs = u.rid.filter((x) => prev.devices[x.bdf]?.preservedIn !== undefined)
    if (devs.length === 0) continue
    const byUnit = new Map<string, number>()
    for (const x of devs) {
      byUnit.set(x.unit, (byUnit.get(x.unit) ?? 0) + 1)
      units.add(x.unit)
    }
    for (const unit of byUnit.keys()) perUnit.set(unit, (perUnit.get(unit) ?? 0) + 1)
    if (devs.length === 1) out.push('kexec: preserved domain with 1 device')
    if ([...byUnit.values()].some((n) => n >= 2)) out.push('kexec: preserved domain shared by >=2 devices on one unit')
    if (hasSuperLeaf(prev, d)) out.push('kexec: preserved domain with a 2 MiB leaf')
  }
  if ([...perUnit.values()].some((n) => n >= 2)) out.push('kexec: >=2 preserved domains on one unit')
  if (units.size >= 2) out.push('kexec: preserved domains on >=2 units')
}

/** Domains attached at some PASID and at no RID. */
function pasidOnly(s: State): Set<DomainId> {
  const out = new Set<DomainId>()
  for (const [d, u] of domainUse(s)) if (u.pasids > 0 && u.rid.length === 0) out.add(d)
  return out
}

function attachedAnywhere(s: State, d: DomainId): boolean {
  for (const g of Object.values(s.groups)) {
    if (g.domain === d) return true
    for (const p of Object.values(g.pasids)) if (p === d) return true
  }
  return false
}

function areaAt(s: State, iommufd: number, ioas: number, iova: bigint) {
  const f = s.files[s.fds[iommufd]]
  const o = f?.kind === 'iommufd' ? f.objects[ioas] : undefined
  return o?.type === 'IOAS' ? o.areas.find((a) => a.iova === iova) : undefined
}

const superRun = (iova: bigint, pages: readonly number[]) => pages.length >= 512 && splitRun(iovaPfnOf(iova), pages).some((l) => l.order > 0)

/** The sharing shapes one step showed: prev --op/result--> next. */
export function stepShapes(prev: State, op: Op, r: Result, next: State): readonly string[] {
  if (!r.ok) return NONE
  const out: string[] = []
  switch (op.op) {
    case 'KEXEC':
      if (next.boot !== prev.boot) kexecShapes(prev, out)
      break
    case 'VFIO_DEVICE_ATTACH_IOMMUFD_PT': {
      for (const [, u] of domainUse(next)) {
        if (u.rid.length >= 2) {
          const units = new Set(u.rid.map((x) => x.unit))
          if (units.size < u.rid.length) out.push('attach: domain shared by >=2 devices on one unit')
          if (units.size >= 2) out.push('attach: domain shared across units')
        }
        if (u.pasids > 0 && u.rid.length === 0) out.push('attach: PASID-only domain')
      }
      break
    }
    case 'VFIO_DEVICE_DETACH_IOMMUFD_PT':
    case 'CLOSE':
      for (const d of pasidOnly(prev))
        if (!attachedAnywhere(next, d)) out.push(op.op === 'CLOSE' ? 'teardown: PASID-only domain closed' : 'teardown: PASID-only domain detached')
      break
    case 'IOMMU_IOAS_MAP':
    case 'IOMMU_IOAS_MAP_FILE': {
      if (op.args.length < 0x200000n) break
      const iova = op.args.iova ?? (typeof r.out === 'bigint' ? r.out : undefined)
      const a = iova === undefined ? undefined : areaAt(next, op.args.iommufd, op.args.ioas, iova)
      if (a && superRun(a.iova, a.pages)) out.push('map: 2 MiB leaf')
      break
    }
    case 'IOMMU_IOAS_UNMAP': {
      const a = areaAt(prev, op.args.iommufd, op.args.ioas, op.args.iova)
      if (a && a.length >= 0x200000n && superRun(a.iova, a.pages) && !areaAt(next, op.args.iommufd, op.args.ioas, op.args.iova)) out.push('unmap: 2 MiB leaf')
      break
    }
    default:
      break
  }
  return out.length === 0 ? NONE : out.length === 1 ? out : [...new Set(out)]
}

// ---------------------------------------------------------------- argument classes

const GIB = 1n << 30n
const MIB2 = 1n << 21n
const PAGE = 0x1000n

/** Alignment class of an address or length: the largest of 1G / 2M / 4K it is a multiple
 *  of (0 counts as `zero`), or `unaligned`. */
export function alignClass(v: bigint): string {
  if (v === 0n) return 'zero'
  if (v % GIB === 0n) return '1G'
  if (v % MIB2 === 0n) return '2M'
  if (v % PAGE === 0n) return '4K'
  return 'unaligned'
}

/** A token's width: 0 (the value no handle has), a small one, or one above 32 bits (a u64
 *  truncated to 32 bits somewhere shows only with those). */
export const tokenClass = (t: bigint): string => (t === 0n ? '0' : t < 1n << 32n ? 'small' : 'u64-high')

/** A flag word given as a list of names: none, partial (some but not all), all; plus which
 *  bits were set. The vocabulary names each bit (DESIGN.md §2.2 seal and flag names), so
 *  undefined bits cannot be written in a scenario: there is no `invalid` class to reach. */
function flagClasses(key: string, set: readonly string[], all: readonly string[]): string[] {
  const n = new Set(set).size
  const out = [joined(key, n === 0 ? 'none' : n === all.length ? 'all' : 'partial')]
  for (const b of all) if (set.includes(b)) out.push(joined(key, b, ' bit:'))
  return out
}

const ALIGNS = ['zero', '4K', '2M', '1G', 'unaligned']
const TOKENS = ['0', 'small', 'u64-high']
const flagUniverse = (key: string, all: readonly string[]) => [`${key} none`, `${key} partial`, `${key} all`, ...all.map((b) => `${key} bit:${b}`)]

/** Every argument class the table defines (what summary.md lists as reached / not reached). */
export const ARG_CLASSES: readonly string[] = [
  'MEMFD_CREATE.flags MFD_ALLOW_SEALING',
  'MEMFD_CREATE.flags 0',
  ...flagUniverse('MEMFD_SEAL.seals', SEALS),
  ...flagUniverse('IOMMU_HWPT_ALLOC.flags', HWPT_ALLOC_FLAGS),
  ...['auto', ...ALIGNS.filter((a) => a !== 'zero')].map((a) => `IOMMU_IOAS_MAP.iova ${a}`),
  ...ALIGNS.filter((a) => a !== 'zero').map((a) => `IOMMU_IOAS_MAP.length ${a}`),
  ...['auto', ...ALIGNS.filter((a) => a !== 'zero')].map((a) => `IOMMU_IOAS_MAP_FILE.iova ${a}`),
  ...['zero', '4K', 'unaligned'].map((a) => `IOMMU_IOAS_MAP_FILE.start ${a}`),
  ...['4K', '2M', '1G', 'unaligned'].map((a) => `IOMMU_IOAS_MAP_FILE.length ${a}`),
  ...ALIGNS.map((a) => `IOMMU_IOAS_UNMAP.iova ${a}`),
  ...ALIGNS.map((a) => `IOMMU_IOAS_UNMAP.length ${a}`),
  ...TOKENS.map((t) => `IOMMU_HWPT_LU_SET_PRESERVE.token ${t}`),
  'IOMMU_HWPT_LU_SET_PRESERVE.preserve false',
  ...TOKENS.map((t) => `IOMMU_HWPT_LU_MARK_PRESERVE.token ${t}`),
  ...TOKENS.map((t) => `IOMMU_HWPT_LU_RESTORE.token ${t}`),
  ...TOKENS.map((t) => `LIVEUPDATE_SESSION_PRESERVE_FD.token ${t}`),
  ...TOKENS.map((t) => `LIVEUPDATE_SESSION_RETRIEVE_FD.token ${t}`),
  'LIVEUPDATE_SESSION_GET_NAME.reserved 0',
  'LIVEUPDATE_SESSION_GET_NAME.reserved nonzero',
  'VFIO_DEVICE_ATTACH_IOMMUFD_PT.pasid none',
  'VFIO_DEVICE_ATTACH_IOMMUFD_PT.pasid nonzero',
  'VFIO_DEVICE_DETACH_IOMMUFD_PT.pasid none',
  'VFIO_DEVICE_DETACH_IOMMUFD_PT.pasid nonzero',
  'KEXEC.khoFinalizeFails true',
  'DMA.pasid nonzero',
]

/** The argument classes of one op. */
// constant keys and results: a step's argument classes allocate nothing new (issue 12)
const KHO_FAILS: readonly string[] = Object.freeze(['KEXEC.khoFinalizeFails true'])
const DMA_PASID: readonly string[] = Object.freeze(['DMA.pasid nonzero'])
const TOKEN_KEY = {
  IOMMU_HWPT_LU_RESTORE: 'IOMMU_HWPT_LU_RESTORE.token',
  LIVEUPDATE_SESSION_PRESERVE_FD: 'LIVEUPDATE_SESSION_PRESERVE_FD.token',
  LIVEUPDATE_SESSION_RETRIEVE_FD: 'LIVEUPDATE_SESSION_RETRIEVE_FD.token',
} as const
const PASID_KEY = { VFIO_DEVICE_ATTACH_IOMMUFD_PT: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT.pasid', VFIO_DEVICE_DETACH_IOMMUFD_PT: 'VFIO_DEVICE_DETACH_IOMMUFD_PT.pasid' } as const

export function argClasses(op: Op): readonly string[] {
  switch (op.op) {
    case 'MEMFD_CREATE':
      return [joined('MEMFD_CREATE.flags', op.args.allowSealing === false ? '0' : 'MFD_ALLOW_SEALING')]
    case 'MEMFD_SEAL':
      return flagClasses('MEMFD_SEAL.seals', op.args.seals, SEALS)
    case 'IOMMU_HWPT_ALLOC':
      return flagClasses('IOMMU_HWPT_ALLOC.flags', op.args.flags ?? [], HWPT_ALLOC_FLAGS)
    case 'IOMMU_IOAS_MAP':
      return [joined('IOMMU_IOAS_MAP.iova', op.args.iova === undefined ? 'auto' : alignClass(op.args.iova)), joined('IOMMU_IOAS_MAP.length', alignClass(op.args.length))]
    case 'IOMMU_IOAS_MAP_FILE':
      return [
        joined('IOMMU_IOAS_MAP_FILE.iova', op.args.iova === undefined ? 'auto' : alignClass(op.args.iova)),
        joined('IOMMU_IOAS_MAP_FILE.start', alignClass(op.args.start)),
        joined('IOMMU_IOAS_MAP_FILE.length', alignClass(op.args.length)),
      ]
    case 'IOMMU_IOAS_UNMAP':
      return [joined('IOMMU_IOAS_UNMAP.iova', alignClass(op.args.iova)), joined('IOMMU_IOAS_UNMAP.length', alignClass(op.args.length))]
    case 'IOMMU_HWPT_LU_SET_PRESERVE':
      return [joined('IOMMU_HWPT_LU_SET_PRESERVE.token', tokenClass(op.args.token)), ...(op.args.preserve === false ? ['IOMMU_HWPT_LU_SET_PRESERVE.preserve false'] : [])]
    case 'IOMMU_HWPT_LU_MARK_PRESERVE':
    case 'IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE':
      // the two newer names of one ioctl share a row
      return [joined('IOMMU_HWPT_LU_MARK_PRESERVE.token', tokenClass(op.args.token))]
    case 'IOMMU_HWPT_LU_RESTORE':
    case 'LIVEUPDATE_SESSION_PRESERVE_FD':
    case 'LIVEUPDATE_SESSION_RETRIEVE_FD':
      return [joined(TOKEN_KEY[op.op], tokenClass(op.args.token))]
    case 'LIVEUPDATE_SESSION_GET_NAME':
      return [joined('LIVEUPDATE_SESSION_GET_NAME.reserved', (op.args.reserved ?? 0) === 0 ? '0' : 'nonzero')]
    case 'VFIO_DEVICE_ATTACH_IOMMUFD_PT':
    case 'VFIO_DEVICE_DETACH_IOMMUFD_PT':
      return [joined(PASID_KEY[op.op], (op.args.pasid ?? 0) === 0 ? 'none' : 'nonzero')]
    case 'KEXEC':
      return op.args.khoFinalizeFails ? KHO_FAILS : NONE
    case 'DMA':
      // `write` is not a class: neither implementation models access permissions
      return (op.args.pasid ?? 0) !== 0 ? DMA_PASID : NONE
    default:
      return NONE
  }
}
