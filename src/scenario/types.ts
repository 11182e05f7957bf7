// A scenario after loading: u64s are bigints, "$name" references are explicit Refs, the
// platform is filled in and the design is resolved. What run.ts walks and print.ts shows.

import type { Errno, OpName } from '../../models/ops.ts'
import type { Design, DesignSpec } from '../../models/design.ts'
import type { Platform } from '../../models/platform.ts'
import type { PropertyName } from '../check/executor.types.ts'

/** `"$name"` in a file: stands for the output of the earlier step that bound `name`. */
export interface Ref {
  ref: string
}
export const isRef = (v: unknown): v is Ref => typeof v === 'object' && v !== null && 'ref' in v

export type ArgValue = number | bigint | boolean | string | string[] | Ref

/** `out` may be a string: the name LIVEUPDATE_SESSION_GET_NAME returns (Result.text). */
export type Expect<V = bigint | Ref | string> = 'ok' | 'fault' | Errno | { out: V }

export interface ScenarioStep {
  /** position in `steps`, as error messages and traces number it (0-based) */
  index: number
  op: OpName
  /** the op's arguments as written, optional ones left out; may hold Refs */
  args: Record<string, ArgValue>
  as?: string
  expect?: Expect
  /** issue 13: fail the n-th fault-injectable allocation of this op (models/fault.ts) */
  failNth?: number
}

export interface Scenario {
  name: string
  description?: string
  /** the file name (or the name given to parseScenario), for messages */
  source: string
  platform: Platform
  /** the design as the file states it: its profile (if any) and its axis overrides */
  designSpec: DesignSpec
  /** designSpec resolved (the file's own design, before any command-line override) */
  design: Design
  /** properties this scenario shows failing on purpose (a design finding); default none */
  expectViolations: PropertyName[]
  steps: ScenarioStep[]
}
