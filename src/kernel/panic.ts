// A failure the next kernel cannot survive: corrupt handover data, a preserved table it cannot
// re-adopt. drivers/iommu/liveupdate.c (samikhawaja/linux) panics "for security reasons" rather
// than run with IOMMU state it cannot trust; here it is a value, so a run can report it.

export interface Panic {
  panic: string
}

export const panic = (message: string): Panic => ({ panic: message })

export const isPanic = (x: unknown): x is Panic =>
  typeof x === 'object' && x !== null && typeof (x as { panic?: unknown }).panic === 'string'
