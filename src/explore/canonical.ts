// Canonical form of a model state, for the visited set (symmetry reduction, TLC's SYMMETRY in
// its cheap form): fds, file serials, domain serials, page numbers and DIDs are names the model
// hands out fresh (lowest free, or a counter), so two states that differ only by a renaming of
// them behave alike. The canonical form renames each in order of first appearance in a fixed
// traversal that starts from the fd table sorted by what the fd is (kind, size, seals, BDF,
// session name), not by its number; the serial counters (nextFile, nextDomain) are dropped.
//
// Soundness: the form is the state with those names replaced by a bijection, so equal forms
// mean isomorphic states. Fields this file does not know (a field added to models/state.ts
// later) are serialized verbatim: at worst less reduction, never a wrong merge. The caveat
// every symmetry reduction has: it assumes the model treats these numbers as names (no rule
// compares two fds, say); `--symmetry off` explores without it, and test/explore checks that
// both find the same (op, errno) pairs on a small scope.
//
// Object ids inside an iommufd are kept as they are: ALLOC1 reuses the lowest free id, so
// they rarely differ between equivalent states.

import type { State } from '../../models/state.ts'

class Namer {
  private m = new Map<number, number>()
  private ids: number[] = []
  name(v: number): number {
    let n = this.m.get(v)
    if (n === undefined) {
      n = this.m.size
      this.m.set(v, n)
      this.ids.push(v)
    }
    return n
  }
  get size(): number {
    return this.ids.length
  }
  idOf(name: number): number {
    return this.ids[name]
  }
  has(v: number): boolean {
    return this.m.has(v)
  }
}

type Role = 'file' | 'domain' | 'pages' | 'did' | 'plain'

/** Property names whose value is a name of some kind, by where they occur. */
const FILE_KEYS = new Set(['file', 'retrievedAs', 'iommufd', 'retrieved'])

interface Names {
  file: Namer
  domain: Namer
  page: Namer
  did: Map<string, Namer>
  unit?: string
  /** identity mode (--symmetry off): no renaming */
  identity: boolean
}

function nameOf(n: Names, role: Role, v: number): number {
  if (n.identity) return v
  switch (role) {
    case 'file':
      return n.file.name(v)
    case 'domain':
      return n.domain.name(v)
    case 'did': {
      let d = n.did.get(n.unit ?? '')
      if (!d) n.did.set(n.unit ?? '', (d = new Namer()))
      return d.name(v)
    }
    default:
      return v
  }
}

function roleOf(key: string, inDomains: boolean): Role {
  if (FILE_KEYS.has(key)) return 'file'
  if (key === 'domain' || (inDomains && key === 'id')) return 'domain'
  if (key === 'pages') return 'pages'
  if (key === 'did') return 'did'
  return 'plain'
}

/** Where the canonical form goes: a string (canonicalForm: tests, debugging) or straight
 *  into the fingerprint (canonicalFingerprint: the search), token by token, so the search
 *  never builds the string. Both take the same tokens in the same order, so two states have
 *  equal strings exactly when they have equal token sequences, which the fingerprint hashes. */
interface Out {
  /** a constant word: a key, a bracket, a section name */
  word(w: string): void
  /** a number with a one-letter tag saying what it names ('#' plain, 'f' file, 'd' domain, ...) */
  num(tag: string, v: number): void
  /** a string value (length-prefixed in the text form) */
  str(v: string): void
  big(v: bigint): void
  /** word(w) and str(v), given strHash of the text (a replayed recording has it) */
  wordH(w: string, h: number): void
  strH(v: string, h: number): void
  /** a name: `v` of `role`, renamed by `n` (tag 'p' for pages, else `tag`) */
  named(tag: string, role: Role, v: number, n: Names): void
}

/** A name token, renamed as `n` says: the one place a name becomes a number. */
function emitNamed(out: Out, tag: string, role: Role, v: number, n: Names): void {
  if (role === 'pages') {
    if (n.identity) out.num('#', v)
    else out.num('p', n.page.name(v))
  } else out.num(tag, nameOf(n, role, v))
}

