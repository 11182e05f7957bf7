// SIGINT / SIGTERM: the campaign stops starting blocks, finishes or aborts the running ones
// within a few seconds, and still writes the report of what ran (interrupted: true).

import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { progressLine } from '../../src/campaign/progress.ts'
import { summaryOf, tmp } from './helpers.ts'

const LUV = fileURLToPath(new URL('../../bin/luv.mjs', import.meta.url))

async function interrupted(signal: NodeJS.Signals, argv: string[]) {
  const out = join(tmp('luv-signal-'), 'report')
  const child = spawn(process.execPath, [LUV, 'campaign', '--time', '10m', '--impl', 'model', ...argv, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  // the first progress line (every 5 s when not a terminal): blocks have finished by then
  await new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (/\[\s*\d+\.\ds\] \d+ failed, [1-9]/.test(stderr)) {
        clearInterval(t)
        resolve()
      }
    }, 100)
  })
  const sent = Date.now()
  child.kill(signal)
  const code = await new Promise<number | null>((r) => child.once('exit', r))
  return { code, stdout, stderr, out, waited: Date.now() - sent }
}

describe('luv campaign interrupted', () => {
  it.each([
    ['SIGINT', ['--workers', '1']],
    ['SIGTERM', ['--workers', '2', '--profile', 'rfc-v2']],
  ] as [NodeJS.Signals, string[]][])('%s: stops within seconds and writes the report of what ran', async (signal, argv) => {
    const r = await interrupted(signal, argv)
    expect(r.stderr).toContain(`luv campaign: ${signal}: no new blocks`)
    // the in-flight blocks get 3 s, then are aborted (the margin is for a loaded CI machine)
    expect(r.waited).toBeLessThan(15_000)
    expect(existsSync(join(r.out, 'summary.md'))).toBe(true)
    const s = summaryOf(r.out)
    expect(s.interrupted).toBe(true)
    expect(s.notes.join('\n')).toMatch(/Interrupted \(SIGINT\/SIGTERM\)/)
    expect(r.stdout).toMatch(/interrupted/)
    expect(r.code).toBe(s.verdict === 'pass' ? 0 : 1)
    expect(r.stdout.trimEnd().split('\n').pop()).toMatch(/^\d+ passed, \d+ failed(, \d+ skipped)?$/)
  })
})

describe('progress', () => {
  it('prints runs, throughput, reach and failures on one line', () => {
    const line = progressLine(
      { startedAt: 0, runs: 250, steps: 12_500, kexecWithPreservedDma: 85, fullRecovery: 30, failures: 1, blocksDone: 10, blocksTotal: 40 },
      5000,
    )
    expect(line).toBe('[   5.0s] 1 failed, 250 runs, 12,500 steps (2,500 steps/s), KEXEC+preserved DMA 34%, full recovery 12%, blocks 10/40')
  })
})
