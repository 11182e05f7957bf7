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
  it('a record of plain values keyed once is still named by identity where it is named (its key is remembered)', () => {
    const p = { use: 'free' }
    expect(contentKey({ q: p })).toBe('{"q":{"use":"free",},}')
    expect(contentKey({ q: p }, new Map([[p, '#1']]))).toBe('{"q":#1,}')
    // and an equal record that is another object has the same key
    expect(contentKey([p, { use: 'free' }])).toBe('[{"use":"free",},{"use":"free",},]')
  })
})

describe('the draft copies tables by number and named records in places of their own', () => {
  it('a key that names a table in one place and a record in another copies both whole', () => {
    // the same key (a BDF) holds a PASID table under one record and a context entry under
    // another: whichever it is taken for first, both are copied with every member
    for (const [bdf, tableFirst] of [['0000:0a:00.0', true], ['0000:0b:00.0', false]] as const) {
      const base = {
        pasid: { [bdf]: { 1: { did: 1 }, 2: { did: 2 } } as Record<number, { did: number }> },
        context: { [bdf]: { did: 7, domain: 3 } },
      }
      const t = { ...fresh(), units: { u: base } } as unknown as State
      const next = produce(t, (d) => {
        const u = (d.units as unknown as Record<string, typeof base>).u
        if (tableFirst) u.pasid[bdf][3] = { did: 3 }
        u.context[bdf].did = 8
        if (!tableFirst) u.pasid[bdf][3] = { did: 3 }
      }) as unknown as { units: { u: typeof base } }
      expect(next.units.u).toEqual({ pasid: { [bdf]: { 1: { did: 1 }, 2: { did: 2 }, 3: { did: 3 } } }, context: { [bdf]: { did: 8, domain: 3 } } })
      expect(next.units.u.pasid[bdf][1]).toBe(base.pasid[bdf][1])
      expect(base).toEqual({ pasid: { [bdf]: { 1: { did: 1 }, 2: { did: 2 } } }, context: { [bdf]: { did: 7, domain: 3 } } })
    }
  })
  it('Object.entries, Object.keys and a list\'s length read through a draft as through the data', () => {
    const s = fresh()
    produce(s, (d) => {
      expect(Object.keys(d.groups)).toEqual(Object.keys(s.groups))
      expect(Object.entries(d.devices).map(([k]) => k)).toEqual(Object.keys(s.devices))
      expect(Object.keys(d.pages).length).toBe(s.pages.length)
      expect(Object.getOwnPropertyDescriptor(d.pages, 'length')).toMatchObject({ value: s.pages.length, enumerable: false })
      expect(Object.getOwnPropertyDescriptor(d.groups, 'nothing')).toBeUndefined()
    })
  })
})
