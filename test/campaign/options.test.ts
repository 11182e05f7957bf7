// Bad usage and bad input: one line naming what is wrong, exit 2, nothing written.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { blockProfileIndex, blockSeed, compactRanges, planBlocks } from '../../src/campaign/blocks.ts'
import { PROFILE_NAMES } from '../../models/design.ts'
import { InputError } from '../../src/campaign/errors.ts'
import { defaultName, parseDuration, parseSeed, parseShard, resolveCampaignOptions } from '../../src/campaign/options.ts'
import { luv, tmp } from './helpers.ts'

const dir = tmp()
const platformFile = (name: string, content: string) => {
  const p = join(dir, name)
  writeFileSync(p, content)
  return p
}
const badPlatform = platformFile('bad-platform.json', JSON.stringify({ memoryPages: 64, units: [{ name: 'dmar0', dids: 2 }], devices: [] }))
const badUnit = platformFile('bad-unit.json', JSON.stringify({ memoryPages: 64, units: [{ name: 'dmar0', dids: 8 }], devices: [{ bdf: '0000:01:00.0', unit: 'dmar9' }] }))
const notJson = platformFile('not-json.json', '{ memoryPages: ')

describe('luv campaign: bad usage and bad input', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown flag', ['--frobnicate'], /unknown option '--frobnicate'/],
    ['a positional argument', ['extra'], /unexpected argument 'extra'/],
    ['an unknown profile', ['--profile', 'rfc-v9'], /--profile rfc-v9: unknown profile 'rfc-v9' \(known: lpc2025, rfc-v2, phase1, v3\)/],
    ['an unknown axis', ['--set', 'nosuch=x'], /--set nosuch=x: unknown design axis 'nosuch'/],
    ['an unknown option', ['--set', 'ownership=anyone'], /--set ownership=anyone: unknown option 'anyone' for axis 'ownership'/],
    ['a --set without =', ['--set', 'ownership'], /--set ownership: expected AXIS=OPTION/],
    ['an unknown platform', ['--platform', 'huge'], /--platform huge: not one of default, small, tiny, large, mixed, and not a readable platform file \(no such file\)/],
    ['a platform file that is not JSON', ['--platform', notJson], /--platform .*not-json\.json: invalid JSON/],
    ['a platform file the schema refuses', ['--platform', badPlatform], /--platform .*bad-platform\.json: units\[0\]\.dids: expected an integer in 3\.\.65536/],
    ['a platform naming a unit it lacks', ['--platform', badUnit], /--platform .*bad-unit\.json: devices\[0\]\.unit: no unit named 'dmar9'/],
    ['a malformed --shard', ['--shard', '3/2'], /--shard 3\/2: expected I\/N with 1 ≤ I ≤ N/],
    ['a --shard of zero', ['--shard', '0/2'], /--shard 0\/2/],
    ['a malformed --time', ['--time', '10 minutes'], /--time 10 minutes: expected a positive duration like 60s/],
    ['a zero --time', ['--time', '0s'], /--time 0s: expected a positive duration/],
    ['a malformed --runs', ['--runs', '1e3'], /--runs 1e3: expected a positive integer/],
    ['a zero --runs', ['--runs', '0'], /--runs 0: expected a positive integer/],
    ['a malformed --seed', ['--seed', 'abc'], /--seed abc: expected an integer/],
    ['a malformed --workers', ['--workers', '0'], /--workers 0: expected a positive integer/],
    ['an unknown property', ['--properties', 'dma-continuity,liveness'], /--properties: unknown property 'liveness'/],
    ['conformance without the kernel', ['--impl', 'model', '--properties', 'conformance'], /conformance compares the kernel with the model; it needs --impl both/],
    ['an unknown --impl', ['--impl', 'fpga'], /--impl fpga: unknown implementation \(known: model, kernel, both\)/],
    ['a defect on the model', ['--impl', 'model', '--defect', 'x'], /--defect seeds the kernel implementation/],
    // issue 12/13: --shrink-budget, --profiles
    ['a malformed --shrink-budget', ['--shrink-budget', 'abc'], /--shrink-budget abc: expected a positive duration like 60s/],
    ['a zero --shrink-budget', ['--shrink-budget', '0s'], /--shrink-budget 0s: expected a positive duration/],
    ['an unknown profile in --profiles', ['--profiles', 'lpc2025,nosuch'], /--profiles: unknown profile 'nosuch' \(known: lpc2025, rfc-v2, phase1, v3, or all\)/],
    ['an empty --profiles', ['--profiles', ','], /--profiles ,: expected a comma-separated list of profiles, or all/],
    ['--profile with --profiles', ['--profile', 'v3', '--profiles', 'all'], /--profile and --profiles: give one/],
    ['a --set no drawn profile has', ['--profiles', 'all', '--set', 'nosuch=x'], /--set nosuch=x: unknown design axis 'nosuch'/],
  ]
  it.each(cases)('%s: exit 2, one line, nothing written', async (_what, argv, message) => {
    const out = join(dir, 'never')
    const r = await luv(['campaign', ...argv, '--out', out])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(message)
    expect(r.err).toMatch(/^luv (campaign: )?[^\n]+\n$/)
    expect(r.out).toBe('')
    expect(existsSync(out)).toBe(false)
  })

  it('an --out that is a file: exit 2', async () => {
    const file = platformFile('a-file', 'x')
    const r = await luv(['campaign', '--impl', 'model', '--runs', '1', '--out', file])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/--out .*a-file: exists and is not a directory/)
  })
})

