// The kernel configuration with only the gap-closing checks as tests: used with --mutate
// line ranges to show that a check written for a surviving mutant kills it (MUTATION.md).
// @ts-check
import kernel from './stryker.kernel.config.mjs'

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...kernel,
  vitest: { configFile: 'vitest.mutate.gaps.config.ts', related: false },
  htmlReporter: { fileName: 'reports/mutation/gaps/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/gaps/mutation.json' },
}