class TextOut implements Out {
  wordH(w: string): void {
    this.word(w)
  }
  strH(v: string): void {
    this.str(v)
  }
  named(tag: string, role: Role, v: number, n: Names): void {
    emitNamed(this, tag, role, v, n)
  }
  s = ''
  word(w: string): void {
    this.s += w + ' '
  }
  num(tag: string, v: number): void {
    this.s += (tag === '#' ? '' : tag) + v + ' '
  }
  str(v: string): void {
    this.s += `s${v.length}:${v} `
  }
  big(v: bigint): void {
    this.s += `n${v} `
  }
}

const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r))
/** per-string hash, cached: keys, kinds, BDFs and names repeat in every state */
const strHashes = new Map<string, number>()
function strHash(w: string): number {
  let h = strHashes.get(w)
  if (h === undefined) {
    h = 0x811c9dc5 ^ w.length
    for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 0x01000193)
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
    h ^= h >>> 13
    if (strHashes.size < 1 << 16) strHashes.set(w, h)
  }
  return h
}

/** Two 32-bit murmur3-style lanes with their own seeds and constants; `digest` is 53 bits
 *  (TLC's fingerprint in spirit: the visited set holds these, not the states). */
class HashOut implements Out {
  named(tag: string, role: Role, v: number, n: Names): void {
    emitNamed(this, tag, role, v, n)
  }
  private h1 = 0x9368e53c
  private h2 = 0x2f4a7c15
  private mix(x: number): void {
    let k = Math.imul(x, 0xcc9e2d51)
    k = Math.imul(rotl(k, 15), 0x1b873593)
    this.h1 = (Math.imul(rotl(this.h1 ^ k, 13), 5) + 0xe6546b64) | 0
    let j = Math.imul(x ^ 0x9e3779b9, 0x85ebca6b)
    j = Math.imul(rotl(j, 17), 0xc2b2ae35)
    this.h2 = (Math.imul(rotl(this.h2 ^ j, 11), 5) + 0x52dce729) | 0
  }
  word(w: string): void {
    this.mix(strHash(w))
  }
  wordH(_w: string, h: number): void {
    this.mix(h)
  }
  strH(v: string, h: number): void {
    this.mix(0x73000000 | v.length)
    this.mix(h)
  }
  num(tag: string, v: number): void {
    this.mix(tag.charCodeAt(0) | 0x4e000000)
    if (v === (v | 0)) this.mix(v)
    else this.str(String(v))
  }
  str(v: string): void {
    this.mix(0x73000000 | v.length)
    this.mix(strHash(v))
  }
  big(v: bigint): void {
    if (v >= 0n && v <= 0xffffffffffffn) {
      const n = Number(v)
      this.mix(0x6e000000)
      this.mix(n | 0)
      this.mix((n / 0x100000000) | 0)
    } else this.str('n' + v.toString(16))
  }
  digest(): number {
    const f = (h: number) => {
      h ^= h >>> 16
      h = Math.imul(h, 0x85ebca6b)
      h ^= h >>> 13
      h = Math.imul(h, 0xc2b2ae35)
      return (h ^ (h >>> 16)) >>> 0
    }
    return f(this.h1) * 0x200000 + (f(this.h2 ^ this.h1) & 0x1fffff)
  }
}

/** Object keys in sorted order; the model builds most objects with their keys already in
 *  order, so check before sorting. */
function sortedKeys(o: object): string[] {
  const ks = Object.keys(o)
  for (let i = 1; i < ks.length; i++)
    if (ks[i - 1] > ks[i]) {
      ks.sort()
      break
    }
  return ks
}

