// The draft the model's rules change (models/context.ts produce): copy-on-write that shares
// every untouched part, discards a failed op, and finishes drafts wherever the rule put them.

import { describe, expect, it } from 'vitest'
import { before, fail, plain, produce, snapshot, type OpContext } from '../../models/context.ts'
import { contentKey } from '../../models/memo.ts'
import { DEFAULT_PLATFORM, initState, resolveDesign, type State } from '../../models/index.ts'

const fresh = (): State => initState(DEFAULT_PLATFORM, resolveDesign({}))
const G = Object.keys(fresh().groups)[0]

describe('produce', () => {
  it('a recipe that only reads returns the very state it was given', () => {
    const s = fresh()
    const next = produce(s, (d) => {
      void d.groups[G].owner.kind
      void Object.values(d.units).map((u) => Object.keys(u.context))
      void d.pages.filter((p) => p.use === 'free').length
    })
    expect(next).toBe(s)
  })

  it('a write copies the path to it and shares everything else', () => {
    const s = fresh()
    const next = produce(s, (d) => {
      d.groups[G].ownerCnt = 3
      void d.units // read, not written
    })
    expect(next).not.toBe(s)
    expect(next.groups).not.toBe(s.groups)
    expect(next.groups[G].ownerCnt).toBe(3)
    expect(s.groups[G].ownerCnt).toBe(0)
    expect(next.groups[G].owner).toBe(s.groups[G].owner)
    expect(next.units).toBe(s.units)
    expect(next.pages).toBe(s.pages)
    expect(next.platform).toBe(s.platform)
  })

  it('writing the value already there changes nothing', () => {
    const s = fresh()
    expect(produce(s, (d) => (d.groups[G].ownerCnt = s.groups[G].ownerCnt))).toBe(s)
  })

  it('a failed op leaves no trace in the state it was given', () => {
    const s = fresh()
    expect(() =>
      produce(s, (d) => {
        d.groups[G].ownerCnt = 9
        fail('EBUSY')
      }),
    ).toThrow()
    expect(s.groups[G].ownerCnt).toBe(0)
  })

  it('drafts moved within a list (splice) and put into new records are finished as data', () => {
    let s = fresh()
    s = produce(s, (d) => {
      d.luo.outgoing.push({ name: 'a', file: 1, files: [] }, { name: 'b', file: 2, files: [] }, { name: 'c', file: 3, files: [] })
    })
    const next = produce(s, (d) => {
      d.luo.outgoing[2].files.push({ token: '7', file: 3, kind: 'memfd' })
      d.luo.outgoing.splice(0, 1)
      // new records holding drafts of the state, then changed through the draft
      d.luo.incoming = d.luo.outgoing.map((x) => ({ name: x.name, files: x.files as never }))
      d.luo.incoming[1].retrievedAs = 9
      d.luo.incoming[0].files = d.luo.outgoing[1].files as never
    })
    expect(next.luo.outgoing.map((x) => x.name)).toEqual(['b', 'c'])
    expect(next.luo.outgoing[0]).toBe(s.luo.outgoing[1])
    expect(next.luo.outgoing[1].files).toEqual([{ token: '7', file: 3, kind: 'memfd' }])
    expect(next.luo.incoming[0].files).toBe(next.luo.outgoing[1].files)
    expect(next.luo.incoming[1]).toEqual({ name: 'c', files: [{ token: '7', file: 3, kind: 'memfd' }], retrievedAs: 9 })
    expect(next.luo.incoming[1].files).toBe(next.luo.outgoing[1].files)
    expect(s.luo.outgoing[2].files).toEqual([])
    // no draft is left anywhere in the state: it is plain, frozen data (vitest freezes)
    expect(JSON.parse(JSON.stringify(next.luo))).toEqual(next.luo)
    // (a draft is never frozen: its target stays extensible)
    for (const x of [next.luo.incoming[0], next.luo.incoming[1], next.luo.incoming[1].files, next.luo.outgoing[1].files]) expect(Object.isFrozen(x)).toBe(true)
  })

  it('snapshot and plain see the op so far; before sees the state the op began with', () => {
    const s = fresh()
    const ctx: OpContext = { transient: [] }
    let seen: unknown
    let was: unknown
    const next = produce(s, (d) => {
      d.groups[G].ownerCnt = 1
      snapshot(ctx, d)
      d.groups[G].ownerCnt = 2
      seen = plain(d.groups)[G].ownerCnt
      was = before(d.groups)[G].ownerCnt
    })
    expect(ctx.transient[0].groups[G].ownerCnt).toBe(1)
    expect(ctx.transient[0].units).toBe(s.units)
    expect(seen).toBe(2)
    expect(was).toBe(0)
    expect(next.groups[G].ownerCnt).toBe(2)
  })
})

describe('contentKey (the recovery cache key, models/memo.ts)', () => {
  it('is equal for the same data as different objects, and differs wherever the data does', () => {
    const a = { x: [1, 'b', 2n, null, undefined, true], y: { '0': 'z' } }
    expect(contentKey(a)).toBe(contentKey(structuredClone(a)))
    const differ: unknown[] = [
      { x: [1, 'b', 2n, null, undefined, false], y: { '0': 'z' } },
      { x: ['1', 'b', 2n, null, undefined, true], y: { '0': 'z' } },
      { x: [1, 'b', 2, null, undefined, true], y: { '0': 'z' } },
      { x: [1, 'b', 2n, 'null', undefined, true], y: { '0': 'z' } },
      { x: [1, 'b', 2n, null, true], y: { '0': 'z' } },
      { x: [1, 'b', 2n, null, undefined, true], y: ['z'] },
      { x: [1, 'b,2n', null, undefined, true], y: { '0': 'z' } },
      { x: [1, 'b', 2n, null, undefined, true], y: { '0': 'z', '1': 'z' } },
      { x: [1, 'b"', 2n, null, undefined, true], y: { '0': 'z' } },
    ]
    for (const d of differ) expect(contentKey(d), JSON.stringify(d, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))).not.toBe(contentKey(a))
  })
  it('names objects in `named` by identity', () => {
    const p = { big: 'x'.repeat(100) }
    const named = new Map<object, string>([[p, '#1']])
    expect(contentKey({ p }, named)).toBe('{"p":#1,}')
    expect(contentKey({ p: { ...p } }, named)).not.toBe(contentKey({ p }, named))
  })
})
