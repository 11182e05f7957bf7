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

import { groupOf, groupOfDevice } from '../../models/platform.ts'
import type { State } from '../../models/state.ts'

export const DEVICE_STATES = ['unbound', 'bound', 'attached', 'preserved', 'frozen', 'incoming', 'restored', 'reclaimed', 'finished'] as const
export type DeviceState = (typeof DEVICE_STATES)[number]

export const SESSION_STATES = ['created', 'preserving', 'incoming', 'retrieved', 'closed-unfinished', 'finished', 'released'] as const
export type SessionState = (typeof SESSION_STATES)[number]

/** What the labels look up per device, read in one pass over a state's files or sessions and
 *  kept per part of the state (the model shares a part a step did not change; issue 12:
 *  coverage counting walked them once per device and step):
 *    bound      devices with a cdev bound to an iommufd (VFIO_DEVICE_BIND_IOMMUFD)
 *    preserved  devices with a cdev held by an outgoing session (LUO's preserved-file list)
 *    carried    devices whose cdev crossed the last KEXEC in an incoming session still there
 *    carriedBefore  the same, in the state before the step */
interface Lookups {
  bound: ReadonlySet<string>
  preserved: ReadonlySet<string>
  carried: ReadonlySet<string>
  carriedBefore: ReadonlySet<string>
}

const lookups = (s: State, prev?: State): Lookups => ({
  bound: boundDevices(s.files),
  preserved: preservedDevices(s.luo, s.files),
  carried: carriedDevices(s.luo),
  carriedBefore: prev === undefined ? NO_DEVICES : carriedDevices(prev.luo),
})

const NO_DEVICES: ReadonlySet<string> = new Set()
const bound = new WeakMap<State['files'], ReadonlySet<string>>()
const preserved = new WeakMap<State['luo'], { files: State['files']; devices: ReadonlySet<string> }>()
const carried = new WeakMap<State['luo'], ReadonlySet<string>>()

function boundDevices(files: State['files']): ReadonlySet<string> {
  let out = bound.get(files)
  if (out === undefined) {
    const set = new Set<string>()
    for (const f of Object.values(files)) if (f.kind === 'vfio' && f.bound) set.add(f.bdf)
    bound.set(files, (out = set))
  }
  return out
}

function preservedDevices(luo: State['luo'], files: State['files']): ReadonlySet<string> {
  const had = preserved.get(luo)
  if (had !== undefined && had.files === files) return had.devices
  const set = new Set<string>()
  for (const sess of luo.outgoing)
    for (const p of sess.files) {
      const f = files[p.file]
      if (p.kind === 'vfio' && f?.kind === 'vfio') set.add(f.bdf)
    }
  preserved.set(luo, { files, devices: set })
  return set
}

function carriedDevices(luo: State['luo']): ReadonlySet<string> {
  if (luo.incoming.length === 0) return NO_DEVICES
  let out = carried.get(luo)
  if (out === undefined) {
    const set = new Set<string>()
    for (const sess of luo.incoming) for (const f of sess.files) if (f.ser.kind === 'vfio') set.add(f.ser.bdf)
    carried.set(luo, (out = set))
  }
  return out
}

export function deviceState(s: State, bdf: string, prev?: State): DeviceState {
  return label(s, bdf, groupOf(s.platform, bdf), lookups(s, prev))
}

function label(s: State, bdf: string, groupName: string, at: Lookups): DeviceState {
  const dev = s.devices[bdf]
  if (!dev) return at.preserved.has(bdf) ? 'preserved' : 'unbound'
  if (dev.incoming) return 'incoming'
  const group = s.groups[groupName]
  if (at.carried.has(bdf)) return group?.owner.kind === 'restored' ? 'restored' : 'reclaimed'
  if (at.carriedBefore.has(bdf)) return 'finished'
  if (dev.preservedIn !== undefined) {
    const rid = group?.domain
    return typeof rid === 'number' && s.domains[rid]?.preserved !== undefined ? 'frozen' : 'preserved'
  }
  if (at.preserved.has(bdf)) return 'preserved'
  if (!at.bound.has(bdf)) return 'unbound'
  const attached = group !== undefined && (typeof group.domain === 'number' || hasKeys(group.pasids))
  return attached ? 'attached' : 'bound'
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true
  return false
}

/** Every device's label, in platform order (the lookups made once for all of them). */
export function deviceStates(s: State, prev?: State): DeviceState[] {
  const at = lookups(s, prev)
  const out: DeviceState[] = []
  for (const d of s.platform.devices) out.push(label(s, d.bdf, groupOfDevice(d), at))
  return out
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