function ser(v: unknown, key: string, n: Names, out: Out, inDomains = false): void {
  switch (typeof v) {
    case 'undefined':
      return
    case 'number': {
      const r = roleOf(key, inDomains)
      if (r === 'plain' || r === 'pages') out.num('#', v)
      else out.named(r[0], r, v, n)
      return
    }
    case 'bigint':
      out.big(v)
      return
    case 'string':
      out.str(v)
      return
    case 'boolean':
      out.word(v ? 'T' : 'F')
      return
    case 'object': {
      if (v === null) {
        out.word('null')
        return
      }
      if (Array.isArray(v)) {
        out.word('[')
        if (key === 'pages' && (v.length === 0 || typeof v[0] === 'number')) for (const p of v as number[]) out.named('p', 'pages', p, n)
        else for (const x of v) ser(x, key, n, out, inDomains)
        out.word(']')
        return
      }
      const o = v as Record<string, unknown>
      // a group's PASID table: pasid -> domain
      const valueRole = key === 'pasids' && inGroups(n) ? 'domain' : undefined
      out.word('{')
      for (const k of sortedKeys(o)) {
        const x = o[k]
        if (x === undefined) continue
        out.word(k)
        out.word('=')
        if (valueRole && typeof x === 'number') out.named('d', 'domain', x, n)
        else ser(x, k, n, out, inDomains)
      }
      out.word('}')
      return
    }
    default:
      out.word(String(v))
  }
}

/** ser's tokens for one subtree, recorded with its names unrenamed (a flat list: code, then
 *  its operands), so that the subtree is serialized again by replaying the list: the model's
 *  states share every part an op did not touch with the state before (models/context.ts
 *  produce), so most subtrees of a successor were serialized before, as that very object.
 *  The replay gives the same tokens as ser in the same order, names renamed as they come
 *  (a subtree's tokens depend on the names given so far only through `named`). */
class Recorder implements Out {
  ops: unknown[] = []
  word(w: string): void {
    this.ops.push(0, w, strHash(w))
  }
  wordH(w: string, h: number): void {
    this.ops.push(0, w, h)
  }
  num(tag: string, v: number): void {
    this.ops.push(1, tag, v)
  }
  str(v: string): void {
    this.ops.push(2, v, strHash(v))
  }
  strH(v: string, h: number): void {
    this.ops.push(2, v, h)
  }
  big(v: bigint): void {
    this.ops.push(3, v)
  }
  named(tag: string, role: Role, v: number): void {
    this.ops.push(4, tag, role, v)
  }
}

function replay(ops: unknown[], n: Names, out: Out): void {
  for (let i = 0; i < ops.length; )
    switch (ops[i]) {
      case 0:
        out.wordH(ops[i + 1] as string, ops[i + 2] as number)
        i += 3
        break
      case 1:
        out.num(ops[i + 1] as string, ops[i + 2] as number)
        i += 3
        break
      case 2:
        out.strH(ops[i + 1] as string, ops[i + 2] as number)
        i += 3
        break
      case 3:
        out.big(ops[i + 1] as bigint)
        i += 2
        break
      default:
        out.named(ops[i + 1] as string, ops[i + 2] as Role, ops[i + 3] as number, n)
        i += 4
    }
}

/** recorded subtrees, per context ser reads besides the subtree: the key, then inDomains and
 *  the groups flag (index inDomains + 2 * walkingGroups); weak, so a state's parts go when
 *  the state does */
const recorded = new Map<string, WeakMap<object, unknown[]>[]>()

/** ser(v, key, n, out, inDomains), from the recording of `v` when it has one. */
let useRecorded = true
function serCached(v: unknown, key: string, n: Names, out: Out, inDomains = false): void {
  if (typeof v !== 'object' || v === null || !useRecorded) return ser(v, key, n, out, inDomains)
  let byFlags = recorded.get(key)
  if (byFlags === undefined) recorded.set(key, (byFlags = []))
  const f = (inDomains ? 1 : 0) + (walkingGroups ? 2 : 0)
  let memo = byFlags[f]
  if (memo === undefined) byFlags[f] = memo = new WeakMap()
  let ops = memo.get(v)
  if (ops === undefined) {
    const rec = new Recorder()
    ser(v, key, n, rec, inDomains)
    memo.set(v, (ops = rec.ops))
  }
  replay(ops, n, out)
}

// groups are walked with this flag so `pasids` (also a platform field name) maps to domains
let walkingGroups = false
const inGroups = (_n: Names) => walkingGroups

/** What an fd is, without any name in it: the sort key that makes fd order canonical. It
 *  reads the file record only, which successor states share when the op did not write it:
 *  kept per record. */