describe('luv merge / replay: bad input', () => {
  it('merge: an unreadable folder, a folder without summary.json, no --out, a bad summary', async () => {
    const out = join(dir, 'merged')
    let r = await luv(['merge', join(dir, 'missing'), '--out', out])
    expect([r.code, r.err]).toEqual([2, `luv merge: ${join(dir, 'missing')}: no such directory\n`])
    const empty = join(dir, 'empty')
    mkdirSync(empty)
    r = await luv(['merge', empty, '--out', out])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/summary\.json: cannot read \(no summary\.json: not a campaign report folder\)/)
    r = await luv(['merge', empty])
    expect([r.code, r.err]).toEqual([2, 'luv merge: --out DIR is required\n'])
    const bad = join(dir, 'bad-summary')
    mkdirSync(bad)
    writeFileSync(join(bad, 'summary.json'), '{"format": "something-else"}')
    r = await luv(['merge', bad, '--out', out])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/not a luv campaign summary/)
    expect(existsSync(out)).toBe(false)
  })

  it('replay: a missing path, a folder that is not a bundle, malformed scenario and trace', async () => {
    let r = await luv(['replay', join(dir, 'nope')])
    expect([r.code, r.err]).toEqual([2, `luv replay: ${join(dir, 'nope')}: no such file or directory\n`])
    const folder = join(dir, 'not-a-bundle')
    mkdirSync(folder)
    r = await luv(['replay', folder])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/not a bundle folder \(no scenario\.json or trace\.itf\.json in it\)/)
    const scen = platformFile('bad-scenario.json', JSON.stringify({ name: 'x', steps: [{ op: 'IOMMU_DESTROY', args: { iommufd: 3 } }] }))
    r = await luv(['replay', scen, '--impl', 'model'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/bad-scenario\.json: steps\[0\]\.args\.id: missing/)
    const trace = platformFile('bad.itf.json', JSON.stringify({ vars: ['mbt::actionTaken', 'mbt::nondetPicks'], states: [{ 'mbt::actionTaken': 'init', 'mbt::nondetPicks': {} }, { 'mbt::actionTaken': 'IOCTL_NOPE', 'mbt::nondetPicks': {} }] }))
    r = await luv(['replay', trace, '--impl', 'model'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/bad\.itf\.json: states\[1\] \(step 0\): mbt::actionTaken: unknown op "IOCTL_NOPE"/)
    r = await luv(['replay', platformFile('garbage.json', 'nope')])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/garbage\.json: invalid JSON/)
    r = await luv(['replay', '--seed', '1'])
    expect([r.code, r.err]).toEqual([2, 'luv replay: --seed and --path go together (see luv replay --help)\n'])
    r = await luv(['replay', '--seed', '1', '--path', 'x:y'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/--path x:y: expected fast-check's path/)
  })
})

