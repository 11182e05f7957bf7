// struct file and the fd table: files numbered by a per-boot serial, fds lowest-free from 3,
// f_count kept as a real count (fds, LUO, IOAS areas pinning a memfd, a bound device holding
// its ictx). A file whose count reaches 0 is released after the op succeeds, lowest serial
// first, and releases cascade (fput → ->release: torvalds/linux fs/file_table.c __fput).

import type { Errno } from '../../models/ops.ts'
import { releaseIommufd } from './iommufd.ts'
import { releaseSession } from './luo.ts'
import { releaseMemfd } from './memfd.ts'
import type { KFile, Kern, Ret } from './state.ts'
import { releaseVfio } from './vfio.ts'

type NewFile<T extends KFile> = Omit<T, 'id' | 'refs'>

/** alloc_file: the next serial of this boot, no references yet. */
export function newFile<T extends KFile>(k: Kern, f: NewFile<T>): T {
  // `luo` present from the start (set when preserved): one object shape per kind (issue 12)
  const file = { ...f, id: k.nextFile++, refs: 0, luo: undefined } as T
  k.files.set(file.id, file)
  return file
}

/** fd_install on the lowest free descriptor. */
export function installFd(k: Kern, f: KFile): number {
  const fd = k.fdIds.alloc() as number
  k.fds.set(fd, f)
  fget(f)
  return fd
}

/** fdget(): EBADF for a descriptor that is not open. */
export function fileOfFd(k: Kern, fd: number): Ret<KFile> {
  const f = k.fds.get(fd)
  return f === undefined ? ('EBADF' as Errno) : f
}

export function closeFd(k: Kern, fd: number): Ret<void> {
  const f = k.fds.get(fd)
  if (f === undefined) return 'EBADF'
  k.fds.delete(fd)
  k.fdIds.free(fd)
  fput(k, f)
}

export function fget(f: KFile): void {
  f.refs++
}

export function fput(k: Kern, f: KFile): void {
  if (--f.refs === 0) k.zero.add(f)
}

/** After a successful op: release every file nothing references, lowest serial first. */
export function releaseUnreferenced(k: Kern): void {
  while (k.zero.size > 0) {
    let victim: KFile | undefined
    for (const f of k.zero) {
      if (f.refs !== 0) k.zero.delete(f)
      else if (victim === undefined || f.id < victim.id) victim = f
    }
    if (victim === undefined) break
    k.zero.delete(victim)
    switch (victim.kind) {
      case 'memfd':
        releaseMemfd(k, victim)
        break
      case 'iommufd':
        releaseIommufd(k, victim)
        break
      case 'vfio':
        releaseVfio(k, victim)
        break
      case 'session':
        releaseSession(k, victim)
        break
      case 'liveupdate':
        k.luoFile = undefined
        break
    }
    k.files.delete(victim.id)
  }
}
