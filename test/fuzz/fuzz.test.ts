// The input contract under fuzzing, small budget (npm test): every kind of file luv reads,
// mutated, through the real CLI. The longer run is `npm run fuzz` (bench/fuzz.ts).

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KINDS, MAX_MESSAGE, fuzzArgv, fuzzKind, violation } from './harness.ts'
import { makeSeeds, type Seeds } from './seeds.ts'

const RUNS = Number(process.env.LUV_FUZZ_RUNS ?? 40)
let seeds: Seeds
const root = mkdtempSync(join(tmpdir(), 'luv-fuzz-'))

beforeAll(async () => {
  seeds = await makeSeeds(join(root, 'seeds'))
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('fuzz: malformed inputs meet the contract (exit 2, located bounded message, nothing written, no stack)', () => {
  it.each(KINDS)('%s files', async (kind) => {
    const stats = await fuzzKind(kind, seeds, { numRuns: RUNS, seed: 0x1010 + KINDS.indexOf(kind), root })
    expect(stats.inputs).toBe(RUNS)
    // most mutations are caught as bad input; a few leave a valid file (that runs: 0 or 1)
    expect(stats.exits[2] ?? 0).toBeGreaterThan(RUNS / 2)
  }, 60_000)

  it('hostile command lines: exit 2 with one bounded, escaped line per problem, never a stack', async () => {
    const stats = await fuzzArgv({ numRuns: RUNS * 3, seed: 0x1010 })
    expect(stats.inputs).toBe(RUNS * 3)
    expect(stats.maxMessage).toBeLessThan(MAX_MESSAGE)
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
