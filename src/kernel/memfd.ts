// memfd (shmem) files and general memory. Each page of general memory has a holder count:
// its owner (the memfd, the anonymous area, or KHO for an incoming page) plus one per IOAS area
// pinning it (iopt pins the folios it maps). A page goes back to the allocator at 0; a memfd
// page cut off by truncate while pinned lingers until the last pin goes.
//
// Sources: torvalds/linux mm/memfd.c, mm/shmem.c; samikhawaja/linux mm/memfd_luo.c.

import type { ArgsOf, Seal } from '../../models/ops.ts'
import { fileOfFd, installFd, newFile } from './files.ts'
import type { PfnRun } from './pagetable.ts'
import type { Kern, MemfdFile, Ret } from './state.ts'
import { isErr } from './state.ts'

/** F_SEAL_* (include/uapi/linux/fcntl.h). */
export const SEAL_BITS: Record<Seal, number> = { SEAL: 1, SHRINK: 2, GROW: 4, WRITE: 8 }

export const sealBits = (seals: readonly Seal[]): number => seals.reduce((b, s) => b | SEAL_BITS[s], 0)

export function pageGet(k: Kern, pfn: number): void {
  k.pageRef[pfn]++
}

export function pagePut(k: Kern, pfn: number): void {
  if (--k.pageRef[pfn] === 0) k.m.phys.free(pfn)
}

/** `n` pages, lowest first, each held once (one fault-injectable point for the batch). */
export function allocPages(k: Kern, n: number): Ret<number[]> {
  if (n === 0) return []
  const got = k.m.phys.allocMany(n)
  if (isErr(got)) return got
  for (const p of got) k.pageRef[p] = 1
  return got
}

/** Contiguous PFN runs of a page list (what the page table maps in O(superpages)). */
export function runsOf(pfns: ArrayLike<number>, from = 0, to = pfns.length): PfnRun[] {
  const runs: PfnRun[] = []
  let i = from
  while (i < to) {
    let j = i + 1
    while (j < to && pfns[j] === pfns[i] + (j - i)) j++
    runs.push({ first: pfns[i], length: j - i })
    i = j
  }
  return runs
}

/** F_ADD_SEALS / ftruncate on a non-shmem file: EINVAL (mm/memfd.c memfd_fcntl). */
function memfdOf(k: Kern, fd: number): Ret<MemfdFile> {
  const f = fileOfFd(k, fd)
  if (isErr(f)) return f
  return f.kind === 'memfd' ? f : 'EINVAL'
}

export function memfdCreate(k: Kern, a: ArgsOf<'MEMFD_CREATE'>): Ret<number> {
  const pages = allocPages(k, a.pages)
  if (isErr(pages)) return pages
  // memfd_create without MFD_ALLOW_SEALING keeps F_SEAL_SEAL set (mm/memfd.c)
  const f = newFile<MemfdFile>(k, { kind: 'memfd', pages, seals: a.allowSealing === false ? SEAL_BITS.SEAL : 0, frozen: false })
  return installFd(k, f)
}

export function memfdSeal(k: Kern, a: ArgsOf<'MEMFD_SEAL'>): Ret<void> {
  const f = memfdOf(k, a.fd)
  if (isErr(f)) return f
  // F_SEAL_SEAL forbids further seals: EPERM (memfd_add_seals)
  if (f.seals & SEAL_BITS.SEAL) return 'EPERM'
  f.seals = k.bug.addSealsOr ? f.seals | sealBits(a.seals) : sealBits(a.seals) // hook addSealsOr
}

export function memfdTruncate(k: Kern, a: ArgsOf<'MEMFD_TRUNCATE'>): Ret<void> {
  const f = memfdOf(k, a.fd)
  if (isErr(f)) return f
  const old = f.pages.length
  // F_SEAL_SHRINK / F_SEAL_GROW: EPERM (shmem_setattr)
  if (a.pages < old && f.seals & SEAL_BITS.SHRINK) return 'EPERM'
  if (a.pages > old && f.seals & SEAL_BITS.GROW) return 'EPERM'
  // SHMEM_F_MAPPING_FROZEN while preserved: any size change is EPERM (memfd_luo_preserve)
  if (a.pages !== old && f.frozen) return 'EPERM'
  if (a.pages > old) {
    const more = allocPages(k, a.pages - old)
    if (isErr(more)) return more
    for (const p of more) f.pages.push(p)
  } else if (a.pages < old) {
    for (const p of f.pages.splice(a.pages)) pagePut(k, p)
  }
}

/** The memfd's ->release: its pages lose their owner (pinned ones stay until unpinned). */
export function releaseMemfd(k: Kern, f: MemfdFile): void {
  for (const p of f.pages) pagePut(k, p)
  f.pages = []
}
