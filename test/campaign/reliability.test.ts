// Regression tests for issue 10's list, one per bug (the interrupt ones, with real signals, are
// in interrupt-failure.test.ts). Each failed before its fix.

import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { cleanStaleTemps, writeFileAtomic } from '../../src/campaign/atomic.ts'
import { TTY_FORMAT, progressLine, ttyProgress } from '../../src/campaign/progress.ts'
import { counterexampleRecords } from '../../src/campaign/trace.ts'
import { LIMITS } from '../../src/input/limits.ts'
import { writeBundle } from '../../src/report/bundle.ts'
import { defectCounterexample, makeSeeds, type Seeds } from '../fuzz/seeds.ts'
import { luv, tmp } from './helpers.ts'

let seeds: Seeds
const dir = tmp('luv-reliability-')
beforeAll(async () => {
  seeds = await makeSeeds(join(dir, 'seeds'))
})

/** A copy of the seed bundle (it records defect token-truncated-to-u32) with `edit` applied. */
function bundle(name: string, edit?: (b: string) => void): string {
  const b = join(dir, name, seeds.bundle)
  mkdirSync(b, { recursive: true })
  writeFileSync(join(b, 'scenario.json'), seeds.bundleScenario)
  writeFileSync(join(b, 'trace.itf.json'), seeds.itf)
  edit?.(b)
  return b
}
const itfOf = (b: string) => join(b, 'trace.itf.json')
const oneLine = (err: string) => expect(err.trimEnd().split('\n')).toHaveLength(1)

