import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Iotlb, type IotlbEntry } from '../../src/kernel/iotlb.ts'
import { check } from './fc.ts'

describe('Iotlb', () => {
  it('misses, then hits once filled, counting both', () => {
    const t = new Iotlb()
    expect(t.lookup(0, 2, 0, 100)).toBe(-1)
    t.fill(0, 2, 0, 100, 7, 0)
    expect(t.lookup(0, 2, 0, 100)).toBe(7)
    expect(t.lookup(0, 2, 0, 101)).toBe(-1)
    expect([t.hits, t.misses]).toEqual([1, 2])
  })

  it('keeps serving a stale translation until a flush covering it', () => {
    const t = new Iotlb()
    t.fill(0, 2, 0, 100, 7, 0)
    // the page table changed (unmap + remap elsewhere) but nobody flushed
    expect(t.lookup(0, 2, 0, 100)).toBe(7)
    t.flushPages(0, 2, 101, 10) // wrong range
    t.flushPages(0, 3, 100, 1) // wrong DID
    t.flushPages(1, 2, 100, 1) // wrong unit
    t.flushPasid(0, 2, 5) // wrong PASID
    t.flushDomain(0, 4)
    t.flushGlobal(1)
    expect(t.lookup(0, 2, 0, 100)).toBe(7)
    t.flushPages(0, 2, 95, 6)
    expect(t.lookup(0, 2, 0, 100)).toBe(-1)
  })

  it('tags entries by unit, DID and PASID', () => {
    const t = new Iotlb()
    t.fill(0, 2, 0, 1, 10, 0)
    t.fill(0, 2, 3, 1, 11, 0)
    t.fill(0, 3, 0, 1, 12, 0)
    t.fill(1, 2, 0, 1, 13, 0)
    expect([t.lookup(0, 2, 0, 1), t.lookup(0, 2, 3, 1), t.lookup(0, 3, 0, 1), t.lookup(1, 2, 0, 1)]).toEqual([
      10, 11, 12, 13,
    ])
    t.flushPasid(0, 2, 3)
    expect([t.lookup(0, 2, 0, 1), t.lookup(0, 2, 3, 1)]).toEqual([10, -1])
    t.fill(0, 2, 3, 1, 11, 0)
    t.flushDomain(0, 2) // every PASID of DID 2 on unit 0
    expect([t.lookup(0, 2, 0, 1), t.lookup(0, 2, 3, 1), t.lookup(0, 3, 0, 1), t.lookup(1, 2, 0, 1)]).toEqual([
      -1, -1, 12, 13,
    ])
    t.flushGlobal(0)
    expect([t.lookup(0, 3, 0, 1), t.lookup(1, 2, 0, 1)]).toEqual([-1, 13])
  })

  it('page-selective flush with a PASID spares other PASIDs of the DID', () => {
    const t = new Iotlb()
    t.fill(0, 2, 0, 1, 10, 0)
    t.fill(0, 2, 3, 1, 11, 0)
    t.flushPages(0, 2, 0, 4, 3)
    expect([t.lookup(0, 2, 0, 1), t.lookup(0, 2, 3, 1)]).toEqual([10, -1])
  })

  it('lets one superpage entry serve every 4 KiB page it covers', () => {
    const t = new Iotlb()
    t.fill(0, 2, 0, 512 + 17, 4096 + 17, 9) // filled from a walk at an inner page
    expect(t.lookup(0, 2, 0, 512)).toBe(4096)
    expect(t.lookup(0, 2, 0, 1023)).toBe(4096 + 511)
    expect(t.lookup(0, 2, 0, 1024)).toBe(-1)
    t.fill(0, 2, 0, 262144 * 2 + 5, 262144 * 7 + 5, 18)
    expect(t.lookup(0, 2, 0, 262144 * 3 - 1)).toBe(262144 * 8 - 1)
    expect(t.size).toBe(2)
    const seen: IotlbEntry[] = []
    t.forEach((e) => seen.push(e))
    expect(seen).toContainEqual({ unit: 0, did: 2, pasid: 0, iovaPfn: 512, pfn: 4096, order: 9 })
  })

  it('drops a superpage entry on a page-selective flush of any page inside it', () => {
    const t = new Iotlb()
    t.fill(0, 2, 0, 512, 4096, 9)
    t.fill(0, 2, 0, 262144, 262144, 18)
    t.flushPages(0, 2, 1000, 1)
    expect(t.lookup(0, 2, 0, 512)).toBe(-1)
    expect(t.lookup(0, 2, 0, 262144)).toBe(262144)
    t.flushPages(0, 2, 262144 * 2 - 1, 1)
    expect(t.lookup(0, 2, 0, 262144)).toBe(-1)
  })

  it('hands out tags that stay valid across flushes and see them', () => {
    const t = new Iotlb()
    const tag = t.tag(1, 5, 2)
    tag.fill(40, 400, 0)
    expect(t.lookup(1, 5, 2, 40)).toBe(400)
    expect(tag.lookup(40)).toBe(400)
    t.flushDomain(1, 5)
    expect(tag.lookup(40)).toBe(-1)
    tag.fill(40, 401, 0)
    expect(t.lookup(1, 5, 2, 40)).toBe(401)
    t.flushGlobal(1)
    expect(tag.lookup(40)).toBe(-1)
    expect(t.tag(1, 5, 2)).toBe(tag)
    expect([t.hits, t.misses]).toEqual([3, 2])
  })

  it('refuses tags it cannot pack', () => {
    expect(() => new Iotlb().fill(0, 65536, 0, 0, 0, 0)).toThrow(/out of range/)
    expect(() => new Iotlb().fill(0, 1, 0, 0, 0, 3)).toThrow(/order/)
  })
})

