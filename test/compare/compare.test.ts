// luv compare end to end: the files it writes, bundles that replay, junit a real XML parser
// accepts, exit codes, the same matrix for the same seed, and SIGINT writing the matrix of
// what finished. Profiles are taken from models/design.ts and properties/findings.ts.

import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { DEFAULT_PROFILE, PROFILE_NAMES } from '../../models/design.ts'
import { FINDINGS } from '../../properties/findings.ts'
import { BUNDLE_FILES } from '../../src/report/bundle.ts'
import { compareLine } from '../../src/compare/progress.ts'
import { luv, readTree, tmp } from '../campaign/helpers.ts'

const LUV = fileURLToPath(new URL('../../bin/luv.mjs', import.meta.url))
const inline = { env: { LUV_CAMPAIGN_INLINE: '1' } }
/** a profile with a recorded finding (properties/findings.ts) */
const broken = PROFILE_NAMES.find((p) => Object.keys(FINDINGS[p]).length > 0)!
const matrixOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'design-matrix.json'), 'utf8'))

/** Timing blanked: what must be equal between two runs of one comparison. */
function masked(name: string, text: string): string {
  if (name.endsWith('.json')) {
    const j = JSON.parse(text)
    if ('seconds' in j) j.seconds = 0
    if ('timing' in j) j.timing = {}
    return JSON.stringify(j, null, 2)
  }
  if (name.endsWith('junit.xml')) return text.replace(/ time="[^"]*"/g, ' time="0"').replace(/ timestamp="[^"]*"/g, ' timestamp=""')
  if (name.endsWith('.md') && text.includes('## Timing')) return text.slice(0, text.indexOf('## Timing'))
  return text
}

