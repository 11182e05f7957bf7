#!/usr/bin/env node
// Score and survivors from one or more Stryker JSON reports (one per shard, or a full run):
//   node stryker/score.mjs reports/mutation/kernel/mutation.json [more.json ...] [--survivors]
// Mutants outside the shard (stryker/shard-checker.mjs: status CompileError, reason "not in
// shard") are not counted; the rest are merged by key, so shards of one run add up. Prints the
// score as Stryker defines it (mutation-testing-elements): detected = killed + timeout,
// valid = detected + survived + no coverage, score = detected / valid; per file; with
// --survivors, every survivor (and no-coverage mutant) in file order with its source line.
import { readFileSync } from 'node:fs'
import { inShard, mutantKey, parseShard } from './shard-checker.mjs'

const args = process.argv.slice(2)
const listSurvivors = args.includes('--survivors')
const files = args.filter((a) => !a.startsWith('--'))
if (files.length === 0) {
  console.error('usage: node stryker/score.mjs REPORT.json [REPORT.json ...] [--survivors]')
  process.exit(2)
}

// LUV_MUTATE_SHARD=r/K: the shard the report was made with (for the Ignored column)
const shard = process.env.LUV_MUTATE_SHARD ? parseShard() : undefined
const mutants = new Map()
/** The report's positions are 1-based; the checker sees Stryker's internal 0-based ones. */
const internal = (m, file) => ({
  ...m,
  fileName: file,
  location: {
    start: { line: m.location.start.line - 1, column: m.location.start.column - 1 },
    end: { line: m.location.end.line - 1, column: m.location.end.column - 1 },
  },
})
const sources = new Map()
for (const f of files) {
  const report = JSON.parse(readFileSync(f, 'utf8'))
  for (const [file, r] of Object.entries(report.files)) {
    sources.set(file, r.source.split('\n'))
    for (const m of r.mutants) {
      if (m.status === 'CompileError' && /not in shard/.test(m.statusReason ?? '')) continue
      // Ignored (static) mutants never reach the checker: count only the shard's
      if (shard && !inShard(internal(m, file), shard)) continue
      mutants.set(mutantKey(internal(m, file)), { ...m, file })
    }
  }
}

const DETECTED = new Set(['Killed', 'Timeout'])
const UNDETECTED = new Set(['Survived', 'NoCoverage'])
function tally(ms) {
  const t = { total: ms.length, Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, other: 0 }
  for (const m of ms) if (m.status in t) t[m.status]++; else t.other++
  const detected = t.Killed + t.Timeout
  const valid = detected + t.Survived + t.NoCoverage
  const covered = detected + t.Survived
  return { ...t, detected, valid, score: valid ? (100 * detected) / valid : NaN, coveredScore: covered ? (100 * detected) / covered : NaN }
}
const pct = (x) => (Number.isNaN(x) ? '-' : `${x.toFixed(2)}%`)

const all = [...mutants.values()]
const byFile = new Map()
for (const m of all) byFile.set(m.file, [...(byFile.get(m.file) ?? []), m])
const row = (name, t) =>
  `| ${name} | ${t.valid} | ${t.Killed} | ${t.Timeout} | ${t.Survived} | ${t.NoCoverage} | ${t.other} | ${pct(t.score)} | ${pct(t.coveredScore)} |`
console.log('| file | valid | killed | timeout | survived | no coverage | errors/ignored | score | score (covered) |')
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
for (const f of [...byFile.keys()].sort()) console.log(row(f, tally(byFile.get(f))))
console.log(row('**all**', tally(all)))

if (listSurvivors) {
  console.log('')
  const undetected = all
    .filter((m) => UNDETECTED.has(m.status))
    .sort((a, b) => a.file.localeCompare(b.file) || a.location.start.line - b.location.start.line || a.location.start.column - b.location.start.column)
  undetected.forEach((m, i) => {
    const line = (sources.get(m.file)?.[m.location.start.line - 1] ?? '').trim()
    const repl = m.replacement.replace(/\s+/g, ' ').slice(0, 100)
    console.log(`${i + 1}. ${m.file}:${m.location.start.line}:${m.location.start.column} ${m.status} ${m.mutatorName} → \`${repl}\`  (line: \`${line.slice(0, 110)}\`)`)
  })
}
