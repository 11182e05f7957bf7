// LUO, the Live Update Orchestrator: /dev/liveupdate, sessions, preserving files by token
// through the registered file handlers, retrieving them in the next kernel, finishing a
// session. The handlers (memfd, iommufd, vfio-pci) are in luo_file.ts.
//
// Sources: domain/live-update.md §1 (samikhawaja/linux kernel/liveupdate/{luo_core,
// luo_session,luo_file}.c, include/uapi/linux/liveupdate.h).

import type { ArgsOf } from '../../models/ops.ts'
import { fget, fileOfFd, fput, installFd, newFile } from './files.ts'
import { domainPut, isUser, reapDomains, setGroupDomain } from './iommu.ts'
import { fileHandlers, handlerOf } from './luo_file.ts'
import type { Domain, IncomingSession, Kern, LiveupdateFile, LuoFile, LuoSession, Ret, SessionFile } from './state.ts'
import { isErr } from './state.ts'
import { resetGroup } from './vfio.ts'

/** LIVEUPDATE_SESSION_NAME_LENGTH is 64 bytes including the NUL (uapi liveupdate.h). */
const SESSION_NAME_MAX = 63
/** 6.19-era LUO (samikhawaja/linux kernel/liveupdate/luo_session.c 0f15271): LUO_SESSION_PGCNT
 *  = 16 pages of struct luo_session_ser, "give space for 744 sessions". */
const LUO_SESSION_MAX = 744
/** 6.19-era LUO (torvalds/linux kernel/liveupdate/luo_file.c 00d0b37): LUO_FILE_MAX. */
const LUO_FILE_MAX = 128
/** 2026 LUO (torvalds/linux kernel/liveupdate/kho_block.c 637315c): the block sets grow up to
 *  KHO_MAX_BLOCKS blocks, -ENOSPC beyond; luv never gets near it, so it is not modelled. */

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

/** A retrieved incoming session (a finished one stays until its fd is released); an outgoing
 *  one is EINVAL (LUO-2026 luo_ioctl_type_valid). */
function incomingOf(k: Kern, fd: number): Ret<IncomingSession> {
  const sf = sessionOf(k, fd)
  if (isErr(sf)) return sf
  const sess = sf.dir === 'in' ? k.incoming.find((x) => x.retrievedAs === sf) : undefined
  return sess ?? 'EINVAL'
}

/** luo_session_insert(&outgoing): the 6.19-era LUO checks room in its serialization array
 *  first (-ENOMEM), then walks the list for the name (-EEXIST); the 2026 LUO grows its
 *  kho_block set (kho_block_set_grow(&sh->block_set, sh->count + 1)) where the array was. */
function sessionInsert(k: Kern, name: string): Ret<void> {
  if (k.design.luoCapacity === 'fixed-arrays' && k.outgoing.length === LUO_SESSION_MAX) return 'ENOMEM'
  for (const it of k.outgoing) if (k.bug.sessionNameUnique && it.name === name) return 'EEXIST' // hook sessionNameUnique
}

export function createSession(k: Kern, a: ArgsOf<'LIVEUPDATE_IOCTL_CREATE_SESSION'>): Ret<number> {
  if (k.luoFile === undefined) return 'EBADF'
  if (a.name.length === 0 || Buffer.byteLength(a.name) > SESSION_NAME_MAX) return 'EINVAL'
  // unique within the outgoing list; the incoming list is separate
  const e = sessionInsert(k, a.name)
  if (isErr(e)) return e
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
  if (k.design.luoCapacity === 'fixed-arrays' && sess.files.length >= LUO_FILE_MAX) return 'ENOSPC'
  const f = fileOfFd(k, a.fd)
  if (isErr(f)) return f
  const h = fileHandlers(k).find((x) => x.canPreserve(k, f))
  if (h === undefined) return 'ENOENT'
  // a file is preserved once (inferred EBUSY)
  if (f.luo !== undefined) return 'EBUSY'
  const entry: LuoFile = { session: sess, token: a.token, file: f, kind: h.kind, froze: undefined, iommu: undefined, frozen: false }
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
  const f = handlerOf(k, inf.data.kind).retrieve(k, sess, inf)
  if (isErr(f)) {
    inf.retrieved = f
    return f
  }
  inf.retrieved = f
  fget(f)
  return installFd(k, f)
}