describe('luv compare', () => {
  it('a design that keeps every property: exit 0, the matrix, junit and its campaign report', async () => {
    const out = join(tmp('luv-compare-'), 'm')
    const r = await luv(['compare', '--profiles', DEFAULT_PROFILE, '--runs', '25', '--impl', 'model', '--out', out], inline)
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/PASS: 1 of 1 designs keep every property/)
    expect(readdirSync(out).sort()).toEqual(['design-matrix.json', 'design-matrix.md', 'junit.xml', DEFAULT_PROFILE].sort())
    const m = matrixOf(out)
    expect(m.verdict).toBe('pass')
    expect(m.rows).toHaveLength(1)
    for (const c of Object.values(m.rows[0].cells) as { verdict: string; runs: number }[]) expect(c).toMatchObject({ verdict: 'holds', runs: 25 })
    expect(m.rows[0].scenarios.count).toBeGreaterThan(0)
    expect(existsSync(join(out, DEFAULT_PROFILE, 'summary.json'))).toBe(true)
    expect(readFileSync(join(out, 'design-matrix.md'), 'utf8')).toMatch(new RegExp(`\\| \`${DEFAULT_PROFILE}\` \\| holds \\(25, [\\d,]+\\) \\|`))
  })

  it(`a breaking design (${broken}): exit 1, each breaking cell links a bundle that replays, same seed → same files`, async () => {
    const out = join(tmp('luv-compare-'), 'm')
    const argv = ['compare', '--profiles', `${DEFAULT_PROFILE},${broken}`, '--runs', '25', '--impl', 'model', '--out', out]
    const r = await luv(argv, inline)
    expect(r.code).toBe(1)
    const m = matrixOf(out)
    const row = m.rows.find((x: { label: string }) => x.label === broken)
    const md = readFileSync(join(out, 'design-matrix.md'), 'utf8')
    for (const p of Object.keys(FINDINGS[broken])) {
      const c = row.cells[p]
      expect(c.verdict).toBe('breaks')
      expect(c.explanation).toMatch(/ at step \d+/)
      for (const f of BUNDLE_FILES) expect(existsSync(join(out, c.bundle, f)), `${c.bundle}/${f}`).toBe(true)
      expect(md).toContain(`(${c.bundle}/report.md)`)
      expect(md).toContain(c.explanation)
      // the bundle replays without fast-check and reproduces the cell's property
      const rep = await luv(['replay', join(out, c.bundle)])
      // (a step can break several properties at once: the cell's is among that step's violations)
      expect(rep.out).toMatch(new RegExp(`REPRODUCED: [a-z-]+ at step ${c.step}\\b`))
      expect(rep.out).toMatch(new RegExp(`^ +!! ${p}: `, 'm'))
    }
    // what changed between the two versions
    expect(m.versions).toHaveLength(1)
    expect(m.versions[0].appear.map((x: { property: string }) => x.property).sort()).toEqual(Object.keys(row.cells).filter((p) => row.cells[p].verdict === 'breaks').sort())
    expect(md).toMatch(new RegExp(`\\*\\*${DEFAULT_PROFILE} → ${broken}\\*\\* — From`))

    // junit: a real XML parser accepts it; one failure per breaking cell
    const junit = readFileSync(join(out, 'junit.xml'), 'utf8')
    const failing = m.rows.flatMap((x: { cells: Record<string, { verdict: string }> }) => Object.values(x.cells)).filter((c: { verdict: string }) => c.verdict === 'breaks').length
    expect(junit.match(/<failure /g)?.length).toBe(failing)
    expect(junit).toMatch(new RegExp(`<testsuites name="luv compare [^"]+" tests="${m.rows.length * m.properties.length}" failures="${failing}"`))
    execFileSync('xmllint', ['--noout', join(out, 'junit.xml')])

    // the same command again: the same files, timing aside
    const before = readTree(out)
    expect((await luv(argv, inline)).code).toBe(1)
    const after = readTree(out)
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort())
    for (const [name, text] of Object.entries(before)) expect(masked(name, after[name]), name).toBe(masked(name, text))
  })

  it('SIGINT: no new designs; the matrix of what finished is written', async () => {
    const out = join(tmp('luv-compare-signal-'), 'm')
    // enough runs that the comparison outlasts the first progress lines even on a quiet machine
    const child = spawn(process.execPath, [LUV, 'compare', '--runs', '400', '--impl', 'model', '--workers', '1', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    // a progress line (every 5 s when not a terminal) that counts a finished design
    const exited = new Promise<number | null>((r) => child.once('exit', r))
    const early = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((resolve) => {
        const t = setInterval(() => {
          if (/cells [1-9]\d*\//.test(stderr)) {
            clearInterval(t)
            resolve(false)
          }
        }, 100)
        void exited.then(() => clearInterval(t))
      }),
    ])
    expect(early, `the comparison ended before it could be interrupted:\n${stderr}`).toBe(false)
    child.kill('SIGINT')
    const code = await exited
    expect(stderr).toContain('luv compare: SIGINT: no new designs')
    const m = matrixOf(out)
    expect(m.interrupted).toBe(true)
    const statuses = m.rows.map((r: { status: string }) => r.status)
    expect(statuses.filter((s: string) => s === 'done').length).toBeGreaterThan(0)
    expect(statuses).toContain('not-run')
    expect(m.notes.join('\n')).toMatch(/Interrupted \(SIGINT\/SIGTERM\)/)
    expect(readFileSync(join(out, 'design-matrix.md'), 'utf8')).toMatch(/\(not run\)/)
    expect(stdout).toMatch(/\(interrupted\)/)
    expect([0, 1]).toContain(code)
  })

  it('--total: no design starts after the total budget; those are listed as not run', async () => {
    const out = join(tmp('luv-compare-'), 'm')
    const r = await luv(['compare', '--total', '1ms', '--runs', '25', '--impl', 'model', '--out', out], inline)
    expect(r.code).toBe(0)
    const m = matrixOf(out)
    expect(m.rows.length).toBeGreaterThan(1)
    // the first design may have started within the millisecond; no other one did
    for (const row of m.rows.slice(1)) expect(row).toMatchObject({ status: 'not-run', reason: 'total-budget' })
    if (m.rows[0].status !== 'done') expect(m.rows[0].reason).toBe('total-budget')
    expect(m.notes.join('\n')).toMatch(/The total budget \(--total\) ran out/)
    expect(r.out).toMatch(new RegExp(`PASS: [01] of ${m.rows.length} designs keep every property \\(${m.rows.length - 1 + (m.rows[0].status === 'not-run' ? 1 : 0)} not run`))
  })

  it('progress line: cells done, the cells running, findings so far', () => {
    const line = compareLine(
      {
        startedAt: 0,
        cellsTotal: 17,
        cellsDone: 3,
        running: [{ label: 'p a=b', live: { startedAt: 0, runs: 75, steps: 3000, kexecWithPreservedDma: 0, fullRecovery: 0, failures: 0, blocksDone: 3 } }],
        findings: 2,
        runs: 675,
        steps: 30_000,
        runsPerCell: 200,
      },
      5000,
    )
    expect(line).toBe('[   5.0s] cells 3/17, running: p a=b (75/200 runs), 2 findings, 675 runs, 30,000 steps')
  })
})
