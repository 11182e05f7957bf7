// The scheduler's promise: the blocks' results do not depend on the worker count or on which
// block finishes first. A fake runner decides each block's outcome from (block, properties
// checked) and finishes after a random delay; the schedule must equal the sequential rule.

import { describe, expect, it } from 'vitest'
import type { PropertyName } from '../../src/check/executor.types.ts'
import type { BlockResult, BlockTask } from '../../src/campaign/block.ts'
import { planBlocks } from '../../src/campaign/blocks.ts'
import type { BlockRunner } from '../../src/campaign/pool.ts'
import { runSchedule } from '../../src/campaign/scheduler.ts'

const PROPS: PropertyName[] = ['dma-continuity', 'ownership', 'isolation', 'recoverability']

/** Which properties a block would find broken (first in check order wins, as fast-check stops). */
const BROKEN: Record<number, PropertyName[]> = {
  1: ['ownership'],
  2: ['ownership', 'isolation'],
  3: ['dma-continuity'],
  5: ['isolation'],
  6: ['dma-continuity', 'ownership'],
  9: ['recoverability'],
}

/** Deterministic pseudo-random delays from a small LCG. */
function rng(seed: number) {
  let s = seed >>> 0
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32)
}

function outcome(task: Omit<BlockTask, 'port'>): BlockResult {
  const failed = PROPS.find((p) => task.properties.includes(p) && (BROKEN[task.index] ?? []).includes(p))
  // steps depend on the property set when the block fails, so a result computed with the
  // wrong set would show
  const steps = failed ? 1000 * task.index + task.properties.length * 7 : 100 * task.index
  return {
    index: task.index,
    seed: task.seed,
    numRuns: task.numRuns,
    properties: task.properties,
    passed: !failed,
    runs: failed ? 3 : task.numRuns,
    steps,
    reach: { kexecWithPreservedDma: task.index % 3, fullRecovery: task.index % 2, outcomes: [] },
    ...(failed && { failure: { property: failed, cx: {} as never, path: '0', shrinks: 1 } }),
  }
}

function fakeRunner(workers: number, seed: number): BlockRunner & { started: number } {
  const next = rng(seed)
  const r = {
    workers,
    started: 0,
    run(task: Omit<BlockTask, 'port'>, _p: unknown, signal: AbortSignal): Promise<BlockResult> {
      r.started++
      const delay = Math.floor(next() * 8)
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => resolve(outcome(task)), delay)
        signal.addEventListener('abort', () => {
          clearTimeout(t)
          reject(new Error('aborted'))
        })
      })
    },
    close: async () => {},
  }
  return r
}

/** The rule, sequentially: block k checks what earlier blocks have not failed. */
function reference(runs: number) {
  const failed = new Set<PropertyName>()
  return [...planBlocks({ seed: 1, runs, blockRuns: 5 })].map((b) => {
    const props = PROPS.filter((p) => !failed.has(p))
    if (props.length === 0) return { index: b.index, properties: [], failed: undefined, steps: 0 }
    const r = outcome({ ...b, properties: props } as Omit<BlockTask, 'port'>)
    if (r.failure) failed.add(r.failure.property)
    return { index: b.index, properties: props, failed: r.failure?.property, steps: r.steps }
  })
}

const view = (bs: BlockResult[]) => bs.map((b) => ({ index: b.index, properties: b.properties, failed: b.failure?.property, steps: b.steps }))

