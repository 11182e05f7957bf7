// `npm run fuzz [-- --runs N] [--seed S]`: the input-contract fuzzer of test/fuzz/ with a long
// budget; prints, per kind of file, the inputs tried and their outcomes (exit codes), the longest
// message and the slowest input. A contract breach stops it with fast-check's report (exit 1).

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { KINDS, fuzzArgv, fuzzKind, type KindStats } from '../test/fuzz/harness.ts'
import { makeSeeds } from '../test/fuzz/seeds.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '1000' }, seed: { type: 'string' }, kinds: { type: 'string' } } })
const runs = Number(values.runs)
const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31
const kinds = values.kinds ? KINDS.filter((k) => values.kinds!.split(',').includes(k)) : KINDS
const root = mkdtempSync(join(tmpdir(), 'luv-fuzz-bench-'))
const seeds = await makeSeeds(join(root, 'seeds'))
console.log(`luv fuzz: ${runs} inputs per kind, seed ${seed} (re-run: npm run fuzz -- --runs ${runs} --seed ${seed})`)
const all: KindStats[] = []
const t0 = performance.now()
let failed = false
for (const [i, kind] of kinds.entries()) {
  try {
    const s = await fuzzKind(kind, seeds, { numRuns: runs, seed: seed + i, root: mkdtempSync(join(root, `${kind}-`)) })
    all.push(s)
    const ex = Object.entries(s.exits).map(([c, n]) => `exit ${c}: ${n}`).join(', ')
    console.log(`  ${kind.padEnd(8)} ${String(s.inputs).padStart(6)} inputs  ${ex}  longest message ${s.maxMessage} chars  slowest ${s.maxMs.toFixed(0)} ms`)
    for (const m of s.samples.slice(0, 3)) console.log(`             e.g. ${m.slice(0, 150)}`)
  } catch (e) {
    failed = true
    console.log(`  ${kind}: CONTRACT BROKEN\n${(e as Error).message}\n${String((e as { cause?: Error }).cause?.message ?? '')}`)
  }
  rmSync(join(root, `${kind}-`), { recursive: true, force: true })
}
let argv = { inputs: 0, exits: {} as Record<string, number>, maxMessage: 0 }
if (!values.kinds || values.kinds.split(',').includes('argv')) {
  try {
    argv = await fuzzArgv({ numRuns: runs, seed })
    console.log(`  ${'argv'.padEnd(8)} ${String(argv.inputs).padStart(6)} inputs  ${Object.entries(argv.exits).map(([c, n]) => `exit ${c}: ${n}`).join(', ')}  longest message ${argv.maxMessage} chars`)
  } catch (e) {
    failed = true
    console.log(`  argv: CONTRACT BROKEN\n${(e as Error).message}\n${String((e as { cause?: Error }).cause?.message ?? '')}`)
  }
}
const total = all.reduce((n, s) => n + s.inputs, 0) + argv.inputs
const exit2 = all.reduce((n, s) => n + (s.exits[2] ?? 0), 0) + (argv.exits[2] ?? 0)
console.log(`total: ${total} inputs in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${exit2} refused with exit 2, ${total - exit2} accepted (still valid after the mutation), 0 contract breaches${failed ? ' in the kinds that finished (one breach above)' : ''}`)
rmSync(root, { recursive: true, force: true })
process.exitCode = failed ? 1 : 0
