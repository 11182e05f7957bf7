// Which designs a comparison runs, read from models/design.ts at run time; design files; bad
// usage and bad input (one line naming what is wrong and where, exit 2, nothing written).
// Nothing here names a profile or an axis: they are taken from models/design.ts.

import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { AXES, AXIS_NAMES, DEFAULT_PROFILE, PROFILES, PROFILE_NAMES, type Axis } from '../../models/design.ts'
import { InputError } from '../../src/campaign/errors.ts'
import { MAX_CROSS } from '../../src/compare/designs.ts'
import { loadDesignFile, parseDesignFile } from '../../src/compare/design-file.ts'
import { resolveCompareOptions } from '../../src/compare/options.ts'
import { luv, tmp } from '../campaign/helpers.ts'

const dir = tmp('luv-compare-opts-')
const file = (name: string, content: unknown) => {
  const p = join(dir, name)
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  return p
}
const base = PROFILES[DEFAULT_PROFILE].design
/** an axis with an option the default profile does not take, and that option */
const [axis, other] = (() => {
  for (const a of AXIS_NAMES) {
    const o = (AXES[a] as readonly string[]).find((x) => x !== base[a])
    if (o) return [a, o] as [Axis, string]
  }
  throw new Error('no axis has a second option')
})()
const nonDefaultOptions = AXIS_NAMES.reduce((n, a) => n + AXES[a].length - 1, 0)

describe('luv compare: the designs of a comparison', () => {
  it('by default: the default profile, then every other option of every axis, one at a time', () => {
    const o = resolveCompareOptions({ out: join(dir, 'x') })
    expect(o.rows.length).toBe(1 + nonDefaultOptions)
    expect(o.rows[0]).toMatchObject({ kind: 'base', profile: DEFAULT_PROFILE, overrides: {} })
    expect(o.axes).toEqual(AXIS_NAMES)
    for (const r of o.rows.slice(1)) {
      // exactly one axis differs from the base, the one the row says it varies
      const diff = AXIS_NAMES.filter((a) => r.design[a] !== base[a])
      expect(diff).toEqual([r.varied!.axis])
      expect(r.design[r.varied!.axis]).toBe(r.varied!.option)
      expect(r.label).toBe(`${DEFAULT_PROFILE} ${r.varied!.axis}=${r.varied!.option}`)
    }
    expect(new Set(o.rows.map((r) => r.id)).size).toBe(o.rows.length)
    expect(o.command).toBe('luv compare --runs 200 --seed 437')
  })

  it('a base design with --set varies the other axes from it', () => {
    const o = resolveCompareOptions({ set: [`${axis}=${other}`], axes: axis, out: join(dir, 'x') })
    expect(o.rows[0].label).toBe(`${DEFAULT_PROFILE} ${axis}=${other}`)
    // every option of the axis but the base's own, the profile's original included
    expect(o.rows.slice(1).map((r) => r.varied!.option)).toEqual((AXES[axis] as readonly string[]).filter((x) => x !== other))
  })

  it('--cross runs every combination of the axes named, the base once', () => {
    const two = AXIS_NAMES.slice(0, 2)
    const o = resolveCompareOptions({ axes: two.join(','), cross: true, out: join(dir, 'x') })
    expect(o.rows.length).toBe(AXES[two[0]].length * AXES[two[1]].length)
    expect(o.rows.filter((r) => r.kind === 'base')).toHaveLength(1)
    const combos = new Set(o.rows.map((r) => two.map((a) => r.design[a]).join('/')))
    expect(combos.size).toBe(o.rows.length)
  })

  it('--profiles compares whole profiles in the order given; all = models/design.ts order', () => {
    const o = resolveCompareOptions({ profiles: 'all', out: join(dir, 'x') })
    expect(o.rows.map((r) => r.profile)).toEqual(PROFILE_NAMES)
    expect(o.axes).toEqual([])
    const rev = [...PROFILE_NAMES].reverse().join(',')
    expect(resolveCompareOptions({ profiles: rev, out: join(dir, 'x') }).profiles.join(',')).toBe(rev)
  })

  it('a design file becomes a row of its own, compared with the profiles', () => {
    const p = file('mine.json', { name: 'my-alternative', description: 'the default profile with one axis changed', profile: DEFAULT_PROFILE, axes: { [axis]: other } })
    const o = resolveCompareOptions({ design: [p], profiles: 'all', out: join(dir, 'x') })
    const row = o.rows.find((r) => r.kind === 'file')!
    expect(row).toMatchObject({ label: 'my-alternative', id: 'design-my-alternative', profile: DEFAULT_PROFILE, overrides: { [axis]: other }, source: p })
    expect(o.rows.filter((r) => r.kind === 'profile').length).toBe(PROFILE_NAMES.length)
    // alone, a design file is compared with its own base profile
    const alone = resolveCompareOptions({ design: [p], out: join(dir, 'x') })
    expect(alone.rows.map((r) => [r.kind, r.label])).toEqual([['profile', DEFAULT_PROFILE], ['file', 'my-alternative']])
  })

  it("the README's example design file is valid", () => {
    const f = loadDesignFile(fileURLToPath(new URL('../../docs/designs/strict-claim-at-bind.json', import.meta.url)))
    expect(f.name).toBe('strict-claim-at-bind')
  })
})

