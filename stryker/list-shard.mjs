#!/usr/bin/env node
// The mutants of one shard, listed without running anything (MUTATION.md, "Sharding"): Stryker's
// own instrumenter finds every mutant of the files, and the shard checker's hash picks the
// shard's. Use it to see what a shard holds before paying for the run, or to find the
// mutants of a shard on some lines:
//   LUV_MUTATE_SHARD=0/32 node stryker/list-shard.mjs $(find src/kernel -name '*.ts' -not -path '*/defects/*')
// Prints one mutant a line, `file:line:column mutator -> replacement` (1-based, as Stryker's
// reports), then the count on stderr. Static mutants are listed too (the run reports them
// Ignored), so the count can exceed the run's valid mutants by those.
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { Instrumenter } from '@stryker-mutator/instrumenter'
import { inShard, parseShard } from './shard-checker.mjs'

const files = process.argv.slice(2)
if (files.length === 0) {
  console.error('usage: LUV_MUTATE_SHARD=r/K node stryker/list-shard.mjs FILE.ts [FILE.ts ...]')
  process.exit(2)
}
const quiet = () => false
const nop = () => {}
const logger = { isTraceEnabled: quiet, isDebugEnabled: quiet, isInfoEnabled: quiet, isWarnEnabled: quiet, isErrorEnabled: quiet, isFatalEnabled: quiet, trace: nop, debug: nop, info: nop, warn: nop, error: nop, fatal: nop }
const input = files.map((name) => ({ name: relative(process.cwd(), name), content: readFileSync(name, 'utf8'), mutate: true }))
const { mutants } = await new Instrumenter(logger).instrument(input, { plugins: null, ignorers: [], excludedMutations: [], noHeader: true })
const shard = parseShard()
const mine = mutants.filter((m) => inShard(m, shard))
for (const m of mine) {
  const repl = m.replacement.replace(/\s+/g, ' ').slice(0, 100)
  console.log(`${m.fileName}:${m.location.start.line + 1}:${m.location.start.column + 1} ${m.mutatorName} -> ${repl}`)
}
console.error(`${mine.length} of ${mutants.length} mutants in shard ${shard.r}/${shard.k}`)
