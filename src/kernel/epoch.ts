// Change counters for the invariant sweep (index.ts touchedInvariants): each counts writes to
// one kind of kernel-visible structure, bumped where that structure is written (phys.ts
// allocations, pagetable.ts entries, vtd.ts root/context/PASID entries, iotlb.ts fills and
// flushes, ida.ts). A section of the sweep whose inputs' counters did not move since it last
// ran would find what it found then, so it is not walked again. The counters are shared by
// every Kernel in the process and only grow: a write anywhere makes every cached section
// stale, never the other way round.

export const epoch = {
  /** general-memory pages allocated or freed */
  memory: 0,
  /** IOMMU page-table pages allocated, freed or claimed from KHO, or their entries written */
  tables: 0,
  /** VT-d root/context/PASID structures allocated, freed or written, RTADDR set */
  iommu: 0,
  /** IOTLB entries filled or flushed */
  iotlb: 0,
  /** domain_ida DIDs allocated, reserved or freed */
  ida: 0,
}
