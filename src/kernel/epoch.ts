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

// ---- harness, not kernel: the exploration's undo (src/explore/expand.ts) ----
// The exploration takes an op on a kernel, compares, and undoes the op in place
// (src/explore/clone.ts Snapshot.restore), the kernel's sweep caches with it. Winding the
// counters back to their values before the op is then sound, and lets the next op's sweep
// walk only what that op wrote: between the mark and the rewind the harness touches no
// other kernel, so every cache held anywhere was taken at counter values no later than the
// mark, and the one kernel written is back to what it was at the mark.

/** The counters now (for epochRewind), into `out`. */
export function epochMark(out: number[]): void {
  out[0] = epoch.memory
  out[1] = epoch.tables
  out[2] = epoch.iommu
  out[3] = epoch.iotlb
  out[4] = epoch.ida
}

/** Back to the counters epochMark recorded (only after undoing every write since). */
export function epochRewind(from: readonly number[]): void {
  epoch.memory = from[0]
  epoch.tables = from[1]
  epoch.iommu = from[2]
  epoch.iotlb = from[3]
  epoch.ida = from[4]
}