function canFinish(k: Kern, sess: IncomingSession): boolean {
  return sess.files.every((inf) => handlerOf(k, inf.data.kind).canFinish(k, inf))
}

/** luo_file_finish(): an empty file set is 0 at once ("if (!file_set->count) return 0");
 *  otherwise every can_finish must agree (-EBUSY, nothing finished, unless the old uAPI's
 *  finish-discards), then each file is finished last to first and dropped from the set.
 *  The session stays: only luo_session_release removes it. Whatever was not reclaimed is
 *  discarded and groups still on it lose their translation (finish-discards). */
function fileSetFinish(k: Kern, sess: IncomingSession): Ret<void> {
  if (sess.files.length === 0) return
  if (k.design.unfinished === 'finish-fails' && k.bug.finishChecksCanFinish && !canFinish(k, sess)) return 'EBUSY' // hook finishChecksCanFinish
  const discarded = new Set<Domain>()
  for (const inf of [...sess.files].reverse()) handlerOf(k, inf.data.kind).finish(k, sess, inf, discarded)
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
  const files = sess.files.splice(0)
  for (const inf of files) {
    if (inf.retrieved !== undefined && !isErr(inf.retrieved)) fput(k, inf.retrieved)
    // records of an iommufd that was never retrieved stop holding their domains
    else if (inf.data.kind === 'iommufd') for (const r of inf.data.records) if (r.domain !== undefined) domainPut(k, r.domain)
  }
  reapDomains(k)
}

/** luo_session_finish(): luo_session_finish_one -> luo_file_finish; the session is not removed
 *  (samikhawaja/linux kernel/liveupdate/luo_session.c). */
export function finish(k: Kern, a: ArgsOf<'LIVEUPDATE_SESSION_FINISH'>): Ret<void> {
  const sess = incomingOf(k, a.session)
  if (isErr(sess)) return sess
  return fileSetFinish(k, sess)
}

/** luo_session_get_name() (LUO-2026): copies session->name out; `reserved` must be zero. The
 *  6.19-era luo_session_ioctl has three ops (FINISH, PRESERVE_FD, RETRIEVE_FD): 0x43 is past
 *  its table, "return -EINVAL" (luo_session.c 0f15271). */
export function getName(k: Kern, a: ArgsOf<'LIVEUPDATE_SESSION_GET_NAME'>): Ret<{ name: string }> {
  const sf = sessionOf(k, a.session)
  if (isErr(sf)) return sf
  if (k.design.luoCapacity === 'fixed-arrays') return 'EINVAL'
  if ((a.reserved ?? 0) !== 0) return 'EINVAL'
  return { name: sf.name }
}

/** A session fd's ->release: an outgoing session unpreserves its files in reverse order; a
 *  retrieved incoming one finishes, or stays and cannot be retrieved again. */
export function releaseSession(k: Kern, sf: SessionFile): void {
  if (sf.dir === 'out') {
    const sess = k.outgoing.find((x) => x.file === sf)
    if (sess === undefined) return
    for (const e of [...sess.files].reverse()) {
      if (k.bug.unpreserveOnClose) handlerOf(k, e.kind).unpreserve(k, e) // hook unpreserveOnClose
      e.file.luo = undefined
    }
    k.outgoing.splice(k.outgoing.indexOf(sess), 1)
    for (const e of sess.files) fput(k, e.file)
    return
  }
  // luo_session_release of a retrieved session: finish it; an error leaves it on the incoming
  // list (retrieved stays true, so it cannot be retrieved again); success removes it
  const sess = k.incoming.find((x) => x.retrievedAs === sf)
  if (sess === undefined) return
  if (isErr(fileSetFinish(k, sess))) {
    sess.closedUnfinished = true
    return
  }
  k.incoming.splice(k.incoming.indexOf(sess), 1)
}
