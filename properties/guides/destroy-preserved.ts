// A guide for destroyPreserved=frees-domain (docs/fidelity.md "IOMMU_DESTROY of a preserved
// HWPT, per version"): the VMM destroys a marked HWPT after its iommufd was preserved. A random
// walk almost never does (0 in 400 runs of `lpc2025 destroyPreserved=frees-domain`, session 8):
// the HWPT must be marked, have nothing attached, and the preserve must have happened between.
//
// Before the iommufd's preserve, now and then a second HWPT is allocated on the main HWPT's
// IOAS with nothing attached, and marked with a token of its own; once the iommufd is preserved
// (which preserves that HWPT's domain too), the VMM destroys it, half the time. V1/V2 let the
// destroy free the domain while its preservation stays (the record, the serialized domain, the
// KHO marks on its table pages): after KEXEC, LU_RESTORE of its token is ENOENT and FINISH stays
// EBUSY (recoverability); its freed table pages are free for the next table allocations, which
// the model counts as the set KHO keeps (models/memory.ts "Table pages and KHO").
//
// Only under destroyPreserved=frees-domain, and before drawing anything: under `ebusy` (v3,
// lpc2025, the default campaign) the guided steps draw exactly what they drew without it.

import type { Op } from '../../models/ops.ts'
import type { IommufdFile, State } from '../../models/state.ts'
import type { Picker } from '../picker.ts'

/** The flow's next step towards destroy-after-preserve, or undefined to let the flow go on.
 *  `iommufd` is the fd of the main device's iommufd `f`, `devId` that device's id in it, and
 *  `mainHwpt` the marked HWPT it is attached to. */
export function destroyPreservedStep(s: State, p: Picker, f: IommufdFile, iommufd: number, devId: number, mainHwpt: number): Op | undefined {
  if (s.design.destroyPreserved !== 'frees-domain') return undefined
  const main = f.objects[mainHwpt]
  if (main?.type !== 'HWPT_PAGING' || main.ioas === undefined) return undefined
  const attached = new Set(Object.values(f.attach).flatMap((g) => Object.values(g).map((x) => x.hwpt)))
  let second: number | undefined
  for (const [id, o] of Object.entries(f.objects))
    if (o.type === 'HWPT_PAGING' && Number(id) !== mainHwpt && !o.autoDomain && !o.restored && o.ioas === main.ioas && !attached.has(Number(id))) {
      second = Number(id)
      break
    }
  const o = second === undefined ? undefined : f.objects[second]
  if (!f.preservedIn) {
    if (second === undefined) return p.chance(1, 3) ? { op: 'IOMMU_HWPT_ALLOC', args: { iommufd, dev_id: devId, pt_id: main.ioas } } : undefined
    if (o?.type === 'HWPT_PAGING' && o.mark === undefined) return { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd, hwpt_id: second, token: 0x1234n + BigInt(second) } }
    return undefined
  }
  // the iommufd's preserve preserved the marked second HWPT's domain: destroy it
  if (o?.type === 'HWPT_PAGING' && o.mark !== undefined && s.domains[o.domain]?.preserved && p.chance(1, 2))
    return { op: 'IOMMU_DESTROY', args: { iommufd, id: second! } }
  return undefined
}