describe('replay cannot lie', () => {
  it('an intact bundle replays with its recorded defect and says what it replays against', async () => {
    const r = await luv(['replay', bundle('intact')])
    expect(r.err).toBe('')
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/^ {2}against: design lpc2025 \(from the file\); impl both; defect token-truncated-to-u32 \(recorded in .*trace\.itf\.json\)$/m)
    expect(r.out).toMatch(/^ {2}checked: trace\.itf\.json agrees/m)
    // the against line comes before the verdict
    expect(r.out.indexOf('against:')).toBeLessThan(r.out.indexOf('REPRODUCED'))
  })

  it.each([
    ['truncated', (b: string) => writeFileSync(itfOf(b), seeds.itf.slice(0, 500)), /trace\.itf\.json: invalid JSON/],
    ['garbage', (b: string) => writeFileSync(itfOf(b), 'garbage'), /trace\.itf\.json: invalid JSON/],
    ['a folder', (b: string) => (rmSync(itfOf(b)), mkdirSync(itfOf(b))), /trace\.itf\.json: is a directory/],
    ['#meta of the wrong type', (b: string) => writeFileSync(itfOf(b), seeds.itf.replace('"#meta": {', '"#meta": 7, "x": {')), /trace\.itf\.json: (#meta: |x: )/],
    ['#meta.defect of the wrong type', (b: string) => writeFileSync(itfOf(b), seeds.itf.replace('"defect": "token-truncated-to-u32"', '"defect": 3')), /#meta\.defect: expected a seeded defect's name/],
    ['#meta.defect renamed', (b: string) => writeFileSync(itfOf(b), seeds.itf.replace('"defect":', '"defekt":')), /#meta\.defekt: unknown key/],
    ['missing', (b: string) => rmSync(itfOf(b)), /trace\.itf\.json is missing: it records the defect/],
  ])('a damaged trace.itf.json (%s) is exit 2 naming it, never a replay without the defect', async (_what, edit, message) => {
    const r = await luv(['replay', bundle(`damaged-${_what.replace(/\W/g, '')}`, edit)])
    expect(r.code).toBe(2)
    expect(r.out).not.toMatch(/REPRODUCED/)
    expect(r.err).toMatch(message)
    oneLine(r.err)
  })

  it.each([
    ['ops', (t: string) => t.replace('"op": "KEXEC"', '"op": "IOMMUFD_OPEN"'), /disagree: step \d+: IOMMUFD_OPEN against KEXEC/],
    ['platform', (t: string) => t.replace('"memoryPages": 256', '"memoryPages": 255'), /disagree: platform/],
    ['design', (t: string) => t.replace('"design": { "profile": "lpc2025" }', '"design": { "profile": "rfc-v2" }'), /disagree: design \(rfc-v2 against lpc2025\)/],
    ['defect', (t: string) => t.replace('defect token-truncated-to-u32', 'defect did-alloc-off-by-one'), /disagree: defect: the scenario's description names did-alloc-off-by-one, the trace token-truncated-to-u32/],
  ])('scenario.json and trace.itf.json that disagree (%s) are an error naming the disagreement', async (_what, edit, message) => {
    const b = bundle(`disagree-${_what}`, (d) => writeFileSync(join(d, 'scenario.json'), edit(seeds.bundleScenario)))
    expect(readFileSync(join(b, 'scenario.json'), 'utf8')).not.toBe(seeds.bundleScenario)
    const r = await luv(['replay', b])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(message)
  })

  it('ITF arguments are validated as scenario arguments: a bdf that is no PCI address is exit 2 at its state', async () => {
    const at = seeds.itf.indexOf('"states"')
    const b = bundle('bad-bdf', (d) => writeFileSync(itfOf(d), seeds.itf.slice(0, at) + seeds.itf.slice(at).replace(/("bdf": \{ "tag": "Some", "value": )"0000:01:00\.0"/, '$1"not-a-bdf"')))
    expect(readFileSync(itfOf(b), 'utf8')).toContain('"not-a-bdf"')
    const r = await luv(['replay', itfOf(b)])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/trace\.itf\.json: states\[\d+\]\.mbt::nondetPicks\.bdf: expected a PCI address/)
  })

  it('an ITF whose only state is null replays nothing: exit 2', async () => {
    const f = join(dir, 'null-state.itf.json')
    writeFileSync(f, JSON.stringify({ vars: ['mbt::actionTaken', 'mbt::nondetPicks'], states: [null] }))
    const r = await luv(['replay', f])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/null-state\.itf\.json: states/)
  })

  it('replay --path with a 20-digit run index is refused at once', async () => {
    const r = await luv(['replay', '--seed', '1', '--path', '12345678901234567890'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/--path 12345678901234567890: expected fast-check's path/)
    const r2 = await luv(['replay', '--seed', '1', '--path', `${LIMITS.replayRun + 1}:0`])
    expect(r2.err).toMatch(/run index 100001 is past luv's limit of 100000/)
  })
})

describe('Object.prototype names are unknown names, not lookups', () => {
  it.each([
    [['run', 'x.json', '--profile', 'toString'], /--profile toString: unknown profile 'toString'/],
    [['run', 'x.json', '--set', 'constructor=x'], /--set constructor=x: unknown design axis 'constructor'/],
    [['run', 'x.json', '--set', '__proto__=x'], /unknown design axis '__proto__'/],
    [['campaign', '--profile', 'toString', '--runs', '1'], /--profile toString: unknown profile 'toString'/],
    [['campaign', '--set', 'hasOwnProperty=x', '--runs', '1'], /unknown design axis 'hasOwnProperty'/],
  ])('%j: exit 2, one line', async (argv, message) => {
    const r = await luv(argv)
    expect(r.code).toBe(2)
    expect(r.err).toMatch(message)
    oneLine(r.err)
  })

  it('replay --profile toString does not run on an empty design', async () => {
    const r = await luv(['replay', bundle('proto'), '--profile', 'toString'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/unknown profile 'toString'/)
  })

  it("a trace's #meta.design with such keys is exit 2 naming the key", async () => {
    const b = bundle('proto-meta', (d) => writeFileSync(itfOf(d), seeds.itf.replace('"design": { "profile": "lpc2025" }', '"design": { "profile": "lpc2025", "constructor": "x" }')))
    const r = await luv(['replay', itfOf(b)])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/#meta\.design\.constructor: unknown design axis/)
  })
})

describe('luv merge trusts nothing', () => {
  const shard = (name: string, edit: (s: Record<string, unknown>) => void) => {
    const d = join(dir, 'merge', name)
    cpSync(seeds.shardDir, d, { recursive: true })
    const s = JSON.parse(seeds.summary)
    edit(s)
    writeFileSync(join(d, 'summary.json'), JSON.stringify(s))
    return d
  }

  it('a bundle name that climbs out of the shard is refused; nothing is written anywhere', async () => {
    const victim = join(dir, 'merge', 'victim')
    mkdirSync(victim, { recursive: true })
    writeFileSync(join(victim, 'scenario.json'), '{}')
    const d = shard('climb', (s) => {
      const f = (s.failures as { bundle: string }[])[0]
      f.bundle = '../victim'
    })
    const out = join(dir, 'merge', 'out-climb')
    const r = await luv(['merge', d, '--out', out])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/summary\.json: failures\[0\]\.bundle: expected a bundle name as luv writes it \(12 hex digits\); got "\.\.\/victim"/)
    expect(existsSync(out)).toBe(false)
  })

  it('wrong-typed values are errors, not merged (runs as a string)', async () => {
    const d = shard('string-runs', (s) => {
      s.runs = String(s.runs)
    })
    const out = join(dir, 'merge', 'out-string')
    const r = await luv(['merge', d, seeds.shardDir, '--out', out])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/summary\.json: runs: expected a non-negative integer; got "3"/)
    expect(existsSync(out)).toBe(false)
  })

  it('a shard whose bundle is damaged is refused before anything is written', async () => {
    const d = shard('bad-bundle', () => {})
    writeFileSync(join(d, seeds.bundle, 'trace.itf.json'), '{')
    const out = join(dir, 'merge', 'out-bad-bundle')
    const r = await luv(['merge', seeds.shardDir, d, '--out', out])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/trace\.itf\.json: invalid JSON/)
    expect(existsSync(out)).toBe(false)
  })

  it('--out inside an input is refused', async () => {
    const r = await luv(['merge', seeds.shardDir, '--out', join(seeds.shardDir, 'merged')])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/is inside the input/)
  })
})

describe('bounds and files that are not files', () => {
  it('a FIFO is refused without blocking; /dev/zero without reading it', async () => {
    const fifo = join(dir, 'fifo.json')
    execFileSync('mkfifo', [fifo])
    let r = await luv(['run', fifo, '--impl', 'model'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/fifo\.json: not a regular file \(a FIFO\)/)
    r = await luv(['run', '/dev/zero', '--impl', 'model'])
    expect(r.err).toMatch(/\/dev\/zero: not a regular file \(a character device\)/)
    r = await luv(['campaign', '--platform', '/dev/zero', '--runs', '1'])
    expect(r.err).toMatch(/--platform \/dev\/zero: not a regular file/)
  })

  it('a file over the size limit is refused before it is read', async () => {
    const big = join(dir, 'big.json')
    writeFileSync(big, '')
    execFileSync('truncate', ['-s', '65M', big])
    const r = await luv(['run', big])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/big\.json: 68157440 bytes: larger than the 67108864-byte limit for a scenario file/)
  })

  it('a scenario over the step limit and a platform over the device limit are exit 2 with the limit', async () => {
    const steps = Array.from({ length: LIMITS.steps + 1 }, () => ({ op: 'IOMMUFD_OPEN' }))
    const f = join(dir, 'long.json')
    writeFileSync(f, JSON.stringify({ name: 'long', steps }))
    let r = await luv(['run', f])
    expect(r.err).toMatch(/long\.json: steps: 10001 steps: more than luv's limit of 10000 steps per trace/)
    const devices = Array.from({ length: 100_000 }, (_, i) => ({ bdf: `${(i >> 16).toString(16).padStart(4, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${((i >> 3) & 31).toString(16).padStart(2, '0')}.${i & 7}`, unit: 'dmar0' }))
    const p = join(dir, 'huge-platform.json')
    writeFileSync(p, JSON.stringify({ memoryPages: 256, units: [{ name: 'dmar0', dids: 16 }], devices }))
    r = await luv(['campaign', '--platform', p, '--runs', '1', '--out', join(dir, 'never')])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/huge-platform\.json: devices: 100000 devices: more than luv's limit of 256/)
    expect(existsSync(join(dir, 'never'))).toBe(false)
  })

  it('--workers 1000 is capped by the cores and the work, and says so', async () => {
    const { resolveCampaignOptions } = await import('../../src/campaign/options.ts')
    const o = resolveCampaignOptions({ workers: '1000', runs: '1000', impl: 'model', out: join(dir, 'w') })
    expect(o.workers).toBe(availableParallelism())
    expect(o.workersNote).toBe(`--workers 1000 capped at ${availableParallelism()}: ${availableParallelism()} core${availableParallelism() === 1 ? '' : 's'}`)
    const one = resolveCampaignOptions({ workers: '8', runs: '25', impl: 'model', out: join(dir, 'w') })
    expect(one.workers).toBe(1)
    expect(one.workersNote).toMatch(/capped at 1: 1 block to run/)
  })

  it('an unwritable or empty --out is found before the campaign runs', async () => {
    let r = await luv(['campaign', '--runs', '1', '--impl', 'model', '--out', '/dev/null/report'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/--out \/dev\/null\/report: (cannot write the report there|.*not a directory)/)
    expect(r.out).toBe('')
    r = await luv(['campaign', '--runs', '1', '--impl', 'model', '--out', ''])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/--out: empty/)
  })

  it('luv run on a folder without scenarios and a --time that rounds to 0 are not passes', async () => {
    const empty = join(dir, 'no-scenarios')
    mkdirSync(empty)
    let r = await luv(['run', empty])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/no scenario files \(\*\.json\) in/)
    r = await luv(['campaign', '--time', '0.0001s', '--out', join(dir, 'zero')])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/--time 0\.0001s: rounds to 0 ms/)
  })
})

describe('input discipline', () => {
  const base = () => JSON.parse(readFileSync(new URL('../../properties/defects/token-truncated-to-u32.json', import.meta.url), 'utf8'))

  it('duplicate keys are refused with their place (a reviewer reads one op, luv would run the other)', async () => {
    const f = join(dir, 'dup.json')
    writeFileSync(f, '{"name": "dup", "steps": [{"op": "KEXEC", "op": "IOMMUFD_OPEN"}]}')
    const r = await luv(['run', f])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/dup\.json: steps\[0\]\.op: duplicate key "op" \(line 1\)/)
  })

  it('invalid UTF-8 is refused with its offset', async () => {
    const f = join(dir, 'latin1.json')
    writeFileSync(f, Buffer.concat([Buffer.from('{"name": "caf'), Buffer.from([0xe9]), Buffer.from('", "steps": []}')]))
    const r = await luv(['run', f])
    expect(r.err).toMatch(/latin1\.json: invalid UTF-8 at byte 13/)
  })

  it('a platform file error says where in the file', async () => {
    const p = join(dir, 'bad-bdf-platform.json')
    writeFileSync(p, JSON.stringify({ memoryPages: 16, units: [{ name: 'dmar0', dids: 8 }], devices: [{ bdf: 'zz', unit: 'dmar0' }] }))
    const r = await luv(['campaign', '--platform', p, '--runs', '1'])
    expect(r.err).toMatch(/bad-bdf-platform\.json: devices\[0\]\.bdf: expected a PCI address "DDDD:BB:DD\.F" in lower-case hex, e\.g\. "0000:01:00\.0"; got "zz"/)
  })

  it('a unit name with a terminal escape is refused (names reach reports and mails)', async () => {
    const p = join(dir, 'esc-platform.json')
    writeFileSync(p, JSON.stringify({ memoryPages: 16, units: [{ name: 'dmar\u001b[2J', dids: 8 }], devices: [] }))
    const r = await luv(['campaign', '--platform', p, '--runs', '1'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/esc-platform\.json: units\[0\]\.name: "dmar\\u001b\[2J": a unit name is at most 64 printable characters/)
  })

  it('a huge value is echoed as a bounded excerpt', async () => {
    const doc = base()
    doc.steps[0].op = 'X'.repeat(200_000)
    const f = join(dir, 'huge-value.json')
    writeFileSync(f, JSON.stringify(doc))
    const r = await luv(['run', f])
    expect(r.code).toBe(2)
    expect(r.err.length).toBeLessThan(1500)
    expect(r.err).toMatch(/steps\[0\]\.op: unknown op "XXXX.*\.\.\. \(known: /)
  })

  it('escape sequences in a scenario name or a string argument reach the terminal escaped', async () => {
    const doc = base()
    doc.name = 'evil\u001b[2J\u001b[HPASS: all properties hold'
    doc.steps[10].args.name = 'vm\u001b]0;owned\u0007'
    const f = join(dir, 'evil.json')
    writeFileSync(f, JSON.stringify(doc))
    const r = await luv(['run', f, '--impl', 'model'])
    expect(r.out).not.toMatch(/\u001b/)
    expect(r.out).toContain('evil\\e[2J\\e[HPASS')
    expect(r.out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/)
    expect(r.out).toMatch(/vm\\(e|u001b)\]0;owned/)
  })
})

describe('files left behind', () => {
  it('stale temp files of a killed run are cleaned by the next write into the folder; live ones are kept', async () => {
    const d = join(dir, 'stale')
    mkdirSync(d)
    // pid_max is at most 4194304 on Linux: this process cannot exist
    const dead = 4194305
    writeFileSync(join(d, `.summary.json.${dead}.0a1b2c3d.tmp`), 'half')
    mkdirSync(join(d, `.0123456789ab.${dead}.tmp-Ab12Cd`))
    writeFileSync(join(d, `.junit.xml.${process.pid}.0a1b2c3d.tmp`), 'mine')
    await writeFileAtomic(join(d, 'summary.md'), 'x')
    expect(readdirSync(d).sort()).toEqual([`.junit.xml.${process.pid}.0a1b2c3d.tmp`, 'summary.md'])
    expect(await cleanStaleTemps(d)).toEqual([])
  })

  it('bundle folders are readable by others (0755, not mkdtemp 0700)', async () => {
    const root = join(dir, 'modes')
    const b = await writeBundle(root, defectCounterexample())
    expect(statSync(b).mode & 0o777).toBe(0o755)
  })
})

describe('newcomers', () => {
  it('campaign traces number steps as scenario files do (0-based)', () => {
    const recs = counterexampleRecords(defectCounterexample())
    expect(recs.map((r) => r.index)).toEqual(recs.map((_, i) => i))
  })

  it('the progress line keeps failures and elapsed time in the first 80 columns', () => {
    const line = progressLine({ startedAt: 0, runs: 123_456, steps: 98_765_432, kexecWithPreservedDma: 1, fullRecovery: 1, failures: 2, blocksDone: 4938, blocksTotal: 10_000 }, 3_600_000)
    expect(line.slice(0, 80)).toMatch(/^\[3600\.0s\] 2 failed, /)
    expect(TTY_FORMAT.indexOf('{failures} failed')).toBe(0)
  })

  it('the terminal bar, cut at 80 columns, still shows the failures and the campaign elapsed time', async () => {
    let buf = ''
    const stream = { isTTY: true, columns: 80, cursorTo: () => true, clearLine: () => true, moveCursor: () => true, write: (s: string) => ((buf += s), true), on: () => stream, removeListener: () => stream }
    const d = ttyProgress(stream as unknown as NodeJS.WriteStream)
    d.update({ startedAt: Date.now() - 65_000, runs: 123_456, steps: 9_876_543, kexecWithPreservedDma: 10, fullRecovery: 5, failures: 2, blocksDone: 3, runsTotal: 1_000_000 })
    d.stop()
    // the last frame as the terminal shows it: autowrap is off, so it is cut at the width
    // eslint-disable-next-line no-control-regex
    const frames = buf.split('\u001b[1G').map((f) => f.replace(/\u001b\[[0-9;?]*[A-Za-z]|\u001b[78]/g, '')).filter(Boolean)
    const shown = frames[0].slice(0, 80)
    expect(shown).toMatch(/^2 failed \| 1m0[56]s \| /)
    expect(shown).toContain('123,456 runs')
  })

  it('the README runs luv from the clone, never through npx (a registry package has that name)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    expect(readme).not.toMatch(/^\s*npx luv\b/m)
    expect(readme).toMatch(/a different,\s+unrelated package named `luv`/)
    expect(readme).toMatch(/node bin\/luv\.mjs/)
    expect(readme).toMatch(/npm exec --no -- luv/)
  })

  it('symlinked scenario files are read (they are regular files behind the link)', async () => {
    const link = join(dir, 'link.json')
    symlinkSync(new URL('../../properties/defects/token-truncated-to-u32.json', import.meta.url).pathname, link)
    const r = await luv(['lint-scenarios', link])
    expect(r.code).toBe(0)
  })
})

describe('a write error', () => {
  it('a report that cannot be written is said on stderr, after the verdict, and is not exit 0', async () => {
    const out = join(dir, 'unwritable-report')
    // summary.md is a non-empty folder: the probe passes, the rename over it fails
    mkdirSync(join(out, 'summary.md', 'x'), { recursive: true })
    const r = await luv(['campaign', '--runs', '25', '--impl', 'model', '--properties', 'isolation', '--out', out], { env: { LUV_CAMPAIGN_INLINE: '1' } })
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/^luv campaign: cannot write the report to .*unwritable-report: E[A-Z]+/m)
    expect(r.out).toMatch(/^PASS: all 1 properties hold/m)
  })
})
