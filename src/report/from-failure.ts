// Turning a property failure (properties/run.ts) into the typed Counterexample every renderer
// reads, with the versions a reader needs to reproduce it.

import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Design } from '../../models/design.ts'
import { describeDesign, PROFILES, type ProfileName } from '../../models/design.ts'
import { initState, observe } from '../../models/index.ts'
import type { Op } from '../../models/ops.ts'
import type { Platform } from '../../models/platform.ts'
import type { StepOutcome, Violation } from '../check/executor.types.ts'
import { createExecutor } from '../check/index.ts'
import { findObservable, type Observable } from './probe.ts'
import type { Counterexample } from './types.ts'

let versions: Counterexample['versions'] | undefined

/** luv, Node, fast-check and the git revision of the tree under test (best effort). */
export function luvVersions(): Counterexample['versions'] {
  if (versions) return versions
  const req = createRequire(import.meta.url)
  const luv = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string
  const fastCheck = (req('fast-check/package.json') as { version: string }).version
  let gitRev: string | undefined
  try {
    // the tree luv runs from, whatever the working directory
    const cwd = fileURLToPath(new URL('../..', import.meta.url))
    gitRev = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    gitRev = undefined
  }
  versions = { luv, node: process.version, fastCheck, ...(gitRev && { gitRev }) }
  return versions
}

/** The profile a design is closest to (fewest differing axes), for its label. */
export function closestProfile(design: Design): ProfileName {
  let best: ProfileName = 'lpc2025'
  let bestDiff = Infinity
  for (const [name, p] of Object.entries(PROFILES) as [ProfileName, (typeof PROFILES)[ProfileName]][]) {
    const diff = Object.keys(design).filter((a) => design[a as keyof Design] !== p.design[a as keyof Design]).length
    if (diff < bestDiff) [best, bestDiff] = [name, diff]
  }
  return best
}

export interface FailureInput {
  violation: Violation
  ops: Op[]
  outcomes: StepOutcome[]
  divergenceIndex: number
  seed?: number
  path?: string
}

export function toCounterexample(
  f: FailureInput,
  ctx: { design: Design; platform: Platform; profile?: ProfileName; defect?: string; timestamp?: string },
): Counterexample {
  const profile = ctx.profile ?? closestProfile(ctx.design)
  const init = observe(initState(ctx.platform, ctx.design))
  const bothRan = f.outcomes.some((o) => o.kernelResult !== undefined)
  let ops = f.ops
  let outcomes = f.outcomes
  let observable: Observable | undefined
  if (bothRan) {
    // end on a step whose result differs (a probe appended where the trace ends on state)
    const r = findObservable({ ops: f.ops, design: ctx.design, platform: ctx.platform, ...(ctx.defect !== undefined && { defect: ctx.defect }) })
    ops = r.ops
    observable = r.observable
    const exec = createExecutor(ctx.platform, ctx.design, { impl: 'both', ...(ctx.defect !== undefined && { defect: ctx.defect }) })
    outcomes = ops.map((op) => exec.step(op))
  }
  // the headline comes from the trace as shrunk, never from the run fast-check first failed
  const property = f.violation.property
  let divergence = outcomes.findIndex((o) => o.violations.some((v) => v.property === property))
  if (divergence < 0) divergence = outcomes.findIndex((o) => o.violations.length > 0)
  if (divergence < 0) divergence = Math.min(f.divergenceIndex - 1, outcomes.length - 1)
  const at = outcomes[divergence]
  const message = at?.violations.find((v) => v.property === property)?.message ?? at?.violations[0]?.message ?? f.violation.message
  return {
    property,
    message,
    design: ctx.design,
    profile,
    designLabel: describeDesign(ctx.design, profile),
    platform: ctx.platform,
    ...(f.seed !== undefined && { seed: f.seed }),
    ...(f.path !== undefined && f.path !== '' && { path: f.path }),
    ...(ctx.defect !== undefined && { defect: ctx.defect }),
    divergenceIndex: Math.max(0, divergence),
    steps: ops.map((op, i) => ({
      index: i,
      op,
      model: outcomes[i].result,
      ...(outcomes[i].kernelResult && { kernel: outcomes[i].kernelResult }),
      violations: outcomes[i].violations,
      model_obs: outcomes[i].observation,
      ...(outcomes[i].kernelObservation && { kernel_obs: outcomes[i].kernelObservation }),
      ...(outcomes[i].failNth && { failNth: outcomes[i].failNth }), // issue 13
    })),
    ...(observable && { observable }),
    versions: luvVersions(),
    ...(ctx.timestamp && { timestamp: ctx.timestamp }),
    initial_obs: init,
    ...(bothRan && { initial_kernel_obs: init }),
  }
}
