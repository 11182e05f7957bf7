// The checker's entry point: executors for the model, the kernel implementation, or both.
export { createExecutor, ModelExecutor, UsageError, type ExecutorOptions } from './executor.ts'
export * from './executor.types.ts'
