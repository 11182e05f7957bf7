// ownership (DESIGN.md §2.4, I7): DMA ownership of a preserved device moves only to the
// iommufd retrieved from LUO with the matching token; kernel drivers and other iommufds are
// refused; nothing else changes the owner of a restored group. At KEXEC a preserved device's
// group must come up owned by exactly the token its iommufd was preserved with.

import { ownerView } from '../../../models/index.ts'
import { groupOf } from '../../../models/platform.ts'
import type { GroupOwner, State } from '../../../models/state.ts'
import type { TraceStep } from './types.ts'

function matches(s: State, o: Extract<GroupOwner, { kind: 'restored' }>, next: GroupOwner): boolean {
  if (next.kind === 'restored') return next.session === o.session && next.token === o.token
  if (next.kind !== 'iommufd') return false
  const f = s.files[next.file]
  return f?.kind === 'iommufd' && f.lu?.session === o.session && f.lu.token === o.token
}

export function ownership(t: TraceStep): string[] {
  const out: string[] = []
  if (t.op.op === 'KEXEC' && t.result.ok) {
    for (const sess of t.prev.luo.outgoing)
      for (const p of sess.files) {
        const f = t.prev.files[p.file]
        // a cdev preserved without IOMMU state (bound but not attached: vfio_pci_liveupdate_preserve
        // skips iommufd_device_preserve, samikhawaja/linux drivers/vfio/pci/vfio_pci_liveupdate.c)
        // carries no DMA ownership across: its group comes back unowned
        if (f.kind !== 'vfio' || !f.bound || !p.iommu) continue
        const token = sess.files.find((x) => x.file === f.bound!.iommufd)?.token
        const g = t.next.groups[groupOf(t.next.platform, f.bdf)]
        const want: GroupOwner = { kind: 'restored', session: sess.name, token: token ?? '?' }
        if (ownerView(g.owner) !== ownerView(want))
          out.push(`${f.bdf}: after KEXEC its group is owned by ${ownerView(g.owner)}, not by the preserved iommufd ${ownerView(want)}`)
      }
    return out
  }
  // the same groups object: no owner moved (models/memo.ts: a state part is never changed)
  if (t.next.groups === t.prev.groups) return out
  for (const [group, g] of Object.entries(t.prev.groups)) {
    if (g.owner.kind !== 'restored') continue
    const now = t.next.groups[group].owner
    if (!matches(t.next, g.owner, now))
      out.push(`group ${group}: owner moved from ${ownerView(g.owner)} to ${ownerView(now)} at ${t.op.op}; only the iommufd retrieved with that token may take it`)
  }
  return out
}