const fdSignatures = new WeakMap<object, string>()
function fdSignature(s: State, fd: number): string {
  const f = s.files[s.fds[fd]]
  let sig = fdSignatures.get(f)
  if (sig === undefined) fdSignatures.set(f, (sig = fileSignature(f)))
  return sig
}
function fileSignature(f: State['files'][number]): string {
  switch (f.kind) {
    case 'memfd':
      return `0m${f.pages.length}:${f.seals.join('|')}`
    case 'iommufd':
      return `1i${Object.keys(f.objects).length}:${f.lu ? `${f.lu.session}/${f.lu.token}` : ''}:${f.preservedIn ?? ''}`
    case 'vfio':
      return `2v${f.bdf}:${f.bound ? 'b' : ''}${f.irqs ? 'i' : ''}`
    case 'liveupdate':
      return '3l'
    case 'session':
      return `4s${f.dir}:${f.name}`
  }
}

/** The canonical form of `s` as a string. `symmetry: false` keeps every name as it is;
 *  `recorded: false` serializes every subtree afresh (tests: the recordings change nothing). */
export function canonicalForm(s: State, symmetry = true, recorded = true): string {
  const out = new TextOut()
  useRecorded = recorded
  try {
    walk(s, symmetry, out)
  } finally {
    useRecorded = true
  }
  return out.s
}

/** The fingerprint of `s`'s canonical form (fingerprint(canonicalForm(s)) in effect, without
 *  building the string): what the visited set holds. */
export function canonicalFingerprint(s: State, symmetry = true): number {
  const out = new HashOut()
  walk(s, symmetry, out)
  return out.digest()
}

function walk(s: State, symmetry: boolean, out: Out): void {
  const n: Names = { file: new Namer(), domain: new Namer(), page: new Namer(), did: new Map(), identity: !symmetry }
  out.num('b', s.boot)
  out.num('t', s.tablePagesUsed)
  // 1. the fd table, fds sorted by what they are (then by number), renamed 0, 1, ...
  const fds = Object.keys(s.fds).map(Number)
  const sigs = new Map(fds.map((fd) => [fd, fdSignature(s, fd)]))
  fds.sort((a, b) => {
    const x = sigs.get(a)!
    const y = sigs.get(b)!
    return x < y ? -1 : x > y ? 1 : a - b
  })
  out.word('F[')
  for (const [i, fd] of fds.entries()) {
    out.num('#', symmetry ? i : fd)
    out.num('f', nameOf(n, 'file', s.fds[fd]))
  }
  out.word(']')
  // 2. LUO, groups, devices, units: more file and domain names
  out.word('L')
  serCached(s.luo, 'luo', n, out)
  out.word('G')
  walkingGroups = true
  try {
    serCached(s.groups, 'groups', n, out)
  } finally {
    walkingGroups = false
  }
  out.word('V')
  serCached(s.devices, 'devices', n, out)
  out.word('U')
  for (const u of sortedKeys(s.units)) {
    const unit = s.units[u]
    n.unit = u
    out.word('u')
    out.str(u)
    out.word('context=')
    serCached(unit.context, 'context', n, out)
    out.word('pasid=')
    serCached(unit.pasid, 'pasid', n, out)
    // the allocated DIDs, named after the entries that use them, as a sorted set
    const dids = unit.ida.map((d) => nameOf(n, 'did', d)).sort((a, b) => a - b)
    out.word('ida=')
    for (const d of dids) out.num('#', d)
    out.word(';')
    // any other field, as ser({ [k]: value }, 'unit') gives it (without making that object)
    for (const k in unit)
      if (k !== 'context' && k !== 'pasid' && k !== 'ida' && Object.hasOwn(unit, k)) {
        const x = (unit as unknown as Record<string, unknown>)[k]
        out.word('{')
        if (x !== undefined) {
          out.word(k)
          out.word('=')
          ser(x, k, n, out)
        }
        out.word('}')
      }
    out.word('}')
  }
  n.unit = undefined
  // 3. files in the order they were named (naming one may name more: a queue in name
  //    order); files no one names follow, by serial
  out.word('FILES')
  emitInNameOrder(n, n.file, s.files, out, false)
  // 4. domains likewise
  out.word('DOMAINS')
  emitInNameOrder(n, n.domain, s.domains, out, true)
  // 5. pages in use, by page name; pages nobody names (incoming, orphaned) by number
  out.word('PAGES')
  const used: [number, number][] = []
  let free = 0
  for (let i = 0; i < s.pages.length; i++) {
    const p = s.pages[i]
    if (p.use === 'free') free++
    else if (n.identity || n.page.has(i)) used.push([n.identity ? i : n.page.name(i), i])
  }
  if (!n.identity) for (let i = 0; i < s.pages.length; i++) if (s.pages[i].use !== 'free' && !n.page.has(i)) used.push([n.page.name(i), i])
  used.sort((a, b) => a[0] - b[0])
  out.num('free=', free)
  for (const [name, i] of used) {
    out.num('p', name)
    serCached(s.pages[i], 'page', n, out)
  }
  // anything else a newer models/state.ts holds, verbatim, in key order (collected first:
  // there is usually nothing, and the known keys need no sorting)
  let extra: string[] | undefined
  for (const k in s) if (!KNOWN_TOP.has(k) && Object.hasOwn(s, k)) (extra ??= []).push(k)
  if (extra !== undefined)
    for (const k of extra.sort()) {
      out.word(`?${k}`)
      ser((s as unknown as Record<string, unknown>)[k], k, n, out)
    }
}

