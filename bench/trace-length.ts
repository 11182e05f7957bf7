// Per-step cost against trace length: a per-step cost that grows with the number of steps (and
// so with the sessions and files they left open) is a superlinear trace.
//   node --import tsx bench/trace-length.ts [--lengths 1000,4000,8000] [--impl model,kernel,both]
// The trace is the shape of the kernel's LUO stress selftests (liveupdate.preserve_many_sessions,
// luo_stress_sessions): /dev/liveupdate open, then sessions created one by one, every tenth with
// a memfd preserved in it, then every session closed. Prints µs/step per length and impl, and
// the ratio to the shortest length (1.0 = flat). Speed is measured here, never asserted in tests.

import { parseArgs } from 'node:util'
import { parseScenario } from '../src/scenario/load.ts'
import { runScenario } from '../src/scenario/run.ts'
import { createExecutor } from '../src/check/index.ts'
import type { ImplChoice } from '../src/check/executor.types.ts'

const { values } = parseArgs({ options: { lengths: { type: 'string' }, impl: { type: 'string' } } })
const LENGTHS = (values.lengths ?? '1000,4000,8000').split(',').map(Number)
const IMPLS = (values.impl ?? 'model,kernel,both').split(',') as ImplChoice[]

/** About `length` steps: open, sessions (every tenth with a preserved memfd), close them all. */
function scenario(length: number): unknown {
  const steps: unknown[] = [{ op: 'LIVEUPDATE_OPEN', as: 'luo', expect: 'ok' }]
  const sessions = Math.floor((length - 1) / 2.3)
  for (let i = 0; i < sessions; i++) {
    steps.push({ op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: `s-${i}` }, as: `s${i}`, expect: 'ok' })
    if (i % 10 === 0) {
      steps.push({ op: 'MEMFD_CREATE', args: { pages: 1 }, as: `m${i}`, expect: 'ok' })
      steps.push({ op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: `$s${i}`, fd: `$m${i}`, token: i }, expect: 'ok' })
      steps.push({ op: 'CLOSE', args: { fd: `$m${i}` }, expect: 'ok' })
    }
  }
  for (let i = 0; i < sessions; i++) steps.push({ op: 'CLOSE', args: { fd: `$s${i}` }, expect: 'ok' })
  return {
    name: `trace-length-${length}`,
    platform: { memoryPages: Math.ceil(sessions / 10) + 8, tablePages: 64, units: [{ name: 'dmar0', dids: 16 }], devices: [] },
    design: { profile: 'v3' },
    steps,
  }
}

const rows: string[] = []
for (const impl of IMPLS) {
  const cells: number[] = []
  for (const length of LENGTHS) {
    const sc = parseScenario(scenario(length), `trace-length-${length}`)
    const t0 = process.hrtime.bigint()
    const run = runScenario(sc, { executor: createExecutor(sc.platform, sc.design, { impl }) })
    const us = Number(process.hrtime.bigint() - t0) / 1e3
    if (!run.passed) throw new Error(`bench/trace-length.ts: the ${length}-step trace failed on --impl ${impl}`)
    cells.push(us / sc.steps.length)
  }
  rows.push(`| ${impl} | ${cells.map((c) => c.toFixed(0)).join(' | ')} | ${(cells[cells.length - 1] / cells[0]).toFixed(1)} |`)
}
console.log(`## Per-step cost by trace length\n`)
console.log(`µs per step of \`luv run --impl X\` on an LUO stress trace (sessions, every tenth with a preserved memfd, then all closed).\n`)
console.log(`| impl | ${LENGTHS.map((l) => `${l} steps`).join(' | ')} | ×${LENGTHS[LENGTHS.length - 1]}/${LENGTHS[0]} |`)
console.log(`|---|${LENGTHS.map(() => '---:').join('|')}|---:|`)
for (const r of rows) console.log(r)
