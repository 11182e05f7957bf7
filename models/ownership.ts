// DMA ownership of iommu groups (iommufd.md §3, live-update.md §4.2–4.3).
//
// owner_cnt 0: unowned, the group sits on its default domain. A kernel driver using the DMA
// API bumps owner_cnt with owner NULL. An iommufd claims the group with its ictx as the
// cookie and the group moves to the blocking domain until something is attached. After a
// live update, a preserved device's group comes up owned by the preserved iommufd's token,
// on the restored domain; who may take it over is the `ownership` design axis.

import { match } from 'ts-pattern'
import type { D } from './context.ts'
import { fail } from './context.ts'
import { setGroupDomain } from './iommu.ts'
import type { FileId } from './state.ts'

/** iommu_device_use_default_domain(): a kernel driver probing a device of the group.
 *  EBUSY if the group is owned by a user or not on its default domain
 *  (samikhawaja/linux drivers/iommu/iommu.c). */
export function useDefaultDomain(d: D, group: string): void {
  const g = d.groups[group]
  if (g.ownerCnt > 0 && (g.domain !== 'default' || g.owner.kind !== 'dma-api' || Object.keys(g.pasids).length > 0))
    fail('EBUSY')
  g.ownerCnt++
  g.owner = { kind: 'dma-api' }
}

export function unuseDefaultDomain(d: D, group: string): void {
  const g = d.groups[group]
  if (--g.ownerCnt === 0) g.owner = { kind: 'none' }
}

/**
 * iommu_device_claim_dma_owner(dev, ictx) at VFIO_DEVICE_BIND_IOMMUFD.
 * Mainline: a different owner (a kernel driver included) is EPERM, the same owner nests; an
 * unowned group not on its default domain (or with PASIDs attached) is EBUSY; else the group
 * moves to the blocking domain. A restored group is decided by the `ownership` axis:
 *  - token: transfer only to the iommufd retrieved from LUO with the owner's (session, token)
 *    (V2 patch 08 "group->owner = token"; the Phase 2 match is inferred); others EPERM
 *    (V2 selftest: a fresh iommufd gets -EPERM);
 *  - allow-if-preserved: any VFIO bind may take it (talk, Discussion 2 option 1);
 *  - strict: the mainline claim sees a non-default domain: EBUSY (talk, "the -EBUSY problem").
 * A transfer keeps the restored domain attached (claim_dma_owner(transfer=true): iommufd.md §6).
 */
export function claimDmaOwner(d: D, group: string, ictx: FileId): void {
  const g = d.groups[group]
  const o = g.owner
  if (o.kind === 'restored') {
    const lu = (d.files[ictx] as { lu?: { session: string; token: string } }).lu
    const matches = lu !== undefined && lu.session === o.session && lu.token === o.token
    const refusal = match(d.design.ownership)
      .with('strict', () => 'EBUSY' as const)
      .with('token', () => (matches ? undefined : ('EPERM' as const)))
      .with('allow-if-preserved', () => undefined)
      .exhaustive()
    if (refusal) fail(refusal)
    g.owner = { kind: 'iommufd', file: ictx }
    return
  }
  if (g.ownerCnt > 0) {
    if (o.kind !== 'iommufd' || o.file !== ictx) fail('EPERM')
    g.ownerCnt++
    return
  }
  if (g.domain !== 'default' || Object.keys(g.pasids).length > 0) fail('EBUSY')
  g.owner = { kind: 'iommufd', file: ictx }
  g.ownerCnt = 1
  setGroupDomain(d, group, 0, 'blocking')
}

/** iommu_device_release_dma_owner(): the last release sends the group back to its default
 *  domain, which cannot fail (iommufd.md §3). */
export function releaseDmaOwner(d: D, group: string): void {
  const g = d.groups[group]
  if (g.ownerCnt > 1) {
    g.ownerCnt--
    return
  }
  g.ownerCnt = 0
  g.owner = { kind: 'none' }
  g.pasids = {}
  setGroupDomain(d, group, 0, 'default')
}
