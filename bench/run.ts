// npm run bench: every benchmark in one run, one after the other on an otherwise idle
// machine, printed as markdown (BENCHMARKS.md is a copy of one such run). Speed is measured
// here and reported as ratios; no test asserts a time.
//   npm run bench [-- --quick]

import { execFileSync } from 'node:child_process'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { floorRate, perCpuSecond } from './floor.ts'

const quick = process.argv.includes('--quick')
const benches: [string, string[]][] = [
  ['bench/kernel.ts', quick ? ['--model-seconds', '10', '--ops', '2000'] : []],
  ['bench/structures.ts', []],
  ['bench/throughput.ts', quick ? ['--runs', '100'] : []],
  ['bench/profile.ts', quick ? ['--runs', '100'] : ['--runs', '400']],
  ['bench/defects.ts', quick ? ['--seeds', '1', '--budget', '20'] : ['--seeds', '5', '--budget', '30']],
  ['bench/campaign.ts', quick ? ['--runs', '400'] : []],
  ['bench/explore.ts', quick ? ['--quick'] : []],
  ['bench/trace-length.ts', quick ? ['--lengths', '1000,4000'] : []],
]

console.log(`# luv benchmarks\n`)
console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; \`npm run bench${quick ? ' -- --quick' : ''}\`, one run.\n`)
// the framework floor (bench/floor.ts), measured first in this run: every throughput figure
// below is also quoted as a ratio to it (issue 12)
const floor = floorRate({ seconds: quick ? 3 : 10 })
console.log('## Framework floor\n')
console.log(
  `fast-check model-based commands (fc.commands + fc.modelRun) over a Map model, lists of up to 80 commands, one core: ` +
    `**${floor.sps.toLocaleString('en-US')} steps/s** (${perCpuSecond(floor).toLocaleString('en-US')} per CPU-second; ${availableParallelism()} cores available, ` +
    `the floor had ${floor.cpuShare.toFixed(2)} of a core; load average ${loadavg()[0].toFixed(2)}). Ratios below are to this figure.\n`,
)
const env = { ...process.env, LUV_BENCH_FLOOR: JSON.stringify(floor) }
for (const [file, args] of benches) {
  const out = execFileSync(process.execPath, ['--import', 'tsx', file, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'], env })
  console.log(out.trim() + '\n')
}
