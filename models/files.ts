// The process's fd table and the lifetime of `struct file`s.
//
// A file lives while anything references it: an fd, LUO (a preserved file, or a retrieved one
// until finish: luo_file.c "LUO takes a reference"), an IOAS area mapping a memfd (iommufd
// pins the file: iopt_alloc_file_pages), or a VFIO device bound to an iommufd (the device
// holds the ictx). When the last reference goes, the file is released and its release
// callback runs; releases cascade (closing a cdev unbinds it, which may release the iommufd,
// which destroys its IOAS areas, which may release a memfd).

import type { D } from './context.ts'
import { fail, plain, produce } from './context.ts'
import { ok, type ArgsOf, type Result } from './ops.ts'
import type { FileId, State } from './state.ts'
import { releaseIommufd } from './iommufd.ts'
import { releaseVfio } from './vfio.ts'
import { releaseSession } from './luo.ts'
import { pinnedPages, reapOrphans } from './memory.ts'

/** Lowest free fd from 3 (POSIX: open returns the lowest-numbered unused descriptor). */
export function installFd(d: D, file: FileId): number {
  const fds = plain(d.fds)
  let fd = 3
  while (fds[fd] !== undefined) fd++
  d.fds[fd] = file
  return fd
}

/** fdget(): EBADF for a descriptor that is not open. */
export function fileOfFd(s: State | D, fd: number): FileId {
  const id = s.fds[fd]
  if (id === undefined) fail('EBADF')
  return id
}

/** How many references keep each file alive (the fd table included), in one pass. */
export function fileRefs(s: State | D): Map<FileId, number> {
  const n = new Map<FileId, number>()
  const add = (id: FileId) => n.set(id, (n.get(id) ?? 0) + 1)
  for (const f of Object.values(s.fds)) add(f)
  for (const sess of s.luo.outgoing) for (const p of sess.files) add(p.file)
  for (const sess of s.luo.incoming) for (const f of sess.files) if (typeof f.retrieved === 'number') add(f.retrieved)
  for (const f of Object.values(s.files)) {
    if (f.kind === 'iommufd') {
      for (const o of Object.values(f.objects)) if (o.type === 'IOAS') for (const a of o.areas) if (a.file !== undefined) add(a.file)
    } else if (f.kind === 'vfio' && f.bound) add(f.bound.iommufd)
  }
  return n
}

/** The lowest-numbered file nothing references, if any. */
export function unreferencedFile(s: State): FileId | undefined {
  const refs = fileRefs(s)
  let victim: FileId | undefined
  for (const key of Object.keys(s.files)) {
    const id = Number(key)
    if (!refs.get(id) && (victim === undefined || id < victim)) victim = id
  }
  return victim
}

/** Orphan pages nothing pins any more (reapOrphans frees them). */
function unpinnedOrphans(s: State): boolean {
  if (!s.pages.some((p) => p.use === 'orphan')) return false
  const pinned = pinnedPages(s)
  return s.pages.some((p, i) => p.use === 'orphan' && !pinned.has(i))
}

/** Is there anything for releaseUnreferenced to do? */
export function needsRelease(s: State): boolean {
  return unreferencedFile(s) !== undefined || unpinnedOrphans(s)
}

/** Release every file nothing references, lowest id first, until none is left; then free the
 *  orphan pages nothing pins. The references are counted on the finished state between two
 *  releases, plain data: counting them through a draft would make a proxy of every
 *  file, session and fd on each pass, and a CLOSE would cost as much as the whole fd table. */
export function releaseUnreferenced(s: State): State {
  for (let victim = unreferencedFile(s); victim !== undefined; victim = unreferencedFile(s)) {
    const id = victim
    s = produce(s, (d) => releaseFile(d, id))
  }
  return unpinnedOrphans(s) ? produce(s, reapOrphans) : s
}

/** The last reference to a file is gone: its release callback runs, and the file goes. */
function releaseFile(d: D, victim: FileId): void {
  const f = d.files[victim]
  switch (f.kind) {
    case 'memfd':
      for (const p of f.pages) d.pages[p] = { use: 'free' }
      break
    case 'iommufd':
      releaseIommufd(d, victim)
      break
    case 'vfio':
      releaseVfio(d, victim)
      break
    case 'session':
      releaseSession(d, victim)
      break
    case 'liveupdate':
      break
  }
  delete d.files[victim]
}

export function close(d: D, a: ArgsOf<'CLOSE'>): Result {
  fileOfFd(d, a.fd)
  delete d.fds[a.fd]
  return ok()
}
