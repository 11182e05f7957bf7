// dma-safety (DESIGN.md §2.4): every PA a device can reach is memory that is still allocated
// (to a memfd, to the VMM's anonymous mapping, pinned by iommufd, or held by KHO for the
// next kernel); no DMA into freed or reused memory (I3, I4). After KEXEC only preserved
// devices translate at all: unpreserved context entries are cleared before kexec (I2).

import { hex } from '../../../models/ops.ts'
import { memoByParts } from '../../../models/memo.ts'
import type { Entry, State } from '../../../models/state.ts'
import type { TraceStep } from './types.ts'

function unsafe(s: State, when: string): string[] {
  const out: string[] = []
  const seen = new Set<string>()
  const check = (unit: string, bdf: string, pasid: number, e: Entry) => {
    for (const ext of s.domains[e.domain]?.extents ?? [])
      for (let i = 0; i < ext.pages.length; i++) {
        const page = ext.pages[i]
        if (s.pages[page]?.use !== 'free') continue
        const key = `${bdf}/${pasid}/${page}`
        if (seen.has(key)) continue
        seen.add(key)
        out.push(`${bdf} pasid ${pasid} (${unit}) can reach PA ${hex(BigInt(page) << 12n)} at iova ${hex(ext.iova + BigInt(i) * 4096n)}, which is free memory${when}`)
      }
  }
  for (const [unit, u] of Object.entries(s.units)) {
    for (const [bdf, e] of Object.entries(u.context)) check(unit, bdf, 0, e)
    for (const [bdf, per] of Object.entries(u.pasid)) for (const [p, e] of Object.entries(per)) check(unit, bdf, Number(p), e)
  }
  return out
}

/** unsafe(s) of a state, computed once per units, domains and pages (what it reads);
 *  dmaSafety hands it back as it is when the step adds nothing to it (read-only: StepPredicate) */
const unsafeNow = memoByParts((s: State) => [s.units, s.domains, s.pages], (s) => unsafe(s, ''))

export function dmaSafety(t: TraceStep): readonly string[] {
  const now = unsafeNow(t.next)
  // most steps: no intermediate state and no KEXEC, nothing to add (issue 12: no copy)
  if (t.transient.length === 0 && t.op.op !== 'KEXEC') return now
  const out = [...now]
  t.transient.forEach((mid, i) => out.push(...unsafe(mid, ` (intermediate state ${i + 1})`)))
  if (t.op.op === 'KEXEC' && t.result.ok) {
    for (const [bdf, dev] of Object.entries(t.prev.devices)) {
      if (dev.preservedIn) continue
      const unit = t.next.platform.devices.find((x) => x.bdf === bdf)!.unit
      if (t.next.units[unit].context[bdf] || t.next.units[unit].pasid[bdf])
        out.push(`${bdf} was not preserved but still has a context entry after KEXEC (I2)`)
    }
  }
  return out
}