describe('luv compare: design files', () => {
  const ok = { name: 'x', description: 'd', profile: DEFAULT_PROFILE, axes: { [axis]: other } }
  const cases: [string, unknown, RegExp][] = [
    ['invalid JSON', '{\n  "name": "x",\n  "profile": }\n', /bad\.json: invalid JSON: Unexpected token/],
    ['invalid JSON with a position', '{\n  "name": "x"\n  "profile": "y" }', /bad\.json: invalid JSON: .* at line 3 column 3/],
    ['not an object', '[1, 2]', /bad\.json: expected a JSON object with name, description, profile and axes/],
    ['a missing name', { ...ok, name: undefined }, /bad\.json: name: missing/],
    ['a bad name', { ...ok, name: 'has spaces' }, /bad\.json: name: expected 1-64 letters/],
    ['an empty description', { ...ok, description: '' }, /bad\.json: description: expected a non-empty description/],
    ['an unknown profile', { ...ok, profile: 'nosuch-v9' }, new RegExp(`bad\\.json: profile: unknown profile 'nosuch-v9' \\(known: ${PROFILE_NAMES.join(', ')}\\)`)],
    ['an unknown axis', { ...ok, axes: { nosuchAxis: 'x' } }, /bad\.json: axes\.nosuchAxis: unknown design axis 'nosuchAxis' \(known: /],
    ['an unknown option', { ...ok, axes: { [axis]: 'nosuch' } }, new RegExp(`bad\\.json: axes\\.${axis}: unknown option 'nosuch' for axis '${axis}'`)],
    ['an option that is not a string', { ...ok, axes: { [axis]: 3 } }, new RegExp(`bad\\.json: axes\\.${axis}: expected one of`)],
    ['an unknown field', { ...ok, colour: 'blue' }, /bad\.json: colour: unknown field 'colour'/],
  ]
  for (const [what, content, re] of cases)
    it(`${what}: exit 2, the file and the field named, nothing written`, async () => {
      const p = file('bad.json', content)
      expect(() => loadDesignFile(p)).toThrow(InputError)
      const out = join(dir, `out-${what.replace(/\W+/g, '-')}`)
      const r = await luv(['compare', '--design', p, '--out', out])
      expect(r.code).toBe(2)
      expect(r.err).toMatch(re)
      expect(r.err.trim().split('\n')).toHaveLength(1)
      expect(existsSync(out)).toBe(false)
    })

  it('a file that does not exist', async () => {
    const r = await luv(['compare', '--design', join(dir, 'nope.json')])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/--design .*nope\.json: cannot read \(no such file\)/)
  })

  it('two design files with the same name', () => {
    const a = file('a.json', ok)
    const b = file('b.json', ok)
    expect(() => resolveCompareOptions({ design: [a, b], out: join(dir, 'x') })).toThrow(/design name 'x' is also the name of .*a\.json/)
  })

  it('a valid file parses to its profile and axes', () => {
    expect(parseDesignFile(ok, 'ok.json')).toEqual({ name: 'x', description: 'd', profile: DEFAULT_PROFILE, axes: { [axis]: other } })
  })
})

describe('luv compare: bad usage', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown flag', ['--frobnicate'], /luv compare: unknown option '--frobnicate'/],
    ['an unknown axis', ['--axes', `${axis},nosuch`], /--axes: unknown design axis 'nosuch'/],
    ['an unknown profile', ['--profiles', 'nosuch'], /--profiles: unknown profile 'nosuch'/],
    ['a profile twice', ['--profiles', `${DEFAULT_PROFILE},${DEFAULT_PROFILE}`], /--profiles: profile '.*' given twice/],
    ['--cross without --axes', ['--cross'], /--cross needs --axes/],
    ['a cross-product too large', ['--axes', 'all', '--cross'], new RegExp(`more than ${MAX_CROSS}`)],
    ['a bad --set', ['--set', `${axis}=nosuch`], new RegExp(`--set ${axis}=nosuch: unknown option 'nosuch'`)],
    ['a bad --runs', ['--runs', '0'], /--runs 0: expected a positive integer/],
    ['a bad --time', ['--time', 'soon'], /--time soon: expected a positive duration/],
    ['a bad --total', ['--total', '0m'], /--total 0m: expected a positive duration/],
    ['a bad --properties', ['--properties', 'nosuch'], /--properties: unknown property 'nosuch'/],
    ['conformance without the kernel', ['--impl', 'model', '--properties', 'conformance'], /conformance .* needs --impl both/],
  ]
  for (const [what, argv, re] of cases)
    it(`${what}: exit 2`, async () => {
      const out = join(dir, 'never')
      const r = await luv(['compare', ...argv, '--out', out])
      expect(r.code).toBe(2)
      expect(r.err).toMatch(re)
      expect(existsSync(out)).toBe(false)
    })

  it('--help prints the usage', async () => {
    const r = await luv(['compare', '--help'])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/usage: luv compare .*--profiles a,b,c\|all/s)
  })
})
