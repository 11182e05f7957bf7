// What the CLI needs from the outside world, injectable so tests run it in-process with a fake
// executor and captured output.

import type { Design } from '../../models/design.ts'
import type { Platform } from '../../models/platform.ts'
import type { Executor, ImplChoice } from '../check/executor.types.ts'

export type CreateExecutor = (
  platform: Platform,
  design: Design,
  opts: { impl: ImplChoice; defect?: string },
) => Executor

export interface Output {
  write(text: string): unknown
  isTTY?: boolean
}

export interface CliDeps {
  /** default: createExecutor from src/check/executor.ts, loaded when a command first needs it */
  createExecutor?: CreateExecutor
  stdout: Output
  stderr: Output
  env: Record<string, string | undefined>
}

// src/check/index.ts is loaded on first use, not imported statically: `luv --help` and
// `luv lint-scenarios` then never load the model and the kernel implementation. It registers
// the kernel-backed executors (src/check/conformance.ts), so --impl kernel|both work.
export async function loadCreateExecutor(): Promise<CreateExecutor> {
  const { createExecutor } = await import('../check/index.ts')
  return createExecutor
}
