// "Changed fields only" view of two observations: each observation is flattened into
// path -> value lines (`owners[0000:01:00.0]: iommufd:2`), then compared line by line.

import type { Observation } from '../../models/observation.ts'
import { hex } from '../../models/ops.ts'

export interface Field {
  path: string
  value: string
  /** orders fields: section, then zero-padded keys (plain string compare) */
  sort: string
}

export interface FieldChange {
  path: string
  before?: string
  after?: string
}

const pad = (n: number | bigint, w = 20): string => String(n).padStart(w, '0')
const byKey = <T>(xs: T[], key: (x: T) => string): T[] => [...xs].sort((a, b) => cmp(key(a), key(b)))
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Every leaf of an observation as a path/value line, in canonical order. */
export function flattenObservation(o: Observation): Field[] {
  const out: Field[] = [{ path: 'boot', value: String(o.boot), sort: '0' }]
  for (const t of o.translations) {
    const pasid = t.pasid === 0 ? '' : ` pasid=${t.pasid}`
    out.push({
      path: `translations[${t.bdf}${pasid} iova=${hex(t.iova)}]`,
      value: t.pa === null ? 'fault' : `pa=${hex(t.pa)}`,
      sort: `1|${t.bdf}|${pad(t.pasid)}|${pad(t.iova)}`,
    })
  }
  for (const [g, v] of Object.entries(o.owners)) out.push({ path: `owners[${g}]`, value: v, sort: `2|${g}` })
  out.push({ path: 'luo.open', value: String(o.luo.open), sort: '3|' })
  for (const dir of ['outgoing', 'incoming'] as const) {
    for (const s of o.luo[dir]) {
      const base = `luo.${dir}[${s.name}]`
      const sk = `3|${dir}|${s.name}`
      out.push({ path: base, value: s.retrieved ? 'session, retrieved' : 'session', sort: sk })
      for (const f of s.files) {
        const r = f.retrieved === undefined ? '' : `, retrieved=${f.retrieved}`
        out.push({ path: `${base}.files[${f.token}]`, value: f.kind + r, sort: `${sk}|${pad(f.token)}` })
      }
    }
  }
  for (const [fd, v] of Object.entries(o.fds)) out.push({ path: `fds[${fd}]`, value: v, sort: `4|${pad(Number(fd))}` })
  for (const [serial, objs] of Object.entries(o.iommufds)) {
    for (const [id, v] of Object.entries(objs))
      out.push({ path: `iommufds[${serial}][${id}]`, value: v, sort: `5|${pad(Number(serial))}|${pad(Number(id))}` })
  }
  // fields without a rendering of their own (e.g. memory): dotted paths
  const known = new Set(['boot', 'translations', 'owners', 'luo', 'fds', 'iommufds'])
  const walk = (path: string, v: unknown): void => {
    if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(Array.isArray(v) ? `${path}[${k}]` : `${path}.${k}`, x)
    } else out.push({ path, value: typeof v === 'bigint' ? hex(v) : String(v), sort: `6|${path}` })
  }
  for (const [k, v] of Object.entries(o)) if (!known.has(k)) walk(k, v)
  return byKey(out, (f) => f.sort)
}

/** Fields added, removed or changed from `a` to `b`, in canonical order. */
export function diffObservations(a: Observation, b: Observation): FieldChange[] {
  const fa = new Map(flattenObservation(a).map((f) => [f.path, f]))
  const fb = new Map(flattenObservation(b).map((f) => [f.path, f]))
  const all = new Map<string, string>()
  for (const f of [...fa.values(), ...fb.values()]) all.set(f.path, f.sort)
  const changes: FieldChange[] = []
  for (const [path] of byKey([...all], ([, sort]) => sort)) {
    const before = fa.get(path)?.value
    const after = fb.get(path)?.value
    if (before !== after) changes.push({ path, ...(before !== undefined && { before }), ...(after !== undefined && { after }) })
  }
  return changes
}

/** Unified-diff lines: `- path: old` then `+ path: new`. */
export function diffLines(changes: FieldChange[]): string[] {
  const lines: string[] = []
  for (const c of changes) {
    if (c.before !== undefined) lines.push(`- ${c.path}: ${c.before}`)
    if (c.after !== undefined) lines.push(`+ ${c.path}: ${c.after}`)
  }
  return lines
}
