// Size limits on what a file may ask luv to build (docs/campaign.md, "Limits"). Measured on
// the 2-core reference machine: a step costs O(devices) (two observations of every device's
// translations and a compare), ~30 ms at 256 devices, ~240 ms at 1,024; a trace's cost is
// linear in its length at a fixed state size (bench: 10,000 steps in ~2 s).

import type { Platform } from '../../models/platform.ts'
import { excerpt, hasUnsafe } from './text.ts'

export const LIMITS = {
  /** steps in a scenario file or an ITF trace */
  steps: 10_000,
  /** devices on a platform */
  devices: 256,
  /** IOMMU units on a platform */
  units: 64,
  /** 4 KiB pages of general memory (4 GiB) */
  memoryPages: 1 << 20,
  /** 4 KiB pages of IOMMU page-table memory (4 GiB) */
  tablePages: 1 << 20,
  /** PASIDs a device supports (the PCIe PASID is 20 bits) */
  pasids: 1 << 20,
  /** the run index of `luv replay --seed S --path RUN:...` (the re-run generates RUN+1 runs) */
  replayRun: 100_000,
} as const

/** The first limit a platform exceeds, as `[path, message]`, or undefined. */
export function platformOverLimit(p: Platform): [string, string] | undefined {
  if (p.devices.length > LIMITS.devices)
    return ['devices', `${p.devices.length} devices: more than luv's limit of ${LIMITS.devices} (a step costs O(devices))`]
  if (p.units.length > LIMITS.units) return ['units', `${p.units.length} units: more than luv's limit of ${LIMITS.units}`]
  if (p.memoryPages > LIMITS.memoryPages) return ['memoryPages', `${p.memoryPages}: more than luv's limit of ${LIMITS.memoryPages} pages (4 GiB)`]
  if (p.tablePages !== undefined && p.tablePages > LIMITS.tablePages)
    return ['tablePages', `${p.tablePages}: more than luv's limit of ${LIMITS.tablePages} pages (4 GiB)`]
  for (const [i, d] of p.devices.entries())
    if (d.pasids !== undefined && d.pasids > LIMITS.pasids) return [`devices[${i}].pasids`, `${d.pasids}: more than ${LIMITS.pasids} (PASIDs are 20 bits)`]
  // names end up in traces, reports and mails: identifiers, not terminal escapes
  for (const [i, u] of p.units.entries()) if (hasUnsafe(u.name) || u.name.length > 64) return [`units[${i}].name`, `${excerpt(u.name)}: a unit name is at most 64 printable characters`]
  for (const [i, d] of p.devices.entries())
    if (d.group !== undefined && (hasUnsafe(d.group) || d.group.length > 64)) return [`devices[${i}].group`, `${excerpt(d.group)}: a group name is at most 64 printable characters`]
  return undefined
}

export const tooManySteps = (n: number): string | undefined =>
  n > LIMITS.steps ? `${n} steps: more than luv's limit of ${LIMITS.steps} steps per trace` : undefined
