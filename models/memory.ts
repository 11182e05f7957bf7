// Physical memory and memfds.
//
// General memory is an array of pages, each free or used (models/state.ts Page). Allocation
// takes the lowest free pages (the kernel's allocator is not specified; luv fixes lowest-first
// so that PAs are deterministic in the model and the kernel implementation alike).

import type { D } from './context.ts'
import { before, fail, plain } from './context.ts'
import type { ArgsOf, Seal } from './ops.ts'
import { ok, type Result } from './ops.ts'
import type { FileId, MemfdFile, State } from './state.ts'
import { installFd, fileOfFd } from './files.ts'
import { isPreservedOutgoing } from './luo.ts'

/** Take `n` free pages, lowest first; ENOMEM if there are not enough. Every op that
 *  allocates does so before it frees anything, so the pages as they were when the op began
 *  say which are free (read outside the draft: scanning the draft would make a proxy of
 *  every page it looks at). */
export function allocPages(d: D, n: number, use: (i: number) => D['pages'][number]): number[] {
  const got: number[] = []
  const pages = before(d.pages)
  for (let p = 0; p < pages.length && got.length < n; p++) if (pages[p].use === 'free') got.push(p)
  if (got.length < n) fail('ENOMEM')
  got.forEach((p, i) => (d.pages[p] = use(i)))
  return got
}

/** Is this page pinned by an IOAS area of any live iommufd? (iopt pins the folios it maps) */
export function pinnedPages(s: State | D): Set<number> {
  const pinned = new Set<number>()
  for (const f of Object.values(s.files)) {
    if (f.kind !== 'iommufd') continue
    for (const o of Object.values(f.objects)) if (o.type === 'IOAS') for (const a of o.areas) for (const p of a.pages) pinned.add(p)
  }
  return pinned
}

/** Drop a page's owner: a pinned page lingers as an orphan until its last pin goes. */
export function releasePage(d: D, p: number, pinned: Set<number>): void {
  d.pages[p] = pinned.has(p) ? { use: 'orphan' } : { use: 'free' }
}

/** Free orphans that nothing pins any more (after an unmap or an IOAS destroy). */
export function reapOrphans(d: D): void {
  if (!plain(d.pages).some((p) => p.use === 'orphan')) return
  const pinned = pinnedPages(d)
  plain(d.pages).forEach((pg, p) => {
    if (pg.use === 'orphan' && !pinned.has(p)) d.pages[p] = { use: 'free' }
  })
}

function memfdOf(d: D, fd: number): { id: FileId; f: MemfdFile } {
  const id = fileOfFd(d, fd)
  const f = d.files[id]
  // fcntl(F_ADD_SEALS)/ftruncate on a non-shmem file: EINVAL (mm/memfd.c memfd_fcntl)
  if (f.kind !== 'memfd') fail('EINVAL')
  return { id, f }
}

export function memfdCreate(d: D, a: ArgsOf<'MEMFD_CREATE'>): Result {
  const id = d.nextFile++
  const pages = allocPages(d, a.pages, (index) => ({ use: 'memfd', file: id, index }))
  // without MFD_ALLOW_SEALING the memfd starts with F_SEAL_SEAL (mm/memfd.c memfd_create:
  // "file_seals &= ~F_SEAL_SEAL" only when MFD_ALLOW_SEALING is set)
  d.files[id] = { kind: 'memfd', pages, seals: a.allowSealing === false ? ['SEAL'] : [] }
  return ok(installFd(d, id))
}

export function memfdSeal(d: D, a: ArgsOf<'MEMFD_SEAL'>): Result {
  const { f } = memfdOf(d, a.fd)
  // F_SEAL_SEAL forbids further seals: EPERM (mm/memfd.c memfd_add_seals)
  if (f.seals.includes('SEAL')) fail('EPERM')
  for (const s of a.seals) if (!f.seals.includes(s)) f.seals.push(s)
  f.seals.sort()
  return ok()
}

export function memfdTruncate(d: D, a: ArgsOf<'MEMFD_TRUNCATE'>): Result {
  const { id, f } = memfdOf(d, a.fd)
  const old = f.pages.length
  const has = (s: Seal) => f.seals.includes(s)
  // F_SEAL_SHRINK / F_SEAL_GROW: EPERM (mm/shmem.c shmem_setattr)
  if (a.pages < old && has('SHRINK')) fail('EPERM')
  if (a.pages > old && has('GROW')) fail('EPERM')
  // a preserved memfd is SHMEM_F_MAPPING_FROZEN: any size change is EPERM
  // (samikhawaja/linux mm/memfd_luo.c memfd_luo_preserve -> shmem_freeze; mm/shmem.c)
  if (a.pages !== old && isPreservedOutgoing(d, id)) fail('EPERM')
  if (a.pages > old) {
    const more = allocPages(d, a.pages - old, (i) => ({ use: 'memfd', file: id, index: old + i }))
    f.pages.push(...more)
  } else if (a.pages < old) {
    const pinned = pinnedPages(d)
    for (const p of f.pages.splice(a.pages)) releasePage(d, p, pinned)
  }
  return ok()
}

export const pageToPa = (p: number): bigint => BigInt(p) << 12n
