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

/** Names of one kind, given 0, 1, ... in order of first appearance within one walk. The
 *  values named (file and domain serials, page numbers, DIDs) are small non-negative
 *  integers: a table indexed by value, stamped with the walk it was written in, so a walk
 *  starts with no names without clearing anything (a Map per walk was a tenth of the
 *  fingerprint's time); other values go to a Map. */
let walkGen = 0
/** a value the stamped table holds (others go to the Map) */
const tabled = (v: number): boolean => v >= 0 && v === (v | 0) && v < 1 << 22
class Namer {
  private stamp = new Int32Array(64)
  private val = new Int32Array(64)
  private gen = -1
  private readonly ids: number[] = []
  private other: Map<number, number> | undefined
  private sync(): void {
    if (this.gen !== walkGen) {
      this.gen = walkGen
      this.ids.length = 0
      this.other = undefined
    }
  }
  name(v: number): number {
    this.sync()
    if (tabled(v)) {
      if (v >= this.stamp.length) this.grow(v)
      if (this.stamp[v] === walkGen) return this.val[v]
      const n = this.ids.length
      this.stamp[v] = walkGen
      this.val[v] = n
      this.ids.push(v)
      return n
    }
    this.other ??= new Map()
    let n = this.other.get(v)
    if (n === undefined) {
      n = this.ids.length
      this.other.set(v, n)
      this.ids.push(v)
    }
    return n
  }
  private grow(v: number): void {
    let len = this.stamp.length
    while (len <= v) len *= 2
    const stamp = new Int32Array(len).fill(-1)
    stamp.set(this.stamp)
    const val = new Int32Array(len)
    val.set(this.val)
    this.stamp = stamp
    this.val = val
  }
  get size(): number {
    this.sync()
    return this.ids.length
  }
  idOf(name: number): number {
    return this.ids[name]
  }
  /** the name `v` was given in this walk, or -1 */
  indexOf(v: number): number {
    this.sync()
    if (tabled(v)) return v < this.stamp.length && this.stamp[v] === walkGen ? this.val[v] : -1
    return this.other?.get(v) ?? -1
  }
  has(v: number): boolean {
    return this.indexOf(v) >= 0
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

/** One set of namers, reused by every walk (a walk starts afresh: Namer's stamps). */
const NAMES: Names = { file: new Namer(), domain: new Namer(), page: new Namer(), did: new Map(), identity: false }

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

/** Where the canonical form goes: a string (canonicalForm: tests, debugging, the reference
 *  search) or a fingerprint (canonicalFingerprint: the search), token by token, so the
 *  search never builds the string. */
interface Out {
  /** a constant word: a key, a bracket, a section name */
  word(w: string): void
  /** a number with a one-letter tag saying what it names ('#' plain, 'f' file, 'd' domain, ...) */
  num(tag: string, v: number): void
  /** a string value (length-prefixed in the text form) */
  str(v: string): void
  big(v: bigint): void
  /** a name: `v` of `role` (not 'plain'), renamed by `n` */
  named(role: Role, v: number, n: Names): void
  /** an object or array value (not null) under `key`: ser's tokens for it, or (the
   *  fingerprint) what stands for them (Part) */
  obj(v: object, key: string, n: Names, inDomains: boolean): void
}

/** A name's renamed value and the one-letter tag the text form gives it. */
function renamed(role: Role, v: number, n: Names): number {
  return role === 'pages' ? (n.identity ? v : n.page.name(v)) : nameOf(n, role, v)
}
const nameTag = (role: Role, n: Names): string => (role === 'pages' ? (n.identity ? '#' : 'p') : role[0])

class TextOut implements Out {
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
  named(role: Role, v: number, n: Names): void {
    this.num(nameTag(role, n), renamed(role, v, n))
  }
  obj(v: object, key: string, n: Names, inDomains: boolean): void {
    ser(v, key, n, this, inDomains)
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
const fmix = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}
const ROLE_CODE: Record<Role, number> = { file: 0, domain: 1, pages: 2, did: 3, plain: 4 }
const ROLES: Role[] = ['file', 'domain', 'pages', 'did', 'plain']

/** Two 32-bit murmur3-style lanes with their own seeds and constants (TLC's fingerprint in
 *  spirit). HashOut (a state's fingerprint) and ShapeOut (a Part) are both this. */
class Lanes {
  protected h1 = 0x9368e53c
  protected h2 = 0x2f4a7c15
  protected mix(x: number): void {
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
}

/** What stands for an object or array value in the fingerprint: its tokens with every name
 *  left out (a placeholder with the name's role instead), hashed to 64 bits (`h1`, `h2`),
 *  and the names left out, in order (`names`: role code, value, ...). The tokens are exactly
 *  the shape and the names put back in their places, so two values have equal tokens (names
 *  renamed as the walk goes) exactly when they have equal shapes and equal renamed names
 *  (up to a 64-bit collision of shapes). A value's part does not depend on the names given
 *  before it, so it is computed once per object (the model's states share every object an op
 *  did not touch with the state before: models/context.ts produce) and kept; a state's
 *  fingerprint mixes, per value, its shape and its names renamed. A nested object's part is
 *  folded into its parent's (its shape as two words, its names appended), so a changed
 *  record costs its own part and its ancestors', not its siblings'. `key`/`f` say in which
 *  context it was computed (ser reads the key, inDomains and the groups flag besides the
 *  value); `next`: the same object's parts in other contexts. */
interface Part {
  key: string
  f: number
  h1: number
  h2: number
  names: number[]
  next: Part | undefined
}

class ShapeOut extends Lanes implements Out {
  names: number[] = []
  named(role: Role, v: number): void {
    this.mix(0x50000000 | ROLE_CODE[role])
    this.names.push(ROLE_CODE[role], v)
  }
  obj(v: object, key: string, n: Names, inDomains: boolean): void {
    const p = partOf(v, key, n, inDomains)
    this.mix(p.h1)
    this.mix(p.h2)
    const ns = p.names
    for (let i = 0; i < ns.length; i++) this.names.push(ns[i])
  }
  part(key: string, f: number): Part {
    return { key, f, h1: fmix(this.h1), h2: fmix(this.h2 ^ 0x5bd1e995), names: this.names, next: undefined }
  }
}

class HashOut extends Lanes implements Out {
  named(role: Role, v: number, n: Names): void {
    this.num(nameTag(role, n), renamed(role, v, n))
  }
  obj(v: object, key: string, n: Names, inDomains: boolean): void {
    const p = partOf(v, key, n, inDomains)
    this.mix(p.h1)
    this.mix(p.h2)
    const ns = p.names
    for (let i = 0; i < ns.length; i += 2) this.mix(renamed(ROLES[ns[i]], ns[i + 1], n))
  }
  digest(): number {
    return (fmix(this.h1) >>> 0) * 0x200000 + ((fmix(this.h2 ^ this.h1) >>> 0) & 0x1fffff)
  }
}

/** parts by object (Part.next for the same object in another context); weak, so a state's
 *  parts go when the state does. Parts are kept only for the states the search expands
 *  (keepParts): their successors share their objects, while most successors are
 *  duplicates or on the last level and are never expanded, so keeping their parts would
 *  only fill the table (and the collector's ephemeron work). `partMode`: 0 every part
 *  computed afresh (tests: the kept parts change nothing), 1 kept parts used, 2 kept parts
 *  used and new ones kept. */
const parts = new WeakMap<object, Part>()
let partMode = 1

/** The part of `v` under `key` (ser's context: the key, inDomains, walkingGroups). */
function partOf(v: object, key: string, n: Names, inDomains: boolean): Part {
  const f = (inDomains ? 1 : 0) + (walkingGroups ? 2 : 0)
  const first = partMode !== 0 ? parts.get(v) : undefined
  for (let p = first; p !== undefined; p = p.next) if (p.key === key && p.f === f) return p
  const so = new ShapeOut()
  ser(v, key, n, so, inDomains)
  const p = so.part(key, f)
  if (partMode === 2) {
    p.next = first
    parts.set(v, p)
  }
  return p
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

/** The canonical tokens of `v` under `key`; nested objects and arrays through out.obj. */
function ser(v: unknown, key: string, n: Names, out: Out, inDomains = false): void {
  switch (typeof v) {
    case 'undefined':
      return
    case 'number': {
      const r = roleOf(key, inDomains)
      if (r === 'plain' || r === 'pages') out.num('#', v)
      else out.named(r, v, n)
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
        if (key === 'pages' && (v.length === 0 || typeof v[0] === 'number')) for (const p of v as number[]) out.named('pages', p, n)
        else for (const x of v) serValue(x, key, n, out, inDomains)
        out.word(']')
        return
      }
      const o = v as Record<string, unknown>
      // a group's PASID table: pasid -> domain
      const valueRole = key === 'pasids' && walkingGroups
      out.word('{')
      for (const k of sortedKeys(o)) {
        const x = o[k]
        if (x === undefined) continue
        out.word(k)
        out.word('=')
        if (valueRole && typeof x === 'number') out.named('domain', x, n)
        else serValue(x, k, n, out, inDomains)
      }
      out.word('}')
      return
    }
    default:
      out.word(String(v))
  }
}

/** ser, with an object or array value handed to out.obj (the fingerprint's parts). */
function serValue(v: unknown, key: string, n: Names, out: Out, inDomains = false): void {
  if (typeof v === 'object' && v !== null) out.obj(v, key, n, inDomains)
  else ser(v, key, n, out, inDomains)
}

// groups are walked with this flag so `pasids` (also a platform field name) maps to domains
let walkingGroups = false

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

/** The canonical form of `s` as a string. `symmetry: false` keeps every name as it is. */
export function canonicalForm(s: State, symmetry = true): string {
  const out = new TextOut()
  walk(s, symmetry, out)
  return out.s
}

/** The fingerprint of `s`'s canonical form (a hash of its tokens, each object's through its
 *  Part, without building the string): what the visited set holds. `cached: false` computes
 *  every part afresh (tests: the kept parts change nothing). */
export function canonicalFingerprint(s: State, symmetry = true, cached = true): number {
  return fingerprintWith(s, symmetry, cached ? 1 : 0)
}

/** Keep the parts of `s`'s objects (a state about to be expanded: its successors' fingerprints
 *  then compute parts only for what their op made). Returns `s`'s fingerprint. */
export function keepParts(s: State, symmetry = true): number {
  return fingerprintWith(s, symmetry, 2)
}

function fingerprintWith(s: State, symmetry: boolean, mode: number): number {
  const out = new HashOut()
  partMode = mode
  try {
    walk(s, symmetry, out)
  } finally {
    partMode = 1
  }
  return out.digest()
}

/** fds with their signatures, sorted (reused: walks do not nest) */
const fdOrder: { fd: number; sig: string }[] = []

function walk(s: State, symmetry: boolean, out: Out): void {
  walkGen = (walkGen + 1) | 0
  const n = NAMES
  n.identity = !symmetry
  n.unit = undefined
  out.num('b', s.boot)
  out.num('t', s.tablePagesUsed)
  // 1. the fd table, fds sorted by what they are (then by number), renamed 0, 1, ...
  //    (insertion sort: a handful of fds, mostly in order already)
  let nfd = 0
  for (const k in s.fds) {
    const fd = Number(k)
    const sig = fdSignature(s, fd)
    let j = nfd++
    if (fdOrder.length < nfd) fdOrder.push({ fd, sig })
    while (j > 0) {
      const p = fdOrder[j - 1]
      if (p.sig < sig || (p.sig === sig && p.fd < fd)) break
      fdOrder[j].fd = p.fd
      fdOrder[j].sig = p.sig
      j--
    }
    fdOrder[j].fd = fd
    fdOrder[j].sig = sig
  }
  out.word('F[')
  for (let i = 0; i < nfd; i++) {
    const fd = fdOrder[i].fd
    out.num('#', symmetry ? i : fd)
    out.num('f', nameOf(n, 'file', s.fds[fd]))
  }
  out.word(']')
  // 2. LUO, groups, devices, units: more file and domain names
  out.word('L')
  out.obj(s.luo, 'luo', n, false)
  out.word('G')
  walkingGroups = true
  try {
    out.obj(s.groups, 'groups', n, false)
  } finally {
    walkingGroups = false
  }
  out.word('V')
  out.obj(s.devices, 'devices', n, false)
  out.word('U')
  for (const u of sortedKeys(s.units)) {
    const unit = s.units[u]
    n.unit = u
    out.word('u')
    out.str(u)
    out.word('context=')
    out.obj(unit.context, 'context', n, false)
    out.word('pasid=')
    out.obj(unit.pasid, 'pasid', n, false)
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
          serValue(x, k, n, out)
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
  let free = 0
  for (let i = 0; i < s.pages.length; i++) if (s.pages[i].use === 'free') free++
  out.num('free=', free)
  if (n.identity) {
    for (let i = 0; i < s.pages.length; i++)
      if (s.pages[i].use !== 'free') {
        out.num('p', i)
        out.obj(s.pages[i], 'page', n, false)
      }
  } else {
    // the pages named so far, in name order, then the others (named now) by number: name
    // order is page order either way
    const page = n.page
    for (let i = 0; i < s.pages.length; i++) if (s.pages[i].use !== 'free' && !page.has(i)) page.name(i)
    for (let name = 0; name < page.size; name++) {
      const i = page.idOf(name)
      if (i >= s.pages.length || s.pages[i].use === 'free') continue
      out.num('p', name)
      out.obj(s.pages[i], 'page', n, false)
    }
  }
  // anything else a newer models/state.ts holds, verbatim, in key order (collected first:
  // there is usually nothing, and the known keys need no sorting)
  let extra: string[] | undefined
  for (const k in s) if (!KNOWN_TOP.has(k) && Object.hasOwn(s, k)) (extra ??= []).push(k)
  if (extra !== undefined)
    for (const k of extra.sort()) {
      out.word(`?${k}`)
      serValue((s as unknown as Record<string, unknown>)[k], k, n, out)
    }
}

/** Emit the entries of `table` (files, domains) in the order `namer` names them, naming
 *  as it goes (a queue in name order: what the earlier rounds-until-no-progress loop gave);
 *  then those nothing names, by serial. Identity mode: all by serial. */
function emitInNameOrder(n: Names, namer: Namer, table: Record<number, unknown>, out: Out, domains: boolean): void {
  if (n.identity) {
    // integer keys enumerate in ascending order
    for (const k in table) emitEntry(n, table, out, domains, Number(k))
    return
  }
  // the names given before this loop and in it, in name order: each entry named is
  // emitted once (an id is named once)
  for (let name = 0; name < namer.size; name++) {
    const id = namer.idOf(name)
    if (table[id] !== undefined) emitEntry(n, table, out, domains, id)
  }
  // then the entries nothing named by now, by serial (integer keys enumerate in ascending
  // order); one of them may name another, which then still comes in its own serial turn
  const cut = namer.size
  for (const k in table) {
    const id = Number(k)
    const name = namer.indexOf(id)
    if (name < 0 || name >= cut) emitEntry(n, table, out, domains, id)
  }
}

/** One entry of emitInNameOrder: a file (`f` name, then the record) or a domain (`d`).
 *  (Module level, not a closure per state: tsx wraps every named closure in __name.) */
function emitEntry(n: Names, table: Record<number, unknown>, out: Out, domains: boolean, id: number): void {
  if (domains) {
    out.num('d', nameOf(n, 'domain', id))
    out.obj(table[id] as object, 'domains', n, true)
  } else {
    out.num('f', nameOf(n, 'file', id))
    out.obj(table[id] as object, 'files', n, false)
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
