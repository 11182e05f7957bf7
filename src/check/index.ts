// The checker's entry point: executors for the model, the kernel implementation, or both.
// Importing conformance.ts registers the kernel-backed executors (--impl kernel|both).
import './conformance.ts'
export { createExecutor, ModelExecutor, UsageError, type ExecutorOptions } from './executor.ts'
export * from './executor.types.ts'
