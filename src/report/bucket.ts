// Naming failures: the bundle folder is a hash of the canonical op list and what it ran
// against (so a rerun that shrinks to the same trace lands in the same folder), and the bucket title groups failures
// the way syzbot groups crashes by title.

import { createHash } from 'node:crypto'
import { hex, type Op } from '../../models/ops.ts'
import { argSpecs } from './opArgs.ts'
import { failNthOf } from '../../models/fault.ts'
import { inlineJson, type Json } from './json.ts'
import type { Counterexample } from './types.ts'

export { bucketTitle } from './common.ts'
import { designOverrides } from './common.ts'
import { platformJson } from './itf.ts'

/** One op as canonical JSON data: args in table order, bigints as hex, absent args left out. */
export function canonicalOp(o: Op): { op: string; args: { [k: string]: Json }; failNth?: number } {
  const args: { [k: string]: Json } = {}
  const given = o.args as Record<string, unknown>
  for (const [name] of argSpecs(o.op)) {
    const v = given[name]
    if (v === undefined) continue
    args[name] = typeof v === 'bigint' ? hex(v) : (v as Json)
  }
  // issue 13: a faulted step is another step (an op list without faults keeps its hash)
  const n = failNthOf(o)
  return n === undefined ? { op: o.op, args } : { op: o.op, args, failNth: n }
}

/** The canonical text of an op list: the input of the bundle hash. */
export const canonicalOps = (ops: readonly Op[]): string => inlineJson(ops.map(canonicalOp))

/** First 12 hex digits of sha256 over the canonical op list. */
export function opsHash(ops: readonly Op[]): string {
  return createHash('sha256').update(canonicalOps(ops)).digest('hex').slice(0, 12)
}

/** The bundle folder name of a counterexample: the first 12 hex digits of sha256 over the
 *  canonical op list, then what the trace ran against: the design (profile and overrides), the
 *  platform and the seeded defect. The same trace under another design or on another machine
 *  is another finding: a `--profiles` or `--platform mixed` campaign can find both, and one
 *  bundle must not overwrite the other (session 5: three profiles' findings shared one folder). */
export const bundleName = (cx: Counterexample): string =>
  createHash('sha256')
    .update(canonicalOps(cx.steps.map((s) => s.op)))
    .update('\n')
    .update(inlineJson({ profile: cx.profile, overrides: Object.fromEntries(designOverrides(cx)), platform: platformJson(cx.platform), ...(cx.defect !== undefined && { defect: cx.defect }) }))
    .digest('hex')
    .slice(0, 12)
