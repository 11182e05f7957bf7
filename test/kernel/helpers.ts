// Shared by the kernel implementation's tests: committed scenarios, their ops as resolved by a
// model run, and running a scenario with impl both to collect what the kernel got wrong.

import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Design } from '../../models/design.ts'
import type { Op } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import { createExecutor } from '../../src/check/index.ts'
import { loadScenario } from '../../src/scenario/load.ts'
import { runScenario, UnboundNameError, type ScenarioRun } from '../../src/scenario/run.ts'
import type { Scenario } from '../../src/scenario/types.ts'

export const SCENARIO_DIRS = ['properties/scenarios', 'properties/regressions']

export function scenarioFiles(dirs = SCENARIO_DIRS): string[] {
  return dirs.flatMap((d) =>
    readdirSync(d)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => join(d, f)),
  )
}

/** Run a scenario; a name left unbound by a step that failed under this design ends the run
 *  there (the steps before it still count). */
export function runOn(sc: Scenario, design: Design, impl: 'model' | 'kernel' | 'both', defect?: string): ScenarioRun {
  try {
    return runScenario(sc, { executor: createExecutor(sc.platform, design, { impl, ...(defect && { defect }) }) })
  } catch (e) {
    if (e instanceof UnboundNameError) return e.partial
    throw e
  }
}

/** What the kernel got wrong in a run: divergences, conformance violations, kernel findings. */
export function kernelProblems(run: ScenarioRun): string[] {
  const out: string[] = []
  for (const s of run.steps) {
    if (s.diverged) out.push(`step ${s.index} ${s.op.op}: results diverge`)
    for (const v of s.violations)
      if (v.property === 'conformance' || v.message.startsWith('kernel:')) out.push(`step ${s.index} ${s.op.op}: ${v.property}: ${v.message}`)
  }
  return out
}

/** The scenario's ops as the model resolves them (bindings from the model's results). */
export function resolvedOps(sc: Scenario, design = sc.design): Op[] {
  return runOn(sc, design, 'model').steps.map((s) => s.op)
}

export { loadScenario }

/** A small platform: one unit with 8 DIDs, a PASID-capable device and a plain one, 64 pages. */
export const ONE_UNIT_PLATFORM: Platform = {
  memoryPages: 64,
  tablePages: 64,
  units: [{ name: 'dmar0', dids: 8 }],
  devices: [
    { bdf: '0000:01:00.0', unit: 'dmar0', pasids: 8 },
    { bdf: '0000:02:00.0', unit: 'dmar0' },
  ],
}
