// StrykerJS over the reference model (models/): `npm run mutate:models`. MUTATION.md says
// how to read the result, the seeds, and how to shard a run.
// @ts-check
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.models.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner', './stryker/shard-checker.mjs'],
  // LUV_MUTATE_SHARD=r/K: run one deterministic shard (a seeded 1/K sample) of the mutants;
  // unset: all of them (stryker/shard-checker.mjs)
  checkers: ['luv-shard'],
  // the vitest runner always measures coverage per test: each mutant runs only the tests
  // that executed it (MUTATION.md, "Cost")
  coverageAnalysis: 'perTest',
  mutate: ['models/**/*.ts'],
  // mutants in code run at import time (module constants) are reported Ignored: the vitest
  // profile shares one module graph (isolate: false), so re-running them would need a reload
  ignoreStatic: true,
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 2),
  timeoutMS: 10_000,
  timeoutFactor: 2,
  dryRunTimeoutMinutes: 30,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/models/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/models/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 80, low: 60, break: null },
}