describe('runSchedule', () => {
  const task = (b: { index: number; seed: number; numRuns: number }, properties: PropertyName[]) =>
    ({ ...b, properties }) as unknown as Omit<BlockTask, 'port'>

  it.each([1, 2, 3, 4, 8])('gives the sequential rule with %i workers, whatever the finishing order', async (workers) => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const runner = fakeRunner(workers, seed)
      const r = await runSchedule(planBlocks({ seed: 1, runs: 60, blockRuns: 5 }), PROPS, runner, task, {}, { finite: true })
      expect(view(r.blocks)).toEqual(reference(60))
      expect(r.interrupted).toBe(false)
      if (workers === 1) expect(r.reruns).toBe(0)
    }
  })

  it('lists the blocks left when every property has failed as skipped, without running them', async () => {
    const runner = fakeRunner(2, 7)
    const all: PropertyName[] = ['ownership', 'dma-continuity']
    const r = await runSchedule(planBlocks({ seed: 1, runs: 60, blockRuns: 5 }), all, runner, task, {}, { finite: true })
    expect(r.blocks.map((b) => b.index)).toEqual([...Array(12).keys()])
    const skipped = r.blocks.filter((b) => 'skipped' in b && b.skipped).map((b) => b.index)
    // ownership fails in block 1, dma-continuity in block 3: blocks 4.. have nothing to check
    expect(skipped).toEqual([4, 5, 6, 7, 8, 9, 10, 11])
  })

  it('stops dispatching on stop, aborts in-flight blocks after the grace period', async () => {
    const stop = new AbortController()
    const slow: BlockRunner = {
      workers: 2,
      run: (t, _p, signal) =>
        new Promise((resolve, reject) => {
          const ms = t.index < 2 ? 5 : 10_000
          const timer = setTimeout(() => resolve(outcome(t)), ms)
          signal.addEventListener('abort', () => {
            clearTimeout(timer)
            reject(new Error('aborted'))
          })
        }),
      close: async () => {},
    }
    setTimeout(() => stop.abort(), 50)
    const t0 = Date.now()
    const r = await runSchedule(planBlocks({ seed: 1, blockRuns: 5 }), PROPS, slow, task, {}, { stop: stop.signal, graceMs: 100 })
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(r.interrupted).toBe(true)
    expect(r.blocks.map((b) => b.index)).toEqual([0, 1])
    expect(r.aborted).toEqual([2, 3])
  })

  it('a worker that dies is a harness error, and no further block starts', async () => {
    const dying: BlockRunner = {
      workers: 1,
      run: async (t) => {
        if (t.index === 2) throw new Error('worker exited with code 134')
        return outcome(t)
      },
      close: async () => {},
    }
    const r = await runSchedule(planBlocks({ seed: 1, runs: 60, blockRuns: 5 }), ['isolation'], dying, task, {}, { finite: true })
    expect(r.blocks.map((b) => b.index)).toEqual([0, 1, 2])
    expect(r.blocks[2].error).toMatch(/^worker failed: Error: worker exited with code 134/)
    expect(r.blocks[2].passed).toBe(false)
    expect(r.interrupted).toBe(false)
  })

  it('stops starting blocks at the deadline (a --time campaign has an endless plan)', async () => {
    const runner = fakeRunner(2, 3)
    const r = await runSchedule(planBlocks({ seed: 1, blockRuns: 5 }), ['isolation'], runner, task, {}, { deadline: Date.now() + 80 })
    expect(r.interrupted).toBe(false)
    expect(r.blocks.length).toBeGreaterThan(2)
    // contiguous from 0: blocks start in order and in-flight ones finish
    expect(r.blocks.map((b) => b.index)).toEqual([...Array(r.blocks.length).keys()])
  })
})

// --profiles (issue 13): the rule holds per profile, so a property one profile fails is still
// checked in the blocks of the others
describe('runSchedule with profiles drawn per block', () => {
  const task = (b: { index: number; seed: number; numRuns: number; profile?: string }, properties: PropertyName[]) =>
    ({ ...b, properties }) as unknown as Omit<BlockTask, 'port'>
  const groups = ['a', 'b']
  /** the rule per group, sequentially */
  function referenceByGroup(runs: number) {
    const failed = new Map(groups.map((g) => [g, new Set<PropertyName>()]))
    return [...planBlocks({ seed: 1, runs, blockRuns: 5, profiles: groups })].map((b) => {
      const f = failed.get(b.profile!)!
      const props = PROPS.filter((p) => !f.has(p))
      if (props.length === 0) return { index: b.index, properties: [], failed: undefined, steps: 0 }
      const r = outcome({ ...b, properties: props } as Omit<BlockTask, 'port'>)
      if (r.failure) f.add(r.failure.property)
      return { index: b.index, properties: props, failed: r.failure?.property, steps: r.steps }
    })
  }
  it.each([1, 2, 4])('gives the per-profile rule with %i workers', async (workers) => {
    const plan = [...planBlocks({ seed: 1, runs: 60, blockRuns: 5, profiles: groups })]
    // the test means something only if both groups fail something and one fails what the other does not
    expect(new Set(plan.map((b) => b.profile))).toEqual(new Set(groups))
    for (const seed of [1, 2, 3]) {
      const r = await runSchedule(planBlocks({ seed: 1, runs: 60, blockRuns: 5, profiles: groups }), PROPS, fakeRunner(workers, seed), task, {}, { finite: true, groups })
      expect(view(r.blocks)).toEqual(referenceByGroup(60))
    }
    // unlike the one-group rule: some block checks a property an earlier block of the other group failed
    expect(referenceByGroup(60)).not.toEqual(reference(60))
  })
})
