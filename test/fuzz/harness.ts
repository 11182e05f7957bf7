// The input-contract fuzzer (issue 10): fast-check arbitraries that turn valid luv files into
// malformed ones (JSON-level mutations at a random place, text-level damage, hostile values,
// files that are not files), fed to the real CLI entry point (src/cli/main.ts main) in-process.
// The contract for every input: exit 0, 1 or 2, never a thrown error; on exit 2 a message on
// stderr that names the file, is located and bounded, has no stack trace and no raw control
// character, and nothing is written; on any exit, no raw control character reaches stdout.
// test/fuzz/fuzz.test.ts runs it with a small budget; bench/fuzz.ts (npm run fuzz) longer.

import fc from 'fast-check'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, cpSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli/main.ts'
import type { Seeds } from './seeds.ts'

export type Kind = 'scenario' | 'itf' | 'bundle' | 'platform' | 'design' | 'shard'
export const KINDS: readonly Kind[] = ['scenario', 'itf', 'bundle', 'platform', 'design', 'shard']

// ---- mutations ------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

/** Values a hostile file holds: wrong types, huge or control-laden strings, prototype names. */
const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, -1, 0, 1.5, 2 ** 53, 1e308, '', '0x', '0xffffffffffffffffff', '18446744073709551616', '$nope', '$'),
  fc.constantFrom<Json>('\u001b[2J\u001b[HPASS: all properties hold', 'a\rPASS', '\u202eevil', 'toString', '__proto__', 'constructor', 'hasOwnProperty'),
  fc.constantFrom<Json>('x'.repeat(100_000), Array.from({ length: 2000 }, (_, i) => i), { __proto__: { polluted: true } } as unknown as Json),
  fc.constantFrom<Json>([], {}, [[[[[[[[[[[]]]]]]]]]]], { toString: 'x' }, { constructor: 1 }),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
)
const hostileKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', '\u001b[31m', ''), fc.string({ maxLength: 8 }))

/** Every path to a node of `v` (the root is []). */
function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at)
  if (out.length > 5000) return out
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out))
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) paths(v[k], [...at, k], out)
  return out
}

type Edit = { kind: 'replace'; value: Json } | { kind: 'delete' } | { kind: 'addKey'; key: string; value: Json } | { kind: 'renameKey'; key: string } | { kind: 'wrap' } | { kind: 'dupKey' }

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 4, arbitrary: hostileValue.map((value) => ({ kind: 'replace' as const, value })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'delete' as const }) },
  { weight: 2, arbitrary: fc.record({ key: hostileKey, value: hostileValue }).map((r) => ({ kind: 'addKey' as const, ...r })) },
  { weight: 1, arbitrary: hostileKey.map((key) => ({ kind: 'renameKey' as const, key })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'wrap' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'dupKey' as const }) },
)

/** Apply `edit` at the n-th node of `doc`; returns the file text. */
function applyEdit(doc: Json, n: number, edit: Edit): string {
  const root = structuredClone(doc)
  const ps = paths(root)
  const path = ps[n % ps.length]
  if (edit.kind === 'dupKey') {
    // text-level: a key repeated inside the object at `path` (JSON.parse would keep the last)
    const text = JSON.stringify(root, null, 1)
    const m = /\{\n(\s*)"([^"\\]+)": /.exec(text.slice(n % Math.max(1, text.length)))
    if (!m) return text.replace(/\{\n(\s*)"([^"\\]+)": /, (_a, sp, k) => `{\n${sp}"${k}": 0,\n${sp}"${k}": `)
    const off = (n % Math.max(1, text.length)) + m.index
    return text.slice(0, off) + `{\n${m[1]}"${m[2]}": "dup",\n${m[1]}"${m[2]}": ` + text.slice(off + m[0].length)
  }
  if (path.length === 0) {
    if (edit.kind === 'replace') return JSON.stringify(edit.value)
    if (edit.kind === 'wrap') return JSON.stringify([root])
    if (edit.kind === 'addKey' && root !== null && typeof root === 'object' && !Array.isArray(root)) {
      Object.defineProperty(root, edit.key, { value: edit.value, enumerable: true, configurable: true, writable: true })
      return JSON.stringify(root)
    }
    return JSON.stringify(root)
  }
  let parent = root as { [k: string]: Json } | Json[]
  for (const p of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[p] as typeof parent
  const last = path[path.length - 1]
  const cur = (parent as Record<string | number, Json>)[last]
  switch (edit.kind) {
    case 'replace':
      ;(parent as Record<string | number, Json>)[last] = edit.value
      break
    case 'delete':
      if (Array.isArray(parent)) parent.splice(last as number, 1)
      else delete parent[last as string]
      break
    case 'wrap':
      ;(parent as Record<string | number, Json>)[last] = [cur]
      break
    case 'addKey':
      if (cur !== null && typeof cur === 'object' && !Array.isArray(cur))
        Object.defineProperty(cur, edit.key, { value: edit.value, enumerable: true, configurable: true, writable: true })
      else (parent as Record<string | number, Json>)[last] = edit.value
      break
    case 'renameKey':
      if (!Array.isArray(parent)) {
        const v = parent[last as string]
        delete parent[last as string]
        Object.defineProperty(parent, edit.key, { value: v, enumerable: true, configurable: true, writable: true })
      }
      break
  }
  return JSON.stringify(root, null, 1)
}

