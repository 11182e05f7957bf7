// The focused test profile for `npm run mutate:models` (MUTATION.md, "models/"): every named
// property on every profile where it holds (test/mutation/focused/properties.mutate.ts; with it
// the conformance property: the kernel implementation, derived independently, disagrees with
// a mutated model), the conformance cut of the kernel profile, the model's own
// tests and the committed scenarios' expectations. Fixed seeds and run counts, no time limit.
// A mutant of models/ that all of these let live is a rule no property or check pins down.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'test/mutation/focused/properties.mutate.ts',
      'test/models/*.test.ts',
      'test/scenarios.test.ts',
      'test/mutation/focused/conformance.mutate.ts',
    ],
    exclude: ['test/models/paranoid.test.ts'],
    setupFiles: ['test/mutation/setup.ts'],
    env: {
      LUV_RUNS: '5',
      LUV_AXIS_RUNS: '1',
      LUV_TIME: '100000000',
    },
    // one module graph for all the test files of a mutant run: the mutants are switched at
    // run time, and nothing in src/ or models/ caches across runs; static mutants (evaluated
    // at import) would not be re-applied, so the Stryker configs set ignoreStatic
    isolate: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
})
