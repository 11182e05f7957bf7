// LUO, the Live Update Orchestrator: /dev/liveupdate, sessions, preserving files by token
// through the registered file handlers, retrieving them in the next kernel, finishing a
// session. The handlers (memfd, iommufd, vfio-pci) are in luo_file.ts.
//
// Sources: domain/live-update.md §1 (samikhawaja/linux kernel/liveupdate/{luo_core,
// luo_session,luo_file}.c, include/uapi/linux/liveupdate.h).

import type { ArgsOf } from '../../models/ops.ts'
import { fget, fileOfFd, fput, installFd, newFile } from './files.ts'
import { domainPut, isUser, reapDomains, setGroupDomain } from './iommu.ts'
import { FILE_HANDLERS, handlerOf } from './luo_file.ts'
import type { Domain, IncomingSession, Kern, LiveupdateFile, LuoSession, Ret, SessionFile } from './state.ts'
import { isErr } from './state.ts'
import { resetGroup } from './vfio.ts'

/** LIVEUPDATE_SESSION_NAME_LENGTH is 64 bytes including the NUL (uapi liveupdate.h). */
const SESSION_NAME_MAX = 63
/** About 744 sessions fit the session header pages. */
const LUO_SESSION_MAX = 744
/** About 128 files fit a session's file_set (LUO_FILE_MAX). */
const LUO_FILE_MAX = 128

export function liveupdateOpen(k: Kern): Ret<number> {
  // exclusive: a second open is EBUSY (luo_core.c)
  if (k.luoFile !== undefined) return 'EBUSY'
  k.luoFile = newFile<LiveupdateFile>(k, { kind: 'liveupdate' })
  return installFd(k, k.luoFile)
}

function sessionOf(k: Kern, fd: number): Ret<SessionFile> {
  const f = fileOfFd(k, fd)
  if (isErr(f)) return f
  return f.kind === 'session' ? f : 'ENOTTY'
}

/** An outgoing session; the incoming side cannot take new files (inferred EINVAL). */
function outgoingOf(k: Kern, fd: number): Ret<LuoSession> {
  const sf = sessionOf(k, fd)
  if (isErr(sf)) return sf
  return sf.dir === 'out' ? k.outgoing.find((x) => x.file === sf)! : 'EINVAL'
}

/** A retrieved incoming session; an outgoing or finished one is EINVAL (inferred). */
function incomingOf(k: Kern, fd: number): Ret<IncomingSession> {
  const sf = sessionOf(k, fd)
  if (isErr(sf)) return sf
  const sess = sf.dir === 'in' ? k.incoming.find((x) => x.retrievedAs === sf) : undefined
  return sess ?? 'EINVAL'
}

export function createSession(k: Kern, a: ArgsOf<'LIVEUPDATE_IOCTL_CREATE_SESSION'>): Ret<number> {
  if (k.luoFile === undefined) return 'EBADF'
  if (a.name.length === 0 || Buffer.byteLength(a.name) > SESSION_NAME_MAX) return 'EINVAL'
  // unique within the outgoing list; the incoming list is separate
  if (k.outgoing.some((x) => x.name === a.name)) return 'EEXIST'
  if (k.outgoing.length >= LUO_SESSION_MAX) return 'ENOMEM'
  const file = newFile<SessionFile>(k, { kind: 'session', name: a.name, dir: 'out' })
  k.outgoing.push({ name: a.name, file, files: [] })
  return installFd(k, file)
}

export function retrieveSession(k: Kern, a: ArgsOf<'LIVEUPDATE_IOCTL_RETRIEVE_SESSION'>): Ret<number> {
  if (k.luoFile === undefined) return 'EBADF'
  const sess = k.incoming.find((x) => x.name === a.name)
  // no such session: ENOENT; already retrieved: EINVAL (luo_session.c)
  if (sess === undefined) return 'ENOENT'
  if (sess.retrievedAs !== undefined || sess.closedUnfinished) return 'EINVAL'
  const file = newFile<SessionFile>(k, { kind: 'session', name: a.name, dir: 'in' })
  sess.retrievedAs = file
  return installFd(k, file)
}

/** luo_preserve_file(): token unique in the session (EEXIST), room (ENOSPC), a valid fd
 *  (EBADF), the first handler whose can_preserve accepts it (ENOENT), then its preserve. */
