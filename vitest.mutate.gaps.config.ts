// Only the gap-closing checks (test/mutation/*.test.ts): Stryker runs them over the lines of
// the mutants they were written for, to show each one is now killed (MUTATION.md).
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/mutation/*.test.ts'],
    setupFiles: ['test/mutation/setup.ts'],
    isolate: false,
    testTimeout: 600_000,
  },
})
