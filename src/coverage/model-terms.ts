// Where a device and a LUO session are in the live-update lifecycle, read from a model state
// (models/state.ts). These are the states coverage counts; each is defined from the fields
// that the model's rules read, so a reader can check a label against the model.
//
// Device (one label per device, first match wins):
//   incoming    after KEXEC, its cdev not yet retrieved from LUO (devices[bdf].incoming:
//               VFIO_CDEV_OPEN is EBUSY, models/vfio.ts)
//   restored    its cdev retrieved, its group still owned by the preserved iommufd's token
//               (GroupOwner 'restored', models/kexec.ts)
//   reclaimed   DMA ownership moved to an iommufd in this boot, its session not finished yet
//   finished    the step that finished (or discarded) its incoming session just released it;
//               afterwards it is an ordinary device again (bound / attached / unbound)
//   frozen      its cdev is preserved and the domain it translates through is preserved
//               (Domain.preserved: its page table is what crosses the KEXEC, unchangeable)
//   preserved   its cdev is preserved in an outgoing session without IOMMU state: it was
//               attached to nothing, so only the cdev crosses (in an outgoing session's
//               files, without devices[bdf].preservedIn, models/luo.ts preserveVfio; vfio_pci_liveupdate_preserve
//               skips iommufd_device_preserve). An attached device preserved always has its
//               domain preserved (frozen): models/luo.ts refuses the other case
//   attached    a cdev bound to an iommufd and a user domain on its RID or a PASID
//   bound       a cdev bound to an iommufd (VFIO_DEVICE_BIND_IOMMUFD), nothing attached
//   unbound     no cdev bound (closed, or open and not bound)
//
// Session (one label per session name):
//   created / preserving   outgoing, without / with preserved files
//   incoming               after KEXEC, not retrieved
//   retrieved              LIVEUPDATE_IOCTL_RETRIEVE_SESSION returned its fd
//   closed-unfinished      its fd was closed while something was unreclaimed (cannot retrieve again)
//   finished               the step that finished it removed it (from incoming)
//   released               the step that closed it removed it (from outgoing, before KEXEC)

import { groupOf } from '../../models/platform.ts'
import type { State } from '../../models/state.ts'

export const DEVICE_STATES = ['unbound', 'bound', 'attached', 'preserved', 'frozen', 'incoming', 'restored', 'reclaimed', 'finished'] as const
export type DeviceState = (typeof DEVICE_STATES)[number]

export const SESSION_STATES = ['created', 'preserving', 'incoming', 'retrieved', 'closed-unfinished', 'finished', 'released'] as const
export type SessionState = (typeof SESSION_STATES)[number]

/** The incoming session a device crossed the last KEXEC in, if it is still there. */
function carriedIn(s: State, bdf: string): string | undefined {
  for (const sess of s.luo.incoming) for (const f of sess.files) if (f.ser.kind === 'vfio' && f.ser.bdf === bdf) return sess.name
  return undefined
}

/** A cdev of this device held by an outgoing session (LUO's preserved-file list). */
function preservedCdev(s: State, bdf: string): boolean {
  for (const sess of s.luo.outgoing)
    for (const p of sess.files) {
      const f = s.files[p.file]
      if (p.kind === 'vfio' && f?.kind === 'vfio' && f.bdf === bdf) return true
    }
  return false
}

function boundCdev(s: State, bdf: string) {
  for (const f of Object.values(s.files)) if (f.kind === 'vfio' && f.bdf === bdf && f.bound) return f
  return undefined
}

export function deviceState(s: State, bdf: string, prev?: State): DeviceState {
  const dev = s.devices[bdf]
  if (!dev) return preservedCdev(s, bdf) ? 'preserved' : 'unbound'
  if (dev.incoming) return 'incoming'
  const group = s.groups[groupOf(s.platform, bdf)]
  if (carriedIn(s, bdf) !== undefined) return group?.owner.kind === 'restored' ? 'restored' : 'reclaimed'
  if (prev && carriedIn(prev, bdf) !== undefined) return 'finished'
  const vf = boundCdev(s, bdf)
  if (dev.preservedIn !== undefined) {
    const rid = group?.domain
    return typeof rid === 'number' && s.domains[rid]?.preserved !== undefined ? 'frozen' : 'preserved'
  }
  if (preservedCdev(s, bdf)) return 'preserved'
  if (!vf) return 'unbound'
  const attached = group !== undefined && (typeof group.domain === 'number' || Object.keys(group.pasids).length > 0)
  return attached ? 'attached' : 'bound'
}

/** Every device's label, in platform order. */
export function deviceStates(s: State, prev?: State): DeviceState[] {
  return s.platform.devices.map((d) => deviceState(s, d.bdf, prev))
}

/** Every session's label by name; sessions the step removed get finished / released. */
export function sessionStates(s: State, prev?: State): Map<string, SessionState> {
  const out = new Map<string, SessionState>()
  for (const o of s.luo.outgoing) out.set(o.name, o.files.length ? 'preserving' : 'created')
  // a finished session stays (retrieved) until its fd closes (luo_session_finish, luo_session_release)
  for (const i of s.luo.incoming)
    out.set(i.name, i.finished ? 'finished' : i.closedUnfinished ? 'closed-unfinished' : i.retrievedAs !== undefined ? 'retrieved' : 'incoming')
  if (prev) {
    for (const i of prev.luo.incoming) if (!out.has(i.name)) out.set(i.name, 'finished')
    for (const o of prev.luo.outgoing) if (!out.has(o.name) && s.boot === prev.boot) out.set(o.name, 'released')
  }
  return out
}
