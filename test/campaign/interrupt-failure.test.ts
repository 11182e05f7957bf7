// A failure found is a failure reported (issue 10): real signals to a real `luv campaign`
// child while its block is shrinking a failure, or before any block has ended. The rfc-v2
// design breaks dma-continuity in its first block, and shrinking that finding takes seconds:
// the window the signals land in.

import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { luv, summaryOf, tmp } from './helpers.ts'

const LUV = fileURLToPath(new URL('../../bin/luv.mjs', import.meta.url))

interface Child {
  code: number | null
  stdout: string
  stderr: string
  out: string
}

/** Start a campaign, wait until `ready(stderr)`, send `signals` (100 ms apart), wait for the exit. */
async function signalled(argv: string[], ready: (stderr: string, stdout: string) => boolean, signals: NodeJS.Signals[], prepare?: (out: string) => void): Promise<Child> {
  const out = join(tmp('luv-interrupt-'), 'report')
  prepare?.(out)
  const child = spawn(process.execPath, [LUV, 'campaign', '--impl', 'model', '--workers', '1', ...argv, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((r) => child.once('exit', r))
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (ready(stderr, stdout)) {
        clearInterval(t)
        resolve()
      } else if (child.exitCode !== null) {
        clearInterval(t)
        reject(new Error(`exited before it was ready:\n${stdout}\n${stderr}`))
      }
    }, 20)
  })
  for (const [i, s] of signals.entries()) {
    if (i > 0) await new Promise((r) => setTimeout(r, 100))
    child.kill(s)
  }
  return { code: await exited, stdout, stderr, out }
}

const bundlesIn = (dir: string) => readdirSync(dir).filter((n) => /^[0-9a-f]{12}$/.test(n) && statSync(join(dir, n)).isDirectory())
const found = (stderr: string) => /\] 1 failed, /.test(stderr)

describe('an interrupted campaign that has found a violation fails and writes its bundle', () => {
  it('SIGTERM twice while shrinking: exit 1, a bundle from the shrink so far that says so, and it replays', async () => {
    const r = await signalled(['--runs', '25', '--profile', 'rfc-v2', '--properties', 'dma-continuity'], found, ['SIGTERM', 'SIGTERM'])
    expect(r.code, r.stdout + r.stderr).toBe(1)
    // counted as failed while it was still shrinking (the signal came after that line)
    expect(r.stderr).toMatch(/\] 1 failed, /)
    const s = summaryOf(r.out)
    expect(s.verdict).toBe('fail')
    expect(s.interrupted).toBe(true)
    expect(s.properties['dma-continuity'].verdict).toBe('fail')
    const [b] = bundlesIn(r.out)
    expect(b).toBeDefined()
    expect(s.failures.map((f: { bundle: string }) => f.bundle)).toEqual([b])
    // the bundle and the summary say that the trace is not a minimal one
    expect(readFileSync(join(r.out, b, 'report.md'), 'utf8')).toMatch(/shrinking cut short by SIGTERM/)
    expect(s.notes.join('\n')).toMatch(/stopped \(SIGTERM\) while shrinking its dma-continuity failure/)
    expect(r.stdout).toMatch(/^FAIL: 1 of \d+ properties failed/m)
    expect(r.stdout).not.toMatch(/PASS/)
    // what was written is a real counterexample: it replays, without fast-check
    const rep = await luv(['replay', join(r.out, b), '--impl', 'model'])
    expect(rep.err).toBe('')
    expect(rep.code).toBe(1)
    expect(rep.out).toMatch(/^REPRODUCED: dma-continuity at step \d+/m)
  })

  it('SIGINT once while shrinking, and the summary cannot be written: exit 1, the bundle and the trace are still there', async () => {
    const r = await signalled(['--runs', '25', '--profile', 'rfc-v2', '--properties', 'dma-continuity'], found, ['SIGINT'], (out) => mkdirSync(join(out, 'summary.md', 'x'), { recursive: true }))
    expect(r.code, r.stdout + r.stderr).toBe(1)
    // bundles are written before the summary: the failure is on disk, and on the terminal
    expect(bundlesIn(r.out)).toHaveLength(1)
    expect(r.stderr).toMatch(/^luv campaign: cannot write the report to /m)
    expect(r.stdout).toMatch(/^! \[\d+\] KEXEC\(\) = 0$/m)
    expect(r.stdout).toMatch(/^FAIL: 1 of \d+ properties failed/m)
  })

  it('interrupted before any block ends, nothing found: says nothing was checked, exit 2 (not a pass)', async () => {
    const r = await signalled(['--time', '10m'], (_e, o) => o.includes('luv campaign '), ['SIGINT', 'SIGINT'])
    expect(r.code, r.stdout + r.stderr).toBe(2)
    expect(r.stdout).toMatch(/^NOTHING CHECKED: no block finished \(interrupted\): this is not a pass/m)
    expect(r.stdout).not.toMatch(/^PASS/m)
    expect(readFileSync(join(r.out, 'summary.md'), 'utf8')).toMatch(/^# luv campaign .*: NOTHING CHECKED \(interrupted\)$/m)
  })
})
