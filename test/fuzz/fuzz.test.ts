// The input contract under fuzzing, small budget (npm test): every kind of file luv reads,
// mutated, through the real CLI. The longer run is `npm run fuzz` (bench/fuzz.ts).

import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { KINDS, MAX_MESSAGE, fuzzKind, runLuv, violation } from './harness.ts'
import { makeSeeds, type Seeds } from './seeds.ts'

const RUNS = Number(process.env.LUV_FUZZ_RUNS ?? 40)
let seeds: Seeds
const root = mkdtempSync(join(tmpdir(), 'luv-fuzz-'))

beforeAll(async () => {
  seeds = await makeSeeds(join(root, 'seeds'))
})

describe('fuzz: malformed inputs meet the contract (exit 2, located bounded message, nothing written, no stack)', () => {
  it.each(KINDS)('%s files', async (kind) => {
    const stats = await fuzzKind(kind, seeds, { numRuns: RUNS, seed: 0x1010 + KINDS.indexOf(kind), root })
    expect(stats.inputs).toBe(RUNS)
    // most mutations are caught as bad input; a few leave a valid file (that runs: 0 or 1)
    expect(stats.exits[2] ?? 0).toBeGreaterThan(RUNS / 2)
  }, 60_000)

  it('hostile command lines: exit 2 with one bounded, escaped line per problem, never a stack', async () => {
    const token = fc.oneof(
      fc.constantFrom('--profile', '--set', '--impl', '--defect', '--seed', '--path', '--platform', '--properties', '--out', '--quiet', '-q', '--help', '--', '-', '--json'),
      fc.constantFrom('toString', '__proto__', 'constructor=x', '__proto__=x', 'ownership=', '=x', 'both', 'model', '\u001b[2J', 'x'.repeat(5000), '', ' ', '-1', '99999999999999999999', '0x', '1:2:x', '/dev/zero', '/nonexistent/x.json'),
      fc.string({ maxLength: 12 }),
    )
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('run', 'replay', 'merge', 'lint-scenarios', 'defects', 'help', 'toString', '--version'), fc.array(token, { maxLength: 6 }), async (cmd, args) => {
        const r = await runLuv([cmd, ...args])
        const v = violation(r, { names: '' })
        if (v) throw new Error(`${v}\nargv: ${JSON.stringify([cmd, ...args])}\nstderr: ${r.err.slice(0, 800)}`)
        if (r.code === 2) expect(r.err.length).toBeLessThan(MAX_MESSAGE)
      }),
      { numRuns: RUNS * 3, seed: 0x1010 },
    )
  }, 60_000)

  it('the contract check itself catches what it must (a seeded breach of each clause)', () => {
    const ok = { code: 2, out: '', err: 'luv run: /f.json: steps[0]: bad\n', ms: 1 }
    expect(violation(ok, { names: '/f.json', located: true })).toBeUndefined()
    expect(violation({ ...ok, err: 'TypeError: x\n    at foo (/a.ts:1:2)\n' }, { names: '/f.json' })).toMatch(/stack trace/)
    expect(violation({ ...ok, err: 'luv run: /f.json: ' + 'x'.repeat(4000) + '\n' }, { names: '/f.json' })).toMatch(/bounded/)
    expect(violation({ ...ok, err: 'luv run: something else\n' }, { names: '/f.json' })).toMatch(/does not name/)
    expect(violation({ ...ok, out: 'scenario \u001b[2J' }, { names: '/f.json' })).toMatch(/control character/)
    expect(violation({ ...ok, err: 'luv run: /f.json\n' }, { names: '/f.json', located: true })).toMatch(/where or what/)
    expect(violation({ ...ok, code: 3 }, { names: '/f.json' })).toMatch(/exit 3/)
  })
})
