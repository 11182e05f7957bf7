// Bundle defects of issue 9: one bundle per distinct failure, and headlines from the trace as
// shrunk (never from the unshrunk run fast-check failed first).

import { describe, expect, it } from 'vitest'
import { aggregate, campaignContext } from '../../src/campaign/campaign.ts'
import { mergeShards } from '../../src/campaign/merge.ts'
import type { BlockOutcome } from '../../src/campaign/scheduler.ts'
import { createExecutor } from '../../src/check/index.ts'
import { bucketTitle, bundleName } from '../../src/report/bucket.ts'
import { toCounterexample } from '../../src/report/from-failure.ts'
import type { Counterexample } from '../../src/report/types.ts'
import { loadScenario } from '../../src/scenario/load.ts'
import { runScenario } from '../../src/scenario/run.ts'
import { resolveCampaignOptions } from '../../src/campaign/options.ts'
import { defectCounterexample } from './defect-bundles.ts'

const root = new URL('../../', import.meta.url).pathname

describe('headlines come from the shrunk trace', () => {
  it('a violation message of the unshrunk run is not the headline', () => {
    const name = 'missing-iotlb-flush-on-unmap'
    const sc = loadScenario(`${root}properties/defects/${name}.json`)
    const run = runScenario(sc, { executor: createExecutor(sc.platform, sc.design, { impl: 'both', defect: name }) })
    const at = run.steps.findIndex((s) => s.violations.length > 0)
    const exec = createExecutor(sc.platform, sc.design, { impl: 'both', defect: name })
    const ops = run.steps.slice(0, at + 1).map((s) => s.op)
    const cx = toCounterexample(
      {
        // what fast-check reported for a longer run: a state the shrunk steps never reach
        violation: { property: 'dma-safety', message: 'kernel: stale IOTLB entry dmar1 DID 7 pasid 3 iova 0xdead000 -> 0x9000 reaches free memory' },
        ops,
        outcomes: ops.map((op) => exec.step(op)),
        divergenceIndex: at + 1,
      },
      { design: sc.design, platform: sc.platform, defect: name },
    )
    expect(cx.message).not.toContain('0xdead000')
    expect(cx.message).toContain('iova 0x100000')
    expect(cx.steps[cx.divergenceIndex].violations.map((v) => v.message)).toContain(cx.message)
  })
})

describe('one bundle per distinct failure', () => {
  it('blocks that shrank the same failure to different op lists share one bundle', () => {
    const a = defectCounterexample('missing-iotlb-flush-on-unmap')
    // the same failure after an unrelated extra step at the start: another op list, same title
    const extra = { ...a.steps[0], op: { op: 'IOMMUFD_OPEN' as const, args: {} } }
    const b: Counterexample = { ...a, steps: [extra, ...a.steps.map((s) => ({ ...s, index: s.index + 1 }))], divergenceIndex: a.divergenceIndex + 1 }
    expect(bundleName(b)).not.toBe(bundleName(a))
    expect(bucketTitle(b)).toBe(bucketTitle(a))
    const o = resolveCampaignOptions({ runs: '50', defect: 'missing-iotlb-flush-on-unmap', impl: 'both', out: '/tmp/luv-dedup-test' })
    const block = (index: number, cx: Counterexample): BlockOutcome => ({
      index,
      seed: index,
      numRuns: 25,
      properties: ['dma-safety'],
      passed: false,
      runs: 3,
      steps: 10,
      reach: { kexecWithPreservedDma: 0, fullRecovery: 0, outcomes: [] },
      failure: { property: 'dma-safety', cx, path: '1:0', shrinks: 1 },
    })
    const now = new Date()
    const r = aggregate(campaignContext(o), [block(0, a), block(1, b)], { interrupted: false, aborted: [], reruns: 0, workers: 2, started: now, finished: now })
    expect(r.summary.failures).toHaveLength(1)
    expect(r.summary.failures[0].blocks).toEqual([0, 1])
    expect([...r.bundles.keys()]).toEqual([bundleName(a)])
    expect(r.summary.blocks.list.map((x) => x.bundle)).toEqual([bundleName(a), bundleName(a)])

    // two shards, each with one of them: the merge keeps one bundle too, the lower block's
    const shard = (i: number, cx: Counterexample) =>
      aggregate({ ...campaignContext(o), shard: { index: i + 1, count: 2 } }, [block(i, cx)], { interrupted: false, aborted: [], reruns: 0, workers: 1, started: now, finished: now }).summary
    for (const order of [[0, 1], [1, 0]]) {
      const shards = [shard(0, a), shard(1, b)]
      const m = mergeShards(order.map((i) => ({ dir: `/shards/s${i}`, summary: shards[i] })), '/tmp/luv-dedup-merged-not-written')
      expect(m.summary.failures.map((f) => [f.bundle, f.blocks])).toEqual([[bundleName(a), [0, 1]]])
      expect([...m.bundles.entries()]).toEqual([[bundleName(a), { dir: `/shards/s0/${bundleName(a)}` }]])
      expect(m.summary.blocks.list.map((x) => x.bundle)).toEqual([bundleName(a), bundleName(a)])
    }
  })
})
