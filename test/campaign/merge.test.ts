// Sharding and merging: shard 1/2 + shard 2/2 cover exactly the blocks of the unsharded run,
// and their merge has its verdict, runs, steps and block set.

import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BUNDLE_FILES } from '../../src/report/bundle.ts'
import { luv, summaryOf, tmp } from './helpers.ts'

async function campaign(argv: string[], out: string, expectCode: number) {
  const r = await luv(['campaign', '--impl', 'model', '--workers', '1', ...argv, '--out', out])
  expect(r.code, r.out + r.err).toBe(expectCode)
  return summaryOf(out)
}

describe('luv campaign --shard and luv merge', () => {
  it('merged shards equal the unsharded campaign: verdict, runs, steps, block set', async () => {
    const dir = tmp('luv-merge-')
    const base = ['--runs', '100', '--seed', '437']
    const whole = await campaign(base, join(dir, 'whole'), 0)
    const s1 = await campaign([...base, '--shard', '1/2'], join(dir, 's1'), 0)
    const s2 = await campaign([...base, '--shard', '2/2'], join(dir, 's2'), 0)
    expect(s1.blocks.indices).toBe('0,2')
    expect(s2.blocks.indices).toBe('1,3')
    expect(s1.shard).toEqual({ index: 1, count: 2 })
    expect(s1.name).toBe('lpc2025-seed-437-shard-1-of-2')

    const out = join(dir, 'merged')
    const r = await luv(['merge', join(dir, 's1'), join(dir, 's2'), '--out', out])
    expect(r.code, r.err).toBe(0)
    expect(r.out.trimEnd().split('\n').pop()).toBe('6 passed, 0 failed')
    const m = summaryOf(out)
    expect(m.verdict).toBe(whole.verdict)
    expect(m.runs).toBe(whole.runs)
    expect(m.steps).toBe(whole.steps)
    expect(m.blocks.indices).toBe(whole.blocks.indices)
    expect(m.blocks.list).toEqual(whole.blocks.list)
    expect(m.reach).toEqual(whole.reach)
    expect(m.properties).toEqual(whole.properties)
    expect(m.name).toBe('lpc2025-seed-437')
    expect(m.shards).toEqual([
      { index: 1, count: 2, name: 'lpc2025-seed-437-shard-1-of-2' },
      { index: 2, count: 2, name: 'lpc2025-seed-437-shard-2-of-2' },
    ])
    for (const f of ['summary.md', 'summary.json', 'junit.xml']) expect(existsSync(join(out, f))).toBe(true)

    // shards of different campaigns do not merge
    await campaign(['--runs', '50', '--seed', '438', '--shard', '2/2'], join(dir, 'other'), 0)
    const bad = await luv(['merge', join(dir, 's1'), join(dir, 'other'), '--out', join(dir, 'bad')])
    expect(bad.code).toBe(2)
    expect(bad.err).toMatch(/other: seed 438 differs from .*s1's 437: not shards of one campaign/)
    expect(existsSync(join(dir, 'bad'))).toBe(false)
  })

  it('a finding: the merge fails the property, copies the bundles, deduplicated by hash', async () => {
    const dir = tmp('luv-merge-')
    // shrunk to the end (--shrink-budget 1h): block 0's bundle is the same in the whole run and shard 1
    const base = ['--profile', 'rfc-v2', '--properties', 'dma-continuity', '--runs', '50', '--shrink-budget', '1h']
    const whole = await campaign(base, join(dir, 'whole'), 1)
    const s1 = await campaign([...base, '--shard', '1/2'], join(dir, 's1'), 1)
    const s2 = await campaign([...base, '--shard', '2/2'], join(dir, 's2'), 1)
    const out = join(dir, 'merged')
    // the same shard twice too: its blocks and bundles count once
    const r = await luv(['merge', join(dir, 's1'), join(dir, 's2'), join(dir, 's1'), '--out', out])
    expect(r.code).toBe(1)
    const m = summaryOf(out)
    expect(m.verdict).toBe(whole.verdict)
    expect(m.properties['dma-continuity'].verdict).toBe('fail')
    expect(m.blocks.indices).toBe(whole.blocks.indices)
    expect(m.blocks.count).toBe(whole.blocks.count)
    expect([m.runs, m.steps]).toEqual([s1.runs + s2.runs, s1.steps + s2.steps])
    const hashes = m.failures.map((f: { bundle: string }) => f.bundle)
    expect(new Set(hashes).size).toBe(hashes.length)
    // the unsharded run's bundle is among the merged ones (block 0 is shard 1's)
    expect(hashes).toContain(whole.failures[0].bundle)
    for (const h of hashes) for (const f of BUNDLE_FILES) expect(existsSync(join(out, h, f)), `${h}/${f}`).toBe(true)
    expect(readdirSync(out).filter((e) => e.includes('.tmp'))).toEqual([])
    expect(m.notes.join('\n')).toMatch(/Block 0 is in more than one input/)
  })
})