/** Damage to the bytes: cut, invalid UTF-8, a BOM, garbage around. */
type Damage = { kind: 'truncate'; at: number } | { kind: 'bytes'; at: number; bytes: readonly number[] } | { kind: 'bom' } | { kind: 'trailing' }
const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  fc.nat().map((at) => ({ kind: 'truncate' as const, at })),
  fc.record({ at: fc.nat(), bytes: fc.constantFrom([0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0x00], [0x1b]) }).map((r) => ({ kind: 'bytes' as const, ...r })),
  fc.constant({ kind: 'bom' as const }),
  fc.constant({ kind: 'trailing' as const }),
)

function applyDamage(text: string, d: Damage): Uint8Array {
  const b = Buffer.from(text, 'utf8')
  switch (d.kind) {
    case 'truncate':
      return b.subarray(0, d.at % Math.max(1, b.length))
    case 'bytes': {
      const at = d.at % Math.max(1, b.length)
      return Buffer.concat([b.subarray(0, at), Buffer.from(d.bytes), b.subarray(at)])
    }
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b])
    case 'trailing':
      return Buffer.concat([b, Buffer.from(' {"x": 1}')])
  }
}

/** What the file is when it is not a file. */
type Special = 'dir' | 'fifo' | 'devzero' | 'empty' | 'huge' | 'dangling'
const specialArb = fc.constantFrom<Special>('dir', 'fifo', 'devzero', 'empty', 'huge', 'dangling')

export type Mutation = { kind: 'edit'; node: number; edit: Edit } | { kind: 'damage'; damage: Damage } | { kind: 'special'; special: Special }
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ node: fc.nat(), edit: editArb }).map((r) => ({ kind: 'edit' as const, ...r })) },
  { weight: 3, arbitrary: damageArb.map((damage) => ({ kind: 'damage' as const, damage })) },
  { weight: 1, arbitrary: specialArb.map((special) => ({ kind: 'special' as const, special })) },
)

/** Put the mutated `valid` text at `path` (or what stands there instead of a file). */
export function place(path: string, valid: string, m: Mutation): void {
  rmSync(path, { recursive: true, force: true })
  if (m.kind === 'edit') writeFileSync(path, applyEdit(JSON.parse(valid) as Json, m.node, m.edit))
  else if (m.kind === 'damage') writeFileSync(path, applyDamage(valid, m.damage))
  else
    switch (m.special) {
      case 'dir':
        mkdirSync(path)
        break
      case 'fifo':
        execFileSync('mkfifo', [path])
        break
      case 'devzero':
        symlinkSync('/dev/zero', path)
        break
      case 'empty':
        writeFileSync(path, '')
        break
      case 'huge': {
        // sparse: 65 MiB that cost nothing to make, and must be refused before they are read
        writeFileSync(path, '')
        execFileSync('truncate', ['-s', '65M', path])
        break
      }
      case 'dangling':
        symlinkSync(join(path, '..', 'no-such-target'), path)
        break
    }
}

// ---- running one input against the contract ----------------------------------------------

export interface Outcome {
  code: number
  out: string
  err: string
  ms: number
}