// A naive IOTLB: a list of entries, flushes filter it.
type Op =
  | { k: 'fill'; unit: number; did: number; pasid: number; p: number; pfn: number; order: number }
  | { k: 'look'; unit: number; did: number; pasid: number; p: number }
  | { k: 'pages'; unit: number; did: number; p: number; n: number; pasid?: number }
  | { k: 'pasid'; unit: number; did: number; pasid: number }
  | { k: 'domain'; unit: number; did: number }
  | { k: 'global'; unit: number }

const small = (max: number): fc.Arbitrary<number> => fc.integer({ min: 0, max })
const page = fc.oneof(small(2000), fc.integer({ min: 262000, max: 265000 }))
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('fill' as const), unit: small(1), did: small(2), pasid: small(1), p: page, pfn: fc.nat(1 << 30), order: fc.constantFrom(0, 0, 9, 18) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('look' as const), unit: small(1), did: small(2), pasid: small(1), p: page }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('pages' as const), unit: small(1), did: small(2), p: page, n: fc.integer({ min: 1, max: 3000 }), pasid: fc.option(small(1), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('pasid' as const), unit: small(1), did: small(2), pasid: small(1) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('domain' as const), unit: small(1), did: small(2) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('global' as const), unit: small(1) }) },
)

describe('Iotlb against a naive list (fast-check)', () => {
  it('answers and flushes like the list', () => {
    check(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const t = new Iotlb()
        let list: IotlbEntry[] = []
        for (const op of ops) {
          switch (op.k) {
            case 'fill': {
              const span = 2 ** op.order
              const base = op.p - (op.p % span)
              const e = { unit: op.unit, did: op.did, pasid: op.pasid, iovaPfn: base, pfn: op.pfn - (op.p % span), order: op.order }
              list = list.filter((x) => !(x.unit === e.unit && x.did === e.did && x.pasid === e.pasid && x.order === e.order && x.iovaPfn === e.iovaPfn))
              list.push(e)
              t.fill(op.unit, op.did, op.pasid, op.p, op.pfn, op.order)
              break
            }
            case 'look': {
              // several sizes may cover the page: the 4 KiB entry wins, then 2 MiB, then 1 GiB
              const hits = list
                .filter((x) => x.unit === op.unit && x.did === op.did && x.pasid === op.pasid && op.p >= x.iovaPfn && op.p < x.iovaPfn + 2 ** x.order)
                .sort((a, b) => a.order - b.order)
              expect(t.lookup(op.unit, op.did, op.pasid, op.p)).toBe(hits.length ? hits[0].pfn + op.p - hits[0].iovaPfn : -1)
              break
            }
            case 'pages':
              list = list.filter((x) => !(x.unit === op.unit && x.did === op.did && (op.pasid === undefined || x.pasid === op.pasid) && x.iovaPfn < op.p + op.n && op.p < x.iovaPfn + 2 ** x.order))
              t.flushPages(op.unit, op.did, op.p, op.n, op.pasid)
              break
            case 'pasid':
              list = list.filter((x) => !(x.unit === op.unit && x.did === op.did && x.pasid === op.pasid))
              t.flushPasid(op.unit, op.did, op.pasid)
              break
            case 'domain':
              list = list.filter((x) => !(x.unit === op.unit && x.did === op.did))
              t.flushDomain(op.unit, op.did)
              break
            case 'global':
              list = list.filter((x) => x.unit !== op.unit)
              t.flushGlobal(op.unit)
              break
          }
          expect(t.size).toBe(list.length)
        }
      }),
      300,
    )
  })
})
