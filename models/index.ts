// The reference model: the executable specification of IOMMU, iommufd, VFIO cdev and LUO
// state across preserve -> kexec -> restore -> replace -> finish. Pure functions over plain
// data; nothing here does I/O or imports fast-check.

export { initState, step, run, type Step } from './step.ts'
export { observe, liveProbes, sortProbes, probeKey, ownerView, translations } from './observe.ts'
export { translate, entryFor, tablePagesFor, tablePagesNeeded, splitRun, liveDomains } from './iommu.ts'
export * from './ops.ts'
export * from './design.ts'
export * from './platform.ts'
export type * from './state.ts'
export type * from './observation.ts'
