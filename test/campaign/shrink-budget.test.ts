// --shrink-budget (issue 12): shrinking a failure stops when its budget is spent, the smallest
// failing trace found by then is the result, and the bundle and the summary say so.

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveDesign } from '../../models/index.ts'
import { DEFAULT_PLATFORM } from '../../models/platform.ts'
import { runProperty } from '../../properties/run.ts'
import { createExecutor } from '../../src/check/index.ts'
import { luv, summaryOf, tmp } from './helpers.ts'

// rfc-v2 breaks dma-continuity by design (no hitless replace): a finding in the first runs
const design = resolveDesign({ profile: 'rfc-v2' })
const props = new Set(['dma-continuity'] as const)
const run = (shrinkBudgetMs?: number) =>
  runProperty({ platform: DEFAULT_PLATFORM, design, impl: 'model', properties: props, seed: 437, numRuns: 50, ...(shrinkBudgetMs !== undefined && { shrinkBudgetMs }) })

describe('--shrink-budget', () => {
  it('a spent budget keeps a failing trace, no longer than the first one, and says the budget ran out', () => {
    const cut = run(1)
    expect(cut.failure?.violation.property).toBe('dma-continuity')
    const c = cut.failure!.shrink!
    expect(c).toMatchObject({ budgetSpent: true, budgetMs: 1 })
    expect(c.finalLength).toBeLessThanOrEqual(c.originalLength)
    expect(c.finalLength).toBe(cut.failure!.ops.length)
    // cut at once: a handful of candidates, where an unbounded shrink of it tries hundreds
    expect(c.tried).toBeLessThan(20)
    // the cut-short trace still fails the property on a fresh executor
    const exec = createExecutor(DEFAULT_PLATFORM, design, { impl: 'model', properties: props })
    const violations = cut.failure!.ops.flatMap((op) => exec.step(op).violations)
    expect(violations.map((v) => v.property)).toContain('dma-continuity')
    // (an unspent budget: campaign.test.ts, the design finding shrunk with --shrink-budget 1h)
  })

  it('the campaign reports it: summary.json, summary.md, and the bundle report.md', async () => {
    const out = join(tmp(), 'report')
    const r = await luv(['campaign', '--impl', 'model', '--profile', 'rfc-v2', '--properties', 'dma-continuity', '--runs', '25', '--workers', '1', '--shrink-budget', '1ms', '--out', out])
    expect(r.code, r.err).toBe(1)
    const s = summaryOf(out)
    expect(s.shrinkBudget).toBe('1ms')
    const f = s.failures[0]
    expect(f.shrink).toMatchObject({ budgetSpent: true, budgetMs: 1, finalLength: f.divergenceIndex + 1 })
    expect(f.shrink.originalLength).toBeGreaterThanOrEqual(f.shrink.finalLength)
    expect(s.timing.shrink).toEqual([{ bundle: f.bundle, seconds: expect.any(Number), budgetSpent: true }])
    expect(s.notes.join('\n')).toMatch(new RegExp(`Bundle ${f.bundle}: shrinking stopped when the shrink budget \\(--shrink-budget 1ms\\) was spent`))
    const md = readFileSync(join(out, 'summary.md'), 'utf8')
    expect(md).toMatch(/\| shrink budget \| 1ms per failure \|/)
    expect(md).toMatch(new RegExp(`\\| ${f.shrink.originalLength} → ${f.shrink.finalLength} steps, ${f.shrink.tried} tried, \\*\\*budget spent\\*\\* \\|`))
    expect(md).toMatch(new RegExp(`\\| shrink ${f.bundle} \\| [0-9.]+ s \\(budget spent\\) \\|`))
    const report = readFileSync(join(out, f.bundle, 'report.md'), 'utf8')
    expect(report).toMatch(/\| shrink \| \d+ → \d+ steps, \d+ candidates? tried( \(\d+ repeats not re-run\))?, \d+ kept; budget 0\.001 s spent: the smallest failing trace found by then, not a minimal one \|/)
    expect(report).toMatch(/\| shrink time \| [0-9.]+ s \|/)
    // merge keeps the fields
    const merged = join(tmp(), 'merged')
    const m = await luv(['merge', out, '--out', merged])
    expect(m.code, m.err).toBe(1)
    expect(summaryOf(merged).failures[0].shrink).toEqual(f.shrink)
  })
})

// issue 13: --profiles draws each block's profile; the property rule holds per profile
describe('--profiles', () => {
  it('blocks draw their profile; a finding of rfc-v2 does not stop lpc2025 blocks checking the property', async () => {
    const out = join(tmp(), 'report')
    const r = await luv(['campaign', '--impl', 'model', '--profiles', 'lpc2025,rfc-v2', '--properties', 'dma-continuity,isolation', '--runs', '150', '--workers', '1', '--shrink-budget', '1ms', '--out', out])
    expect(r.code, r.err).toBe(1)
    expect(r.out).toMatch(/design drawn per block from lpc2025,rfc-v2/)
    const s = summaryOf(out)
    const list = s.blocks.list as { index: number; profile: string; properties: string[]; failed?: string }[]
    expect(new Set(list.map((b) => b.profile))).toEqual(new Set(['lpc2025', 'rfc-v2']))
    const firstFail = list.find((b) => b.profile === 'rfc-v2' && b.failed === 'dma-continuity')!
    expect(firstFail).toBeDefined()
    // later rfc-v2 blocks no longer check it, later lpc2025 blocks still do
    const later = list.filter((b) => b.index > firstFail.index)
    expect(later.filter((b) => b.profile === 'rfc-v2').every((b) => !b.properties.includes('dma-continuity'))).toBe(true)
    expect(later.filter((b) => b.profile === 'lpc2025').length).toBeGreaterThan(0)
    expect(later.filter((b) => b.profile === 'lpc2025').every((b) => b.properties.includes('dma-continuity'))).toBe(true)
    // per-profile figures
    expect(s.profiles['rfc-v2'].failed).toContain('dma-continuity')
    expect(s.profiles.lpc2025.failed).toEqual([])
    const sum = (p: string, k: 'runs' | 'steps') => list.filter((b) => b.profile === p).reduce((n, b) => n + (b as never as Record<string, number>)[k], 0)
    expect(s.profiles.lpc2025.steps).toBe(sum('lpc2025', 'steps'))
    expect(s.profiles['rfc-v2'].runs).toBe(sum('rfc-v2', 'runs'))
    expect(s.failures.every((f: { profile: string }) => f.profile === 'rfc-v2')).toBe(true)
    expect(s.failures[0].replay.fastCheck).toMatch(/--profile rfc-v2 /)
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toMatch(/## Profiles[\s\S]*\| `rfc-v2` \| \d+ \| [\d,]+ \| [\d,]+ \| dma-continuity \|/)
    // the bundle is rfc-v2's
    expect(readFileSync(join(out, s.failures[0].bundle, 'report.md'), 'utf8')).toMatch(/\| design \| `rfc-v2/)
  })
})
