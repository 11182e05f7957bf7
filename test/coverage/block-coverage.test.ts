// A campaign block's coverage is handed over unsorted (src/campaign/block.ts: mergeCoverage,
// which the campaign runs over every block, sorts; issue 12). These hold that the unsorted
// counts are the sorted ones, and that the merge puts every table in key order.

import { describe, expect, it } from 'vitest'
import { resolveDesign } from '../../models/design.ts'
import { DEFAULT_PLATFORM } from '../../models/platform.ts'
import { runBlock } from '../../src/campaign/block.ts'
import { Coverage, countingExecutor, mergeCoverage, type CoverageData } from '../../src/coverage/coverage.ts'
import { createExecutor } from '../../src/check/index.ts'
import { runCommands, swarmArb } from '../../properties/commands.ts'
import fc from 'fast-check'

const lpc = resolveDesign({ profile: 'lpc2025' })
const TABLES = ['ops', 'design', 'devices', 'deviceTransitions', 'sessions', 'sessionTransitions', 'shapes', 'args'] as const
const sortedKeys = (r: Record<string, number>) => Object.keys(r).every((k, i, ks) => i === 0 || ks[i - 1] < k)

describe('a block hands over its coverage unsorted', () => {
  it('data({ sorted: false }) holds the counts data() holds, and mergeCoverage sorts them', () => {
    const cov = new Coverage()
    for (const cmds of fc.sample(swarmArb({ maxCommands: 40 }), { seed: 11, numRuns: 6 })) runCommands(cmds, countingExecutor(createExecutor(DEFAULT_PLATFORM, lpc, { impl: 'model' }), cov))
    const sorted = cov.data()
    const unsorted = cov.data({ sorted: false })
    for (const t of TABLES) {
      expect(unsorted[t]).toEqual(sorted[t])
      expect(sortedKeys(sorted[t]!)).toBe(true)
    }
    // the design table is expanded over every axis: many keys, not in key order as counted
    expect(Object.keys(unsorted.design).length).toBeGreaterThan(20)
    expect(sortedKeys(unsorted.design)).toBe(false)
    const merged: CoverageData = mergeCoverage([unsorted])
    expect(JSON.stringify(merged)).toBe(JSON.stringify(sorted))
  })

  it('the campaign merge of blocks is sorted and sums them', () => {
    const task = { seed: 7, numRuns: 3, platforms: [DEFAULT_PLATFORM], design: lpc, profile: 'lpc2025' as const, impl: 'model' as const, properties: ['atomicity' as const] }
    const a = runBlock({ index: 0, ...task })
    const b = runBlock({ index: 1, ...task, seed: 8 })
    const m = mergeCoverage([a.coverage, b.coverage])
    for (const t of TABLES) expect(sortedKeys(m[t]!)).toBe(true)
    expect(Object.values(m.ops).reduce((x, y) => x + y, 0)).toBe(a.steps + b.steps)
  })
})
