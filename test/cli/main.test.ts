import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { COMMANDS, main } from '../../src/cli/main.ts'

async function luv(argv: string[]) {
  let out = ''
  let err = ''
  const code = await main(argv, {
    createExecutor: () => {
      throw new Error('no executor in these tests')
    },
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
  })
  return { code, out, err }
}

describe('luv', () => {
  it('--help lists every subcommand and exits 0', async () => {
    const r = await luv(['--help'])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^usage: luv <command>/)
    for (const cmd of ['run', 'campaign', 'replay', 'merge', 'defects', 'profiles', 'compare', 'explore', 'failnth', 'lint-scenarios'])
      expect(r.out).toMatch(new RegExp(`^  ${cmd} +\\S`, 'm'))
    // exactly the commands that exist: every listed one runs (--help exits 0 through it)
    const listed = [...r.out.matchAll(/^  ([a-z-]+) {2,}\S/gm)].map((m) => m[1])
    expect(listed.sort()).toEqual(Object.keys(COMMANDS).sort())
    for (const cmd of listed) expect((await luv([cmd, '--help'])).code).toBe(0)
  })

  it('--version names luv, its git commit, node and fast-check', async () => {
    const r = await luv(['--version'])
    expect(r.code).toBe(0)
    const [l1, l2, l3] = r.out.trimEnd().split('\n')
    expect(l1).toMatch(/^luv \d+\.\d+\.\d+ \(git [0-9a-f]{12}\)$/)
    expect(l2).toBe(`node ${process.version}`)
    expect(l3).toMatch(/^fast-check \d+\.\d+\.\d+$/)
  })

  it('without a command prints usage to stderr and exits 2', async () => {
    const r = await luv([])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^usage: luv <command>/)
  })

  it('<cmd> --help prints that command\'s usage', async () => {
    const run = await luv(['run', '--help'])
    expect(run.code).toBe(0)
    expect(run.out).toMatch(/^usage: luv run FILE\|DIR\.\.\. \[--impl model\|kernel\|both\]/)
    expect(run.out).toContain('--set AXIS=OPT')
    expect((await luv(['help', 'run'])).out).toBe(run.out)
    const campaign = await luv(['campaign', '--help'])
    expect(campaign.code).toBe(0)
    expect(campaign.out).toContain('[--shard I/N]')
  })

  it('every command of DESIGN.md §2.6 is in the table with a handler (none is a placeholder)', () => {
    for (const cmd of ['run', 'campaign', 'replay', 'merge', 'defects', 'profiles', 'compare', 'explore', 'failnth'])
      expect(COMMANDS[cmd]?.handler, cmd).toBeDefined()
  })

  it('a command that is not in the table is an unknown command (exit 2), as are Object.prototype names', async () => {
    for (const cmd of ['frobnicate', 'toString', 'constructor', '__proto__']) {
      const r = await luv([cmd, 'x'])
      expect(r.code).toBe(2)
      expect(r.err).toMatch(new RegExp(`^luv: unknown command '${cmd}' \\(commands: run, `))
    }
    expect((await luv(['help', 'toString'])).code).toBe(2)
  })
})

describe('luv lint-scenarios', () => {
  const dir = mkdtempSync(join(tmpdir(), 'luv-lint-'))
  writeFileSync(join(dir, 'a.json'), JSON.stringify({ name: 'a', steps: [{ op: 'KEXEC' }] }))
  writeFileSync(join(dir, 'b.json'), JSON.stringify({ name: 'b', steps: [] }))

  it('exits 0 when every file is valid, without running anything', async () => {
    const r = await luv(['lint-scenarios', dir])
    expect(r.code).toBe(0)
    expect(r.out).toBe('2 scenarios valid\n')
  })

  it('exits 2 and names each bad file, step and field', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'luv-lint-bad-'))
    writeFileSync(join(bad, 'x.json'), JSON.stringify({ name: 'x', steps: [{ op: 'CLOSE', args: { fd: '3' } }] }))
    writeFileSync(join(bad, 'y.json'), '{')
    const r = await luv(['lint-scenarios', dir, bad])
    expect(r.code).toBe(2)
    const lines = r.err.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^luv lint-scenarios: .*x\.json: steps\[0\]\.args\.fd: expected a non-negative integer/)
    expect(lines[1]).toMatch(/^luv lint-scenarios: .*y\.json: invalid JSON/)
  })
})

describe('bin/luv.mjs', () => {
  const bin = fileURLToPath(new URL('../../bin/luv.mjs', import.meta.url))

  it('runs the CLI under plain node and returns its exit code', () => {
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' })
    expect(help.status).toBe(0)
    expect(help.stdout).toMatch(/^usage: luv <command>/)
    const bad = spawnSync(process.execPath, [bin, 'run', '--impl', 'model', '--defect', 'x', 'y.json'], { encoding: 'utf8' })
    expect(bad.status).toBe(2)
    expect(bad.stderr).toMatch(/^luv run: --defect/)
  })
})
