// bench/block.ts threadCpu / threadDelta: the per-thread CPU split bench/block.ts and
// bench/campaign.ts print (JS threads against V8's background threads, issue 12).
import { existsSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { threadCpu, threadDelta } from '../../bench/block.ts'

describe('per-thread CPU (bench/block.ts)', () => {
  it('threadDelta subtracts each thread\'s earlier sample and counts a thread born since from zero', () => {
    const before = new Map([
      [10, 1.5],
      [11, 0.25],
      [12, 3],
    ])
    const after = new Map([
      [10, 2],
      [11, 0.25],
      [13, 0.75],
    ])
    // thread 12 ended: it is not in the delta; 13 is new
    expect([...threadDelta(before, after)]).toEqual([
      [10, 0.5],
      [11, 0],
      [13, 0.75],
    ])
  })

  it.runIf(existsSync('/proc/self/task'))('threadCpu lists the JS thread (tid = pid) and a worker thread while it runs', async () => {
    const before = threadCpu()
    expect(before.has(process.pid)).toBe(true)
    for (const s of before.values()) expect(s).toBeGreaterThanOrEqual(0)
    // a worker that waits for a message: its thread exists until it exits
    const w = new Worker('const { parentPort } = require("node:worker_threads"); parentPort.once("message", () => process.exit(0)); parentPort.postMessage("up")', { eval: true })
    await new Promise((r) => w.once('message', r))
    const during = threadCpu()
    const born = [...during.keys()].filter((t) => !before.has(t))
    expect(born.length).toBeGreaterThan(0)
    w.postMessage('exit')
    await new Promise((r) => w.once('exit', r))
  })
})
