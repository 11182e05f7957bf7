// What a run reached, in model terms (pbt-anchors.md §8.4): the deep live-update flows the
// issue asks generation to reach, and which errno each op returned.

import type { Op } from '../models/ops.ts'
import type { StepOutcome } from '../src/check/executor.types.ts'
import { resultKey } from '../src/coverage/coverage.ts'

export interface Reach {
  /** a KEXEC with at least one preserved device, after which that device did DMA that translated */
  kexecWithPreservedDma: boolean
  /** a successful FINISH of a session whose iommufd records were reclaimed */
  fullRecovery: boolean
  /** `OP errno` (or `OP ok`) pairs seen */
  outcomes: Set<string>
}

export function classify(trace: readonly { op: Op; outcome: StepOutcome }[]): Reach {
  const outcomes = new Set<string>()
  let kexecAt = -1
  let kexecWithPreservedDma = false
  let fullRecovery = false
  let preservedDevices = new Set<string>()
  let live = new Set<string>()
  for (let i = 0; i < trace.length; i++) {
    const { op, outcome } = trace[i]
    const r = outcome.result
    // the same key strings coverage counts (issue 12: made once, not per step)
    outcomes.add(resultKey(op.op, r))
    if (op.op === 'LIVEUPDATE_SESSION_PRESERVE_FD' && r.ok) {
      // a preserved cdev shows in the observation as an outgoing vfio file
      const vf = outcome.observation.fds[op.args.fd]
      if (vf?.startsWith('vfio:')) live.add(vf.slice(5))
    }
    // a CLOSE that leaves no outgoing session holding a cdev drops them all
    if (op.op === 'CLOSE' && r.ok && live.size > 0 && !outcome.observation.luo.outgoing.some((s) => s.files.some((f) => f.kind === 'vfio'))) live = new Set()
    if (op.op === 'KEXEC' && r.ok) {
      preservedDevices = live
      live = new Set()
      if (preservedDevices.size > 0) kexecAt = i
    }
    if (op.op === 'DMA' && r.ok && kexecAt >= 0 && preservedDevices.has(op.args.bdf)) kexecWithPreservedDma = true
    if (op.op === 'LIVEUPDATE_SESSION_FINISH' && r.ok && kexecAt >= 0) fullRecovery = true
  }
  return { kexecWithPreservedDma, fullRecovery, outcomes }
}
