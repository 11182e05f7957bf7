// The focused test profile Stryker runs for `npm run mutate` (MUTATION.md): the tests that
// exercise src/kernel/, with fixed seeds, fixed small run counts and no time limits, so one
// full pass takes seconds and every mutant meets the same tests. Not used by `npm test`.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      // the kernel's unit tests and the random differential test, whole
      'test/kernel/!(conformance).test.ts',
      // conformance.test.ts and kselftests.test.ts, cut down (see the file)
      'test/mutation/focused/*.mutate.ts',
      // the conformance property on the campaign platforms (the tiny one reaches exhaustion)
      'properties/conformance.prop.test.ts',
      // the checks written to kill surviving mutants
      'test/mutation/**/*.test.ts',
    ],
    setupFiles: ['test/mutation/setup.ts'],
    env: {
      // test/kernel/fc.ts (0x10f5eed), differential.test.ts (0x1ce) and properties/harness.ts
      // (0x1b5) use their own fixed defaults unless LUV_SEED is set: leave it unset
      LUV_DIFF_RUNS: '5',
      LUV_RUNS: '5',
      LUV_AXIS_RUNS: '1',
      // a time limit would make the number of runs, hence the verdict, depend on the load
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
