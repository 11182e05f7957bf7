// The machine a run happens on: IOMMU units with their DID space, PCI devices behind them,
// and physical memory. A parameter of a run, not an op (DESIGN.md §2.1).
//
// Physical memory is two zones: `memoryPages` of general memory (memfd and anonymous pages,
// PA = page << 12, allocated lowest page first) and `tablePages` of IOMMU page-table memory
// (iommu-pages; PAs above general memory). Keeping page-table pages in their own zone lets the
// model predict every data PA exactly without predicting which table page the kernel picks;
// the model counts table pages per domain (models/iommu.ts tablePagesFor).

export interface UnitSpec {
  name: string
  /** Size of the unit's domain-id space (cap_ndoms). DIDs 0 and 1 are never handed out. */
  dids: number
}

export interface DeviceSpec {
  bdf: string
  unit: string
  /** iommu group; devices naming the same group share it. Default: a group of its own. */
  group?: string
  /** PASID capability: number of PASIDs (0 = no PASID support). */
  pasids?: number
}

export interface Platform {
  memoryPages: number
  tablePages?: number
  units: UnitSpec[]
  devices: DeviceSpec[]
}

/** The documented default platform: 2 units, 4 devices, 256 pages of memory. */
export const DEFAULT_PLATFORM: Platform = {
  memoryPages: 256,
  tablePages: 1024,
  units: [
    { name: 'dmar0', dids: 16 },
    { name: 'dmar1', dids: 16 },
  ],
  devices: [
    { bdf: '0000:00:02.0', unit: 'dmar0', pasids: 8 },
    { bdf: '0000:01:00.0', unit: 'dmar0' },
    { bdf: '0000:02:00.0', unit: 'dmar1', pasids: 8 },
    { bdf: '0000:03:00.0', unit: 'dmar1' },
  ],
}

/** One unit, two devices sharing nothing, 64 pages: quick to explore. */
export const SMALL_PLATFORM: Platform = {
  memoryPages: 64,
  tablePages: 256,
  units: [{ name: 'dmar0', dids: 8 }],
  devices: [
    { bdf: '0000:00:02.0', unit: 'dmar0', pasids: 4 },
    { bdf: '0000:01:00.0', unit: 'dmar0' },
  ],
}

/** Scarce resources: 2 usable DIDs on one unit and 1 on the other, 12 table pages, 24 pages
 *  of memory, and a group whose two devices sit behind different units, so exhaustion paths
 *  (ENOSPC for DIDs, ENOMEM for table pages and memory) and the rollback of a replace that
 *  fails half-way through a group are reached by generation. */
export const TINY_PLATFORM: Platform = {
  memoryPages: 24,
  tablePages: 12,
  units: [
    { name: 'dmar0', dids: 4 },
    { name: 'dmar1', dids: 3 },
  ],
  devices: [
    { bdf: '0000:00:02.0', unit: 'dmar0', pasids: 4 },
    { bdf: '0000:01:00.0', unit: 'dmar0' },
    { bdf: '0000:05:00.0', unit: 'dmar0', group: 'split' },
    { bdf: '0000:05:00.1', unit: 'dmar1', group: 'split' },
  ],
}

/** The default platform's units and devices with 2048 pages (8 MiB) of memory: room for a
 *  memfd holding a 2 MiB-aligned, physically contiguous 512-page run beside everything else a
 *  run allocates, so 2 MiB leaves (models/iommu.ts splitRun) are mapped, preserved across
 *  KEXEC and unmapped. The default platform's 256 pages are half of one such leaf. (A 1 GiB
 *  leaf needs 262,144 pages: the `large` platform has them, at a cost per step too high for
 *  the default campaign.) */
export const SUPERPAGE_PLATFORM: Platform = { ...DEFAULT_PLATFORM, memoryPages: 1024 }

/** What the default campaign's runs draw from (each run one, shrinking towards the first):
 *  the default platform and the superpage one, so superpage mappings are tried without
 *  changing what `--platform default` means. */
export const DEFAULT_CAMPAIGN_PLATFORMS: readonly Platform[] = [DEFAULT_PLATFORM, SUPERPAGE_PLATFORM]

/** 4 units, 64 devices, 1 GiB of memory per 4 devices' worth of domains (benchmarks). */
export function largePlatform(devices = 64, units = 4, memoryPages = 1 << 20): Platform {
  const us = Array.from({ length: units }, (_, i) => ({ name: `dmar${i}`, dids: 1024 }))
  const ds = Array.from({ length: devices }, (_, i) => ({
    bdf: `0000:${(i + 1).toString(16).padStart(2, '0')}:00.0`,
    unit: us[i % units].name,
    pasids: 8,
  }))
  return { memoryPages, tablePages: memoryPages, units: us, devices: ds }
}

export const BDF_RE = /^[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$/

export interface ResolvedDevice {
  bdf: string
  unit: string
  group: string
  pasids: number
}

export const tablePagesOf = (p: Platform): number => p.tablePages ?? p.memoryPages * 4

/** A device's IOMMU group: its `group`, or a group of its own. */
export const groupOfDevice = (d: { bdf: string; group?: string }): string => d.group ?? d.bdf

export function groupOf(p: Platform, bdf: string): string {
  const d = p.devices.find((x) => x.bdf === bdf)
  return d ? groupOfDevice(d) : bdf
}

export function resolveDevices(p: Platform): ResolvedDevice[] {
  return p.devices.map((d) => ({ bdf: d.bdf, unit: d.unit, group: d.group ?? d.bdf, pasids: d.pasids ?? 0 }))
}

export class PlatformError extends Error {}

/** Structural checks the schema cannot express: unique names, known units, BDF syntax. */
export function checkPlatform(p: Platform): void {
  if (!Number.isInteger(p.memoryPages) || p.memoryPages < 1) throw new PlatformError('memoryPages must be a positive integer')
  const units = new Set<string>()
  for (const [i, u] of p.units.entries()) {
    if (units.has(u.name)) throw new PlatformError(`units[${i}].name: duplicate unit '${u.name}'`)
    if (!Number.isInteger(u.dids) || u.dids < 3 || u.dids > 65536)
      throw new PlatformError(`units[${i}].dids: must be an integer in 3..65536 (DIDs 0 and 1 are reserved)`)
    units.add(u.name)
  }
  const bdfs = new Set<string>()
  for (const [i, d] of p.devices.entries()) {
    if (!BDF_RE.test(d.bdf)) throw new PlatformError(`devices[${i}].bdf: '${d.bdf}' is not DDDD:BB:DD.F`)
    if (bdfs.has(d.bdf)) throw new PlatformError(`devices[${i}].bdf: duplicate device '${d.bdf}'`)
    if (!units.has(d.unit)) throw new PlatformError(`devices[${i}].unit: no unit named '${d.unit}'`)
    bdfs.add(d.bdf)
  }
}
