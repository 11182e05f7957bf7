// The checker's entry point: executors for the model, the kernel implementation, or both.
// Importing conformance.ts registers the kernel-backed executors (--impl kernel|both).
import './conformance.ts'
export { ModelExecutor, UsageError, type ExecutorOptions } from './executor.ts'
// issue 13: every executor made here honours a faulted op's failNth (src/check/failnth.ts)
import { createExecutor as create } from './executor.ts'
import { honourFailNth } from './failnth.ts'
export const createExecutor: typeof create = (platform, design, opts) => honourFailNth(create(platform, design, opts))
export * from './executor.types.ts'