export function preserveFd(k: Kern, a: ArgsOf<'LIVEUPDATE_SESSION_PRESERVE_FD'>): Ret<void> {
  const sess = outgoingOf(k, a.session)
  if (isErr(sess)) return sess
  if (sess.files.some((p) => p.token === a.token)) return 'EEXIST'
  if (sess.files.length >= LUO_FILE_MAX) return 'ENOSPC'
  const f = fileOfFd(k, a.fd)
  if (isErr(f)) return f
  const h = FILE_HANDLERS.find((x) => x.canPreserve(k, f))
  if (h === undefined) return 'ENOENT'
  // a file is preserved once (inferred EBUSY)
  if (f.luo !== undefined) return 'EBUSY'
  const entry = { session: sess, token: a.token, file: f, kind: h.kind, frozen: false }
  const e = h.preserve(k, entry)
  if (isErr(e)) return e
  sess.files.push(entry)
  f.luo = entry
  // LUO takes a reference on the file (fget)
  fget(f)
}

export function retrieveFd(k: Kern, a: ArgsOf<'LIVEUPDATE_SESSION_RETRIEVE_FD'>): Ret<number> {
  const sess = incomingOf(k, a.session)
  if (isErr(sess)) return sess
  const inf = sess.files.find((x) => x.token === a.token)
  if (inf === undefined) return 'ENOENT'
  // a failed retrieve is sticky; a successful one is idempotent: the same file, a new fd
  // (luo_file.c luo_retrieve_file)
  if (isErr(inf.retrieved)) return inf.retrieved
  if (inf.retrieved !== undefined) return installFd(k, inf.retrieved)
  const f = handlerOf(inf.data.kind).retrieve(k, sess, inf)
  if (isErr(f)) {
    inf.retrieved = f
    return f
  }
  inf.retrieved = f
  fget(f)
  return installFd(k, f)
}

function canFinish(k: Kern, sess: IncomingSession): boolean {
  return sess.files.every((inf) => handlerOf(inf.data.kind).canFinish(k, inf))
}

/** Finish every file in reverse order; whatever was not reclaimed is discarded and groups
 *  still on it lose their translation (unfinished=finish-discards, the old LUO uapi). */
function doFinish(k: Kern, sess: IncomingSession): void {
  const discarded = new Set<Domain>()
  for (const inf of [...sess.files].reverse()) handlerOf(inf.data.kind).finish(k, sess, inf, discarded)
  for (const g of k.groups) {
    // PASIDs on a discarded domain are blocked; the RID is handled below
    for (const [pasid, dom] of [...g.pasids.entries()].sort((x, y) => x[0] - y[0]))
      if (discarded.has(dom) && isErr(setGroupDomain(k, g, pasid, 'blocking'))) throw new Error('luv: blocking a PASID allocated')
    if (!isUser(g.domain) || !discarded.has(g.domain)) continue
    if (g.owner.kind === 'restored') {
      g.owner = { kind: 'none' }
      g.ownerCnt = 0
      resetGroup(k, g)
    } else if (isErr(setGroupDomain(k, g, 0, 'blocking'))) throw new Error('luv: blocking a group allocated')
  }
  k.incoming.splice(k.incoming.indexOf(sess), 1)
  for (const inf of sess.files) {
    if (inf.retrieved !== undefined && !isErr(inf.retrieved)) fput(k, inf.retrieved)
    // records of an iommufd that was never retrieved stop holding their domains
    else if (inf.data.kind === 'iommufd') for (const r of inf.data.records) domainPut(k, r.domain)
  }
  reapDomains(k)
}

export function finish(k: Kern, a: ArgsOf<'LIVEUPDATE_SESSION_FINISH'>): Ret<void> {
  const sess = incomingOf(k, a.session)
  if (isErr(sess)) return sess
  // any can_finish false: EBUSY and nothing finished; it may be retried
  if (k.design.unfinished === 'finish-fails' && !canFinish(k, sess)) return 'EBUSY'
  doFinish(k, sess)
}

/** A session fd's ->release: an outgoing session unpreserves its files in reverse order; a
 *  retrieved incoming one finishes, or stays and cannot be retrieved again. */
export function releaseSession(k: Kern, sf: SessionFile): void {
  if (sf.dir === 'out') {
    const sess = k.outgoing.find((x) => x.file === sf)
    if (sess === undefined) return
    for (const e of [...sess.files].reverse()) {
      handlerOf(e.kind).unpreserve(k, e)
      e.file.luo = undefined
    }
    k.outgoing.splice(k.outgoing.indexOf(sess), 1)
    for (const e of sess.files) fput(k, e.file)
    return
  }
  const sess = k.incoming.find((x) => x.retrievedAs === sf)
  if (sess === undefined) return
  if (k.design.unfinished === 'finish-discards' || canFinish(k, sess)) doFinish(k, sess)
  else sess.closedUnfinished = true
}