describe('campaign options', () => {
  it('parses durations, seeds and shards', () => {
    expect(parseDuration('60s')).toBe(60_000)
    expect(parseDuration('1.5m')).toBe(90_000)
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('2')).toBe(2000)
    expect(parseSeed('0x1b5')).toBe(437)
    expect(() => parseSeed('-3')).toThrow(InputError)
    expect(parseSeed('-3', '--seed', true)).toBe(-3)
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 })
  })

  it('names the report after profile, overrides, seed and shard', () => {
    expect(defaultName({ profile: 'lpc2025', overrides: {}, seed: 437 })).toBe('lpc2025-seed-437')
    const o = resolveCampaignOptions({ impl: 'model', runs: '10', profile: 'rfc-v2', set: ['ownership=strict', 'replaceSwap=teardown-then-setup'], shard: '1/2' })
    // an override equal to the profile's value is no override
    expect(o.overrides).toEqual({ ownership: 'strict' })
    expect(o.out).toBe('reports/rfc-v2-ownership-strict-seed-437-shard-1-of-2')
    expect(o.time).toBeUndefined()
    expect(resolveCampaignOptions({ impl: 'model' }).time).toBe('60s')
  })

  it('shards partition the blocks; seeds depend on (seed, block) only', () => {
    const all = [...planBlocks({ seed: 9, runs: 260 })]
    expect(all.map((b) => b.numRuns)).toEqual([25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 10])
    const shards = [1, 2, 3].map((i) => [...planBlocks({ seed: 9, runs: 260, shard: { index: i, count: 3 } })])
    expect(shards.flat().sort((a, b) => a.index - b.index)).toEqual(all)
    expect(shards[1].map((b) => b.index)).toEqual([1, 4, 7, 10])
    expect(blockSeed(9, 4)).toBe(all[4].seed)
    expect(new Set(all.map((b) => b.seed)).size).toBe(all.length)
    expect(compactRanges([0, 1, 2, 3, 5, 7, 8, 9])).toBe('0-3,5,7-9')
    expect(compactRanges([0, 2, 4, 6])).toBe('0,2,4,6')
  })
})

// issue 12/13: the shrink budget and the profiles drawn per block, as options
describe('campaign options: --shrink-budget, --profiles, --paranoid', () => {
  const base = { runs: '100', out: join(dir, 'never') }
  it('--shrink-budget defaults to 30s and parses like --time', () => {
    expect(resolveCampaignOptions(base)).toMatchObject({ shrinkBudgetMs: 30_000, shrinkBudget: '30s' })
    expect(resolveCampaignOptions({ ...base, 'shrink-budget': '2m' })).toMatchObject({ shrinkBudgetMs: 120_000, shrinkBudget: '2m' })
    expect(() => resolveCampaignOptions({ ...base, 'shrink-budget': '-1s' })).toThrow(InputError)
  })
  it('--profiles all reads every profile of models/design.ts, each with the --set overrides', () => {
    const o = resolveCampaignOptions({ ...base, profiles: 'all', set: ['luoCapacity=growable'] })
    expect(o.profiles!.map((p) => p.profile)).toEqual(PROFILE_NAMES)
    // the override applies to every drawn profile, also where the first profile already has it
    for (const p of o.profiles!) expect(p.design.luoCapacity).toBe('growable')
    expect(o.profile).toBe(PROFILE_NAMES[0])
    expect(o.name).toBe(`profiles-${PROFILE_NAMES.join('-')}-luoCapacity-growable-seed-437`)
  })
  it('one profile in --profiles is --profile P; --profile alone draws nothing', () => {
    expect(resolveCampaignOptions({ ...base, profiles: 'v3' })).toMatchObject({ profile: 'v3' })
    expect(resolveCampaignOptions({ ...base, profiles: 'v3' }).profiles).toBeUndefined()
    expect(resolveCampaignOptions({ ...base, profile: 'rfc-v2' }).profiles).toBeUndefined()
    expect([...planBlocks({ seed: 437, runs: 100 })].every((b) => b.profile === undefined)).toBe(true)
  })
  it('each block draws its profile from its seed: deterministic, per block, every profile drawn', () => {
    const names = ['lpc2025', 'rfc-v2', 'phase1', 'v3']
    const a = [...planBlocks({ seed: 437, runs: 2500, profiles: names })]
    const b = [...planBlocks({ seed: 437, runs: 2500, profiles: names })]
    expect(a.map((x) => x.profile)).toEqual(b.map((x) => x.profile))
    for (const n of names) expect(a.filter((x) => x.profile === n).length).toBeGreaterThan(10)
    // a shard draws the same profile for a block as the whole campaign
    const shard = [...planBlocks({ seed: 437, runs: 2500, profiles: names, shard: { index: 2, count: 3 } })]
    for (const x of shard) expect(x.profile).toBe(a[x.index].profile)
    expect(blockProfileIndex(a[7].seed, 4)).toBe(names.indexOf(a[7].profile!))
  })
  it('--paranoid is passed on', () => {
    expect(resolveCampaignOptions({ ...base, paranoid: true }).paranoid).toBe(true)
    expect(resolveCampaignOptions(base).paranoid).toBeUndefined()
  })
})
