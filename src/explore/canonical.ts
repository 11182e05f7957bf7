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
  name(v: number): number {
    let n = this.m.get(v)
    if (n === undefined) {
      n = this.m.size
      this.m.set(v, n)
    }
    return n
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

interface Buf {
  s: string
}

function ser(v: unknown, key: string, n: Names, out: Buf, inDomains = false): void {
  switch (typeof v) {
    case 'undefined':
      return
    case 'number': {
      const r = roleOf(key, inDomains)
      out.s += (r === 'plain' || r === 'pages' ? String(v) : `${r[0]}${nameOf(n, r, v)}`) + ' '
      return
    }
    case 'bigint':
      out.s += `n${v}` + ' '
      return
    case 'string':
      out.s += `s${v.length}:${v}` + ' '
      return
    case 'boolean':
      out.s += v ? 'T ' : 'F '
      return
    case 'object': {
      if (v === null) {
        out.s += 'null' + ' '
        return
      }
      if (Array.isArray(v)) {
        out.s += '[' + ' '
        if (key === 'pages' && (v.length === 0 || typeof v[0] === 'number')) for (const p of v as number[]) out.s += (n.identity ? String(p) : `p${n.page.name(p)}`) + ' '
        else for (const x of v) ser(x, key, n, out, inDomains)
        out.s += ']' + ' '
        return
      }
      const o = v as Record<string, unknown>
      // a group's PASID table: pasid -> domain
      const valueRole = key === 'pasids' && inGroups(n) ? 'domain' : undefined
      out.s += '{' + ' '
      for (const k of Object.keys(o).sort()) {
        const x = o[k]
        if (x === undefined) continue
        out.s += k + ' ' + '=' + ' '
        if (valueRole && typeof x === 'number') out.s += `d${nameOf(n, 'domain', x)}` + ' '
        else ser(x, k, n, out, inDomains)
      }
      out.s += '}' + ' '
      return
    }
    default:
      out.s += String(v) + ' '
  }
}

// groups are walked with this flag so `pasids` (also a platform field name) maps to domains
let walkingGroups = false
const inGroups = (_n: Names) => walkingGroups

/** What an fd is, without any name in it: the sort key that makes fd order canonical. */
function fdSignature(s: State, fd: number): string {
  const f = s.files[s.fds[fd]]
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
  const n: Names = { file: new Namer(), domain: new Namer(), page: new Namer(), did: new Map(), identity: !symmetry }
  const out: Buf = { s: `b${s.boot} t${s.tablePagesUsed} ` }
  // 1. the fd table, fds sorted by what they are (then by number), renamed 0, 1, ...
  const fds = Object.keys(s.fds).map(Number)
  const sigs = new Map(fds.map((fd) => [fd, fdSignature(s, fd)]))
  fds.sort((a, b) => {
    const x = sigs.get(a)!
    const y = sigs.get(b)!
    return x < y ? -1 : x > y ? 1 : a - b
  })
  out.s += 'F[' + ' '
  for (const [i, fd] of fds.entries()) out.s += `${symmetry ? i : fd}:f${nameOf(n, 'file', s.fds[fd])}` + ' '
  out.s += ']' + ' '
  // 2. LUO, groups, devices, units: more file and domain names
  out.s += 'L' + ' '
  ser(s.luo, 'luo', n, out)
  out.s += 'G' + ' '
  walkingGroups = true
  try {
    ser(s.groups, 'groups', n, out)
  } finally {
    walkingGroups = false
  }
  out.s += 'V' + ' '
  ser(s.devices, 'devices', n, out)
  out.s += 'U' + ' '
  for (const u of Object.keys(s.units).sort()) {
    const unit = s.units[u]
    n.unit = u
    out.s += `u${u}{context=` + ' '
    ser(unit.context, 'context', n, out)
    out.s += 'pasid=' + ' '
    ser(unit.pasid, 'pasid', n, out)
    // the allocated DIDs, named after the entries that use them, as a sorted set
    const dids = unit.ida.map((d) => nameOf(n, 'did', d)).sort((a, b) => a - b)
    out.s += `ida=${dids.join(',')}` + ' '
    for (const [k, v] of Object.entries(unit)) if (k !== 'context' && k !== 'pasid' && k !== 'ida') ser({ [k]: v }, 'unit', n, out)
    out.s += '}' + ' '
  }
  n.unit = undefined
  // 3. files in the order they were named; files no one names follow, by serial
  out.s += 'FILES' + ' '
  const fileIds = Object.keys(s.files).map(Number)
  const done = new Set<number>()
  const emitFile = (id: number) => {
    done.add(id)
    out.s += `f${nameOf(n, 'file', id)}` + ' '
    ser(s.files[id], 'files', n, out)
  }
  for (let progress = true; progress; ) {
    progress = false
    const named = fileIds.filter((id) => !done.has(id) && (n.identity || n.file.has(id)))
    named.sort((a, b) => nameOf(n, 'file', a) - nameOf(n, 'file', b))
    for (const id of named) {
      emitFile(id)
      progress = true
    }
  }
  for (const id of fileIds.sort((a, b) => a - b)) if (!done.has(id)) emitFile(id)
  // 4. domains likewise
  out.s += 'DOMAINS' + ' '
  const domIds = Object.keys(s.domains).map(Number)
  const ddone = new Set<number>()
  const emitDomain = (id: number) => {
    ddone.add(id)
    out.s += `d${nameOf(n, 'domain', id)}` + ' '
    ser(s.domains[id], 'domains', n, out, true)
  }
  for (let progress = true; progress; ) {
    progress = false
    const named = domIds.filter((id) => !ddone.has(id) && (n.identity || n.domain.has(id)))
    named.sort((a, b) => nameOf(n, 'domain', a) - nameOf(n, 'domain', b))
    for (const id of named) {
      emitDomain(id)
      progress = true
    }
  }
  for (const id of domIds.sort((a, b) => a - b)) if (!ddone.has(id)) emitDomain(id)
  // 5. pages in use, by page name; pages nobody names (incoming, orphaned) by number
  out.s += 'PAGES' + ' '
  const used: [number, number][] = []
  let free = 0
  for (const [i, p] of s.pages.entries()) {
    if (p.use === 'free') free++
    else if (n.identity || n.page.has(i)) used.push([n.identity ? i : n.page.name(i), i])
  }
  const unnamed: number[] = []
  for (const [i, p] of s.pages.entries()) if (p.use !== 'free' && !n.identity && !n.page.has(i)) unnamed.push(i)
  for (const i of unnamed) used.push([n.page.name(i), i])
  used.sort((a, b) => a[0] - b[0])
  out.s += `free=${free}` + ' '
  for (const [name, i] of used) {
    out.s += `p${name}` + ' '
    ser(s.pages[i], 'page', n, out)
  }
  // anything else a newer models/state.ts holds, verbatim
  for (const k of Object.keys(s).sort())
    if (!KNOWN_TOP.has(k)) {
      out.s += `?${k}` + ' '
      ser((s as unknown as Record<string, unknown>)[k], k, n, out)
    }
  return out.s
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
