// The counterexample renderers (DESIGN.md §2.5): pure functions of a Counterexample, plus
// writeBundle, the one function here that touches the file system.

export type { Counterexample, CounterexampleStep } from './types.ts'
export { bucketTitle, bundleName, canonicalOps, opsHash } from './bucket.ts'
export { BUNDLE_FILES, renderBundle, writeBundle } from './bundle.ts'
export { renderEmail } from './email.ts'
export { ItfError, itfToOps, parseItf, renderItf, type ParsedItf } from './itf.ts'
export { mermaidEscape, renderMarkdown } from './markdown.ts'
export { renderRepro } from './repro.ts'
export { renderScenario, scenarioJson } from './scenario.ts'
export { titleSentence } from './common.ts'
