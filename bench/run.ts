// npm run bench: every benchmark in one run, one after the other on an otherwise idle
// machine, printed as markdown (BENCHMARKS.md is a copy of one such run). Speed is measured
// here and reported as ratios; no test asserts a time.
//   npm run bench [-- --quick]

import { execFileSync } from 'node:child_process'
import { cpus } from 'node:os'

const quick = process.argv.includes('--quick')
const benches: [string, string[]][] = [
  ['bench/kernel.ts', quick ? ['--model-seconds', '10', '--ops', '2000'] : []],
  ['bench/structures.ts', []],
  ['bench/throughput.ts', quick ? ['--runs', '100'] : []],
  ['bench/defects.ts', quick ? ['--seeds', '1', '--budget', '20'] : ['--seeds', '5', '--budget', '30']],
  ['bench/campaign.ts', quick ? ['--runs', '400'] : []],
  ['bench/explore.ts', quick ? ['--quick'] : []],
  ['bench/trace-length.ts', quick ? ['--lengths', '1000,4000'] : []],
]

console.log(`# luv benchmarks\n`)
console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; \`npm run bench${quick ? ' -- --quick' : ''}\`, one run.\n`)
for (const [file, args] of benches) {
  const out = execFileSync(process.execPath, ['--import', 'tsx', file, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] })
  console.log(out.trim() + '\n')
}
