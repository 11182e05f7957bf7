// scenario.json: the counterexample in the public scenario format (DESIGN.md §2.2), so
// `luv run` replays it on the model, the kernel or both without fast-check. Arguments are
// the trace's literal values (fds, ids and PAs are deterministic); `expect` is the model's
// result at every step.

import { hex, type Op, type Result } from '../../models/ops.ts'
import { bundleName } from './bucket.ts'
import { designOverrides, titleSentence } from './common.ts'
import { platformJson } from './itf.ts'
import { formatJson, type Json } from './json.ts'
import { argSpecs } from './opArgs.ts'
import { failNthOf } from '../../models/fault.ts'
import type { Counterexample } from './types.ts'

/** Arguments as a scenario writes them: u64 hex strings, tokens decimal strings. */
export function scenarioArgs(o: Op): { [k: string]: Json } {
  const given = o.args as Record<string, unknown>
  const out: { [k: string]: Json } = {}
  for (const [name, spec] of argSpecs(o.op)) {
    const v = given[name]
    if (v === undefined) continue
    if (spec.kind === 'u64') out[name] = hex(v as bigint)
    else if (spec.kind === 'token') out[name] = (v as bigint).toString()
    else if (spec.kind === 'seals' || spec.kind === 'flags') out[name] = [...(v as string[])]
    else out[name] = v as Json
  }
  return out
}

/** `expect` for the model's result: "ok", an errno name, "fault", or { out } for a DMA's PA. */
export function scenarioExpect(o: Op, r: Result): Json {
  if ('errno' in r) return r.errno
  if ('fault' in r) return 'fault'
  if (o.op === 'DMA' && r.out !== undefined) return { out: hex(r.out) }
  return 'ok'
}

export function scenarioJson(cx: Counterexample): Json {
  const found = [
    `luv ${cx.versions.luv}`,
    ...(cx.seed !== undefined ? [`seed ${cx.seed}`] : []),
    ...(cx.path !== undefined ? [`path ${cx.path}`] : []),
    ...(cx.defect !== undefined ? [`defect ${cx.defect}`] : []),
  ].join(', ')
  return {
    name: `${cx.property}-${bundleName(cx)}`,
    description: `${titleSentence(cx)} (step ${cx.divergenceIndex}: ${cx.message}). Found by ${found}.`,
    platform: platformJson(cx.platform),
    design: { profile: cx.profile, ...Object.fromEntries(designOverrides(cx)) },
    steps: cx.steps.map((s) => {
      const args = scenarioArgs(s.op)
      return {
        op: s.op.op,
        ...(Object.keys(args).length > 0 && { args }),
        expect: scenarioExpect(s.op, s.model),
        // issue 13: the faulted step replays with its fail-nth
        ...(failNthOf(s.op) !== undefined && { failNth: failNthOf(s.op)! }),
      }
    }),
  }
}

/** scenario.json: one step per line. */
export function renderScenario(cx: Counterexample): string {
  return formatJson(scenarioJson(cx), { width: 100, inline: (p) => p.length === 2 && p[0] === 'steps' })
}
