// StrykerJS over the reference model (models/): `npm run mutate:models`. MUTATION.md says
// how to read the result, the seeds, and how to shard a run. Everything else as the kernel
// configuration.
// @ts-check
import kernel from './stryker.kernel.config.mjs'

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...kernel,
  vitest: { configFile: 'vitest.mutate.models.config.ts', related: false },
  mutate: ['models/**/*.ts'],
  htmlReporter: { fileName: 'reports/mutation/models/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/models/mutation.json' },
  thresholds: { high: 80, low: 60, break: null },
}
