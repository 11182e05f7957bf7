// dma-continuity (DESIGN.md §2.4): a device's translation of a live IOVA changes only at a
// step the user aimed at that device's translation: attach/replace/detach of a device of its
// group (closing its cdev unbinds it, which detaches), or map/unmap in the IOAS behind its
// HWPT. Never at KEXEC (for a preserved device), retrieve, bind, restore, finish or close of
// anything else. Inside one op every intermediate hardware state translates a live IOVA to
// the old or the new PA, never through a third domain (the IOMMU core's promise for any
// replace: iommu.c comment on iommu_group_replace_domain), and when the domain being left is
// a restored one, never a fault either: the VM is running (live-update.md §2.4, §4.4).

import { entryFor, liveProbes, translate } from '../../../models/index.ts'
import type { Probe } from '../../../models/observation.ts'
import { groupOf } from '../../../models/platform.ts'
import { hex } from '../../../models/ops.ts'
import type { State } from '../../../models/state.ts'
import type { TraceStep } from './types.ts'

const paOf = (s: State, p: Probe): bigint | null => {
  const w = translate(s, p.bdf, p.pasid, p.iova)
  return 'pa' in w ? w.pa : null
}
const show = (pa: bigint | null) => (pa === null ? 'fault' : hex(pa))

/** Is this op aimed at the translation of (bdf, pasid)? */
function aimed(t: TraceStep, p: Probe): boolean {
  const { prev, op } = t
  const group = groupOf(prev.platform, p.bdf)
  // the release of a device's cdev unbinds it: that is the user's detach, even when it runs
  // later than the CLOSE (LUO holds a retrieved file until FINISH: luo_file.c)
  if (op.op !== 'KEXEC' && Object.entries(prev.files).some(([id, f]) => f.kind === 'vfio' && groupOf(prev.platform, f.bdf) === group && !t.next.files[Number(id)]))
    return true
  const cdevGroup = (fd: number) => {
    const f = prev.files[prev.fds[fd]]
    return f?.kind === 'vfio' ? groupOf(prev.platform, f.bdf) : undefined
  }
  switch (op.op) {
    case 'VFIO_DEVICE_ATTACH_IOMMUFD_PT':
    case 'VFIO_DEVICE_DETACH_IOMMUFD_PT':
      return cdevGroup(op.args.cdev) === group && (op.args.pasid ?? 0) === p.pasid
    case 'CLOSE':
      return cdevGroup(op.args.fd) === group
    case 'DRIVER_BIND':
      return groupOf(prev.platform, op.args.bdf) === group
    case 'IOMMU_IOAS_MAP':
    case 'IOMMU_IOAS_MAP_FILE':
    case 'IOMMU_IOAS_UNMAP': {
      const e = entryFor(prev, p.bdf, p.pasid)
      const f = prev.files[prev.fds[op.args.iommufd]]
      if (!e || f?.kind !== 'iommufd') return false
      return Object.values(f.objects).some((o) => o.type === 'HWPT_PAGING' && o.ioas === op.args.ioas && o.domain === e.domain)
    }
    default:
      return false
  }
}

/** A translation is a function of the units (entries), the domains and the devices (reset):
 *  a step that made none of them anew and has no intermediate state changed no translation
 *  (test/models/caches.test.ts holds this against the translations themselves). */
export function translationsUnchanged(t: TraceStep): boolean {
  return t.next.units === t.prev.units && t.next.domains === t.prev.domains && t.next.devices === t.prev.devices && t.transient.length === 0
}

export function dmaContinuity(t: TraceStep): string[] {
  if (translationsUnchanged(t)) return []
  const out: string[] = []
  const probes = liveProbes(t.prev)
  const kexec = t.op.op === 'KEXEC' && t.result.ok
  for (const p of probes) {
    // across KEXEC only preserved devices keep translating (the others are cleared: I2)
    if (kexec && !t.prev.devices[p.bdf]?.preservedIn) continue
    const before = paOf(t.prev, p)
    const after = paOf(t.next, p)
    if (before !== after && !aimed(t, p))
      out.push(`${p.bdf} pasid ${p.pasid} iova ${hex(p.iova)}: ${show(before)} -> ${show(after)} at ${t.op.op}, which was not aimed at it`)
    const old = entryFor(t.prev, p.bdf, p.pasid)
    const leavingRestored = old !== undefined && t.prev.domains[old.domain]?.restored !== undefined
    for (const [i, mid] of t.transient.entries()) {
      const pa = paOf(mid, p)
      if (pa !== null && pa !== before && pa !== after)
        out.push(`${p.bdf} iova ${hex(p.iova)}: intermediate state ${i + 1} of ${t.op.op} reaches ${hex(pa)}, neither the old ${show(before)} nor the new ${show(after)}`)
      if (pa === null && leavingRestored && before !== null)
        out.push(`${p.bdf} iova ${hex(p.iova)}: replacing the restored domain faults in intermediate state ${i + 1} of ${t.op.op} (not hitless; the VM is running)`)
    }
  }
  return out
}
