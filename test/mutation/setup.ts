// Setup for the mutation-testing profile (vitest.mutate.config.ts) only, never for `npm test`:
// every fast-check run gets a fixed seed and no time limit, so a mutant is killed or survives
// the same way on every run (pbt-anchors.md §6: "fix the seed"). Explicit seeds and numRuns in
// the tests still win; this covers any fc.assert/fc.check that does not pass its own.
import fc from 'fast-check'

export const MUTATION_SEED = 0x5eed13
fc.configureGlobal({ seed: MUTATION_SEED, numRuns: 50 })
