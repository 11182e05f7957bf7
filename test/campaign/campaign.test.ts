// luv campaign end to end (impl model, so it does not depend on the kernel implementation):
// the report files and their verdicts, a design finding's bundle and its replays, determinism
// across runs and worker counts.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BUNDLE_FILES } from '../../src/report/bundle.ts'
import { luv, maskTiming, readTree, summaryOf, tmp } from './helpers.ts'

const lastLine = (s: string) => s.trimEnd().split('\n').pop()

describe('luv campaign', () => {
  it('a passing campaign writes summary.md, summary.json and junit.xml with the verdict', async () => {
    const out = join(tmp(), 'report')
    // an earlier report's bundle in the same folder goes; anything else stays
    mkdirSync(join(out, '0123456789ab'), { recursive: true })
    writeFileSync(join(out, '0123456789ab', 'scenario.json'), '{}')
    mkdirSync(join(out, 'notes'))
    const r = await luv(['campaign', '--impl', 'model', '--runs', '50', '--workers', '1', '--seed', '437', '--out', out])
    expect(r.err).not.toMatch(/luv campaign:/)
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^luv campaign lpc2025-seed-437: seed 437 \(0x1b5\)/)
    expect(r.out).toMatch(/^PASS: all 6 properties hold on lpc2025: 50 runs, .* seed 437$/m)
    expect(lastLine(r.out)).toBe('6 passed, 0 failed')
    const s = summaryOf(out)
    expect(s).toMatchObject({ verdict: 'pass', seed: 437, runs: 50, interrupted: false, impl: 'model', failures: [], shard: null })
    expect(s.steps).toBeGreaterThan(0)
    expect(s.design).toMatchObject({ profile: 'lpc2025', overrides: {} })
    expect(Object.keys(s.properties)).toEqual(['dma-continuity', 'dma-safety', 'ownership', 'isolation', 'atomicity', 'recoverability'])
    for (const p of Object.values(s.properties) as { verdict: string; blocks: number }[]) expect(p).toMatchObject({ verdict: 'pass', blocks: 2 })
    expect(s.blocks).toMatchObject({ count: 2, indices: '0,1', runsPerBlock: 25 })
    expect(s.reach.runs).toBe(50)
    expect(typeof s.seconds).toBe('number')
    expect(s.versions.luv).toBeDefined()
    const md = readFileSync(join(out, 'summary.md'), 'utf8')
    expect(md).toMatch(/^# luv campaign `lpc2025-seed-437`: PASS/)
    expect(md).toContain('| atomicity | pass | 2 | 50 | — |')
    expect(md).toContain('conformance was not checked')
    const xml = readFileSync(join(out, 'junit.xml'), 'utf8')
    expect(xml.match(/<testcase /g)).toHaveLength(6)
    expect(xml).toContain('failures="0"')
    expect(readdirSync(out).sort()).toEqual(['junit.xml', 'notes', 'summary.json', 'summary.md'])
  })

  it('a design finding (rfc-v2 breaks dma-continuity): a bundle with all five files, replayable', async () => {
    const out = join(tmp(), 'report')
    const r = await luv(['campaign', '--impl', 'model', '--profile', 'rfc-v2', '--properties', 'dma-continuity,isolation', '--runs', '50', '--workers', '1', '--shrink-budget', '1h', '--out', out])
    expect(r.code).toBe(1)
    expect(lastLine(r.out)).toBe('1 passed, 1 failed')
    expect(r.out).toMatch(/^FAIL: 1 of 2 properties failed on rfc-v2: /m)
    const s = summaryOf(out)
    expect(s.verdict).toBe('fail')
    expect(s.properties['dma-continuity']).toMatchObject({ verdict: 'fail', knownFinding: expect.any(String) })
    expect(s.properties.isolation.verdict).toBe('pass')
    expect(s.failures).toHaveLength(1)
    const f = s.failures[0]
    expect(f).toMatchObject({ property: 'dma-continuity', title: expect.stringMatching(/^dma-continuity: /), blocks: [0] })
    // shrunk to the end within --shrink-budget 1h (issue 12)
    expect(f.shrink).toMatchObject({ budgetSpent: false, budgetMs: 3_600_000, finalLength: f.divergenceIndex + 1 })
    expect(f.shrink.tried).toBeGreaterThan(f.shrink.kept)
    // fast-check proposes some candidates twice: a repeat of one that passed is not run again
    expect(f.shrink.skipped).toBeGreaterThan(0)
    expect(f.bundle).toMatch(/^[0-9a-f]{12}$/)
    const bundle = join(out, f.bundle)
    for (const file of BUNDLE_FILES) expect(existsSync(join(bundle, file)), file).toBe(true)
    // block 0 failed it: later blocks no longer check it
    expect(s.blocks.list[1].properties).toEqual(['isolation'])
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toContain(`[${f.bundle}](${f.bundle}/report.md)`)
    const xml = readFileSync(join(out, 'junit.xml'), 'utf8')
    // paths relative to the report folder (junit.xml sits in it), never absolute
    expect(xml).toMatch(new RegExp(`<failure message="[^"]*\\(bundle ${f.bundle}/\\)" type="dma-continuity">`))
    expect(xml).not.toContain(out)
    expect(xml).toContain(f.title.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'))
    // the printed trace marks the diverging step, numbered as scenario.json's steps (0-based)
    const marked = Number(/^! \[(\d+)\] KEXEC\(\) = 0$/m.exec(r.out)?.[1])
    const steps = JSON.parse(readFileSync(join(bundle, 'scenario.json'), 'utf8')).steps
    expect(steps[marked].op).toBe('KEXEC')
    expect(marked).toBe(steps.length - 1)

    // data replay: the bundle, its scenario.json, its trace (no fast-check)
    // (a bare scenario.json records no property: nothing to compare with)
    for (const [target, recorded] of [[bundle, true], [join(bundle, 'scenario.json'), false], [join(bundle, 'trace.itf.json'), true]] as const) {
      const rr = await luv(['replay', target, '--impl', 'model'])
      expect(rr.code, rr.out + rr.err).toBe(1)
      expect(rr.out).toMatch(recorded ? /^REPRODUCED: dma-continuity at step (\d+) \(recorded: dma-continuity at step \1\)$/m : /^REPRODUCED: dma-continuity at step \d+$/m)
    }
    // the same trace on the talk's design (hitless replace) does not fail
    const fixed = await luv(['replay', bundle, '--impl', 'model', '--profile', 'lpc2025'])
    expect(fixed.code).toBe(0)
    expect(fixed.out).toMatch(/^NOT REPRODUCED/m)

    // fast-check replay: the command summary.json gives, as a user would paste it
    const argv = f.replay.fastCheck.split(' ').slice(1)
    const fc = await luv(argv)
    expect(fc.code, fc.out + fc.err).toBe(1)
    expect(fc.out).toMatch(new RegExp(`^REPRODUCED: dma-continuity at step ${marked}$`, 'm'))
    expect(fc.out).not.toContain('different path')
  })

  it('is deterministic: same seed and --runs give the same files (timing aside), on 1 or 2 workers', async () => {
    const out = join(tmp(), 'report')
    const argv = ['campaign', '--impl', 'model', '--profile', 'rfc-v2', '--properties', 'dma-continuity,dma-safety,isolation', '--runs', '100', '--shrink-budget', '1h', '--out', out]
    const runs: Record<string, string>[] = []
    // two workers, then one: the same files both times proves both claims (same seed -> same
    // bytes, and the report does not depend on the worker count); each campaign shrinks a finding
    for (const workers of ['2', '1']) {
      rmSync(out, { recursive: true, force: true })
      const r = await luv([...argv, '--workers', workers])
      expect(r.code).toBe(1)
      runs.push(readTree(out))
    }
    const masked = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, maskTiming(k, v)]))
    expect(Object.keys(runs[0]).sort()).toEqual(Object.keys(runs[1]).sort())
    expect(Object.keys(runs[0]).filter((k) => k.endsWith('.tmp'))).toEqual([])
    // same verdict and block set, and in fact the same report
    const [two, one] = [JSON.parse(runs[0]['summary.json']), JSON.parse(runs[1]['summary.json'])]
    expect(one.verdict).toBe(two.verdict)
    expect(one.blocks.indices).toBe(two.blocks.indices)
    expect(one.blocks.list).toEqual(two.blocks.list)
    expect(masked(runs[1])).toEqual(masked(runs[0]))
    // the timing fields are the only ones masked, and they do differ in kind only
    expect(two.timing.workers).toBe(2)
    expect(one.timing.workers).toBe(1)
  }, 300_000)
})
