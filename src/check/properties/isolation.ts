// isolation (DESIGN.md §2.4, I5): on each IOMMU unit the DIDs of live domains are unique and a
// domain has one DID; every DID in use is known to the unit's allocator (domain_ida), so it
// cannot be handed to another domain. The kernel implementation adds its own structural
// checks (no shared table page, no IOTLB entry that disagrees with the tables).

import { memoByParts } from '../../../models/memo.ts'
import type { State } from '../../../models/state.ts'
import type { TraceStep } from './types.ts'

function dids(s: State, when: string): string[] {
  const out: string[] = []
  for (const [name, u] of Object.entries(s.units)) {
    const byDid = new Map<number, number>()
    const byDomain = new Map<number, number>()
    const entries = [...Object.values(u.context), ...Object.values(u.pasid).flatMap((per) => Object.values(per))]
    for (const e of entries) {
      const dom = byDid.get(e.did)
      if (dom !== undefined && dom !== e.domain) out.push(`${name}: DID ${e.did} tags two live domains${when}`)
      byDid.set(e.did, e.domain)
      const did = byDomain.get(e.domain)
      if (did !== undefined && did !== e.did) out.push(`${name}: one domain has DIDs ${did} and ${e.did}${when}`)
      byDomain.set(e.domain, e.did)
      if (!u.ida.includes(e.did)) out.push(`${name}: DID ${e.did} is in use but not reserved in domain_ida: the allocator may hand it out again${when}`)
    }
  }
  return [...new Set(out)]
}

/** dids(s) of a state, computed once per `units` object (most steps do not change it);
 *  isolation hands it back as it is when the step has no intermediate state */
const didsNow = memoByParts((s: State) => [s.units], (s) => dids(s, ''))

export function isolation(t: TraceStep): readonly string[] {
  const now = didsNow(t.next)
  if (t.transient.length === 0) return now
  const out = [...now]
  t.transient.forEach((mid, i) => out.push(...dids(mid, ` (intermediate state ${i + 1})`)))
  return out
}