export async function runLuv(argv: string[]): Promise<Outcome> {
  let out = ''
  let err = ''
  const t = performance.now()
  const code = await main(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: { LUV_CAMPAIGN_INLINE: '1' },
  })
  return { code, out, err, ms: performance.now() - t }
}

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f\u009b]/

export const MAX_MESSAGE = 3000
/** the slowest an input may be (a valid mutated platform runs one campaign run) */
export const HANG_MS = 20_000

/** The contract; returns what is wrong, or undefined. */
export function violation(o: Outcome, opts: { names: string; outDir?: string; located?: boolean }): string | undefined {
  if (![0, 1, 2].includes(o.code)) return `exit ${o.code}`
  if (RAW_CONTROL.test(o.out)) return 'a raw control character on stdout'
  if (RAW_CONTROL.test(o.err)) return 'a raw control character on stderr'
  if (/\n\s+at .+:\d+:\d+/.test(o.err + o.out)) return 'a stack trace'
  if (o.code !== 2) return undefined
  if (o.err.length === 0) return 'exit 2 without a message'
  if (o.err.length > MAX_MESSAGE) return `a ${o.err.length}-character message (bounded at ${MAX_MESSAGE})`
  for (const line of o.err.trimEnd().split('\n')) if (!/^luv( [a-z-]+)?: \S/.test(line)) return `a message line not of the form 'luv CMD: ...': ${line.slice(0, 200)}`
  if (!o.err.includes(opts.names)) return `the message does not name ${opts.names}`
  if (opts.located && !new RegExp(`${escapeRe(opts.names)}[^:\\n]*: \\S`).test(o.err)) return 'the message does not say where or what'
  if (opts.outDir && existsSync(opts.outDir) && readdirSync(opts.outDir).length > 0) return `something was written to ${opts.outDir}`
  return undefined
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

// ---- one kind: a valid file, the command that reads it ----------------------------------

export interface Case {
  /** the CLI arguments, with the mutated file in place */
  argv: string[]
  /** what exit-2 messages must name */
  names: string
  /** a folder that must stay empty on exit 2 */
  outDir?: string
}

/** Lay out one input of `kind` with mutation `m` in a fresh folder under `root`. */
export function makeCase(kind: Kind, seeds: Seeds, m: Mutation, root: string): Case {
  const dir = mkdtempSync(join(root, `${kind}-`))
  const out = join(dir, 'out')
  switch (kind) {
    case 'scenario': {
      const f = join(dir, 'scenario.json')
      place(f, seeds.scenario, m)
      return { argv: ['run', f, '--impl', 'model', '--quiet'], names: f }
    }
    case 'design': {
      // the scenario's design object is where the mutation lands
      const doc = JSON.parse(seeds.scenario)
      doc.design = { profile: 'lpc2025', ownership: 'token', replaceSwap: 'hitless' }
      const f = join(dir, 'design.json')
      if (m.kind === 'edit') {
        const mutated = applyEdit(doc.design, m.node, m.edit)
        writeFileSync(f, JSON.stringify({ ...doc, design: '__DESIGN__' }).replace('"__DESIGN__"', () => mutated))
      } else place(f, JSON.stringify(doc), m)
      return { argv: ['run', f, '--impl', 'model', '--quiet'], names: f }
    }
    case 'itf': {
      const f = join(dir, 'trace.itf.json')
      place(f, seeds.itf, m)
      return { argv: ['replay', f, '--impl', 'model'], names: f }
    }
    case 'bundle': {
      const b = join(dir, seeds.bundle)
      mkdirSync(b)
      writeFileSync(join(b, 'scenario.json'), seeds.bundleScenario)
      writeFileSync(join(b, 'trace.itf.json'), seeds.itf)
      // one of the two files damaged (m.node picks which)
      const which = m.kind === 'edit' && m.node % 2 === 0 ? 'scenario.json' : 'trace.itf.json'
      place(join(b, which), which === 'scenario.json' ? seeds.bundleScenario : seeds.itf, m)
      return { argv: ['replay', b], names: b }
    }
    case 'platform': {
      const f = join(dir, 'platform.json')
      place(f, seeds.platform, m)
      return { argv: ['campaign', '--platform', f, '--runs', '1', '--impl', 'model', '--out', out], names: f, outDir: out }
    }
    case 'shard': {
      const sh = join(dir, 'shard')
      cpSync(seeds.shardDir, sh, { recursive: true })
      place(join(sh, 'summary.json'), seeds.summary, m)
      return { argv: ['merge', sh, '--out', out], names: sh, outDir: out }
    }
  }
}

export interface KindStats {
  kind: Kind
  inputs: number
  exits: Record<string, number>
  maxMessage: number
  maxMs: number
  /** one example message per exit-2 kind of first word after the file, for the report */
  samples: string[]
}

/** Run `numRuns` mutations of one kind; throws (fast-check's report) on the first contract breach. */
export async function fuzzKind(kind: Kind, seeds: Seeds, o: { numRuns: number; seed?: number; root?: string }): Promise<KindStats> {
  const root = o.root ?? mkdtempSync(join(tmpdir(), 'luv-fuzz-'))
  const stats: KindStats = { kind, inputs: 0, exits: {}, maxMessage: 0, maxMs: 0, samples: [] }
  await fc.assert(
    fc.asyncProperty(mutationArb, async (m) => {
      const c = makeCase(kind, seeds, m, root)
      const r = await runLuv(c.argv)
      stats.inputs++
      stats.exits[r.code] = (stats.exits[r.code] ?? 0) + 1
      stats.maxMs = Math.max(stats.maxMs, r.ms)
      if (r.code === 2) {
        stats.maxMessage = Math.max(stats.maxMessage, r.err.length)
        if (stats.samples.length < 6) stats.samples.push(r.err.trimEnd().split('\n')[0].slice(0, 240))
      }
      // in-process, a hang cannot be cut off; an input this slow is reported as one
      if (r.ms > HANG_MS) throw new Error(`${kind}: ${r.ms.toFixed(0)} ms for one input (a hang?)\nargv: ${c.argv.join(' ')}`)
      const located = m.kind !== 'special'
      const v = violation(r, { names: c.names, ...(c.outDir && { outDir: c.outDir }), located })
      if (v) throw new Error(`${kind}: ${v}\nargv: ${c.argv.join(' ')}\nexit ${r.code}\nstderr: ${r.err.slice(0, 1500)}\nstdout: ${r.out.slice(0, 500)}`)
    }),
    { numRuns: o.numRuns, ...(o.seed !== undefined && { seed: o.seed }), endOnFailure: true },
  )
  return stats
}

// ---- hostile command lines --------------------------------------------------------------

const argToken = fc.oneof(
  fc.constantFrom('--profile', '--set', '--impl', '--defect', '--seed', '--path', '--platform', '--properties', '--out', '--quiet', '-q', '--help', '--', '-', '--json'),
  fc.constantFrom('toString', '__proto__', 'constructor=x', '__proto__=x', 'ownership=', '=x', 'both', 'model', '\u001b[2J', 'x'.repeat(5000), '', ' ', '-1', '99999999999999999999', '0x', '1:2:x', '/dev/zero', '/nonexistent/x.json'),
  fc.string({ maxLength: 12 }),
)
/** Commands that never start a long job whatever their arguments (campaign is fuzzed through its files). */
const ARGV_COMMANDS = ['run', 'replay', 'merge', 'lint-scenarios', 'defects', 'help', 'toString', '--version'] as const

export async function fuzzArgv(o: { numRuns: number; seed?: number }): Promise<{ inputs: number; exits: Record<string, number>; maxMessage: number }> {
  const stats = { inputs: 0, exits: {} as Record<string, number>, maxMessage: 0 }
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...ARGV_COMMANDS), fc.array(argToken, { maxLength: 6 }), async (cmd, args) => {
      const r = await runLuv([cmd, ...args])
      stats.inputs++
      stats.exits[r.code] = (stats.exits[r.code] ?? 0) + 1
      if (r.code === 2) stats.maxMessage = Math.max(stats.maxMessage, r.err.length)
      const v = violation(r, { names: '' })
      if (v) throw new Error(`${v}\nargv: ${JSON.stringify([cmd, ...args])}\nstderr: ${r.err.slice(0, 800)}`)
    }),
    { numRuns: o.numRuns, ...(o.seed !== undefined && { seed: o.seed }), endOnFailure: true },
  )
  return stats
}