/** Emit the entries of `table` (files, domains) in the order `namer` names them, naming
 *  as it goes (a queue in name order: what the earlier rounds-until-no-progress loop gave);
 *  then those nothing names, by serial. Identity mode: all by serial. */
function emitInNameOrder(n: Names, namer: Namer, table: Record<number, unknown>, out: Out, domains: boolean): void {
  const ids = Object.keys(table).map(Number)
  if (n.identity) {
    for (const id of ids.sort((a, b) => a - b)) emitEntry(n, table, out, domains, id)
    return
  }
  const done = new Set<number>()
  for (let name = 0; name < namer.size; name++) {
    const id = namer.idOf(name)
    if (table[id] === undefined || done.has(id)) continue
    done.add(id)
    emitEntry(n, table, out, domains, id)
  }
  for (const id of ids.sort((a, b) => a - b))
    if (!done.has(id)) {
      done.add(id)
      emitEntry(n, table, out, domains, id)
    }
}

/** One entry of emitInNameOrder: a file (`f` name, then the record) or a domain (`d`).
 *  (Module level, not a closure per state: tsx wraps every named closure in __name.) */
function emitEntry(n: Names, table: Record<number, unknown>, out: Out, domains: boolean, id: number): void {
  if (domains) {
    out.num('d', nameOf(n, 'domain', id))
    serCached(table[id], 'domains', n, out, true)
  } else {
    out.num('f', nameOf(n, 'file', id))
    serCached(table[id], 'files', n, out)
  }
}

const KNOWN_TOP = new Set(['platform', 'design', 'boot', 'pages', 'files', 'nextFile', 'fds', 'domains', 'nextDomain', 'tablePagesUsed', 'units', 'groups', 'devices', 'luo'])

/** A 53-bit fingerprint of a string (two 32-bit FNV-1a-style lanes with different mixing),
 *  TLC's fingerprint in spirit: the visited set holds these, not the states. */
export function fingerprint(str: string): number {
  let h1 = 0x811c9dc5 | 0
  let h2 = 0x9747b28c | 0
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x01000193)
    h2 = Math.imul(h2 ^ c, 0x5bd1e995)
    h2 ^= h2 >>> 15
  }
  h1 ^= h1 >>> 13
  h1 = Math.imul(h1, 0xc2b2ae35)
  h1 ^= h1 >>> 16
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0x85ebca6b)
  h2 ^= h2 >>> 16
  return (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff)
}

/** The probability that at least two of `n` distinct states share a fingerprint (birthday
 *  bound over 53 bits), as TLC reports it. */
export const collisionProbability = (n: number): number => (n * (n - 1)) / 2 / 2 ** 53
