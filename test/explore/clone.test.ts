// The exploration forks the kernel implementation at a state (src/explore/clone.ts) instead of
// replaying the state's trace for every transition. A fork must behave exactly like the
// kernel it was copied from, and must not share anything mutable with it. And a state's
// state-changing transitions are taken on its kernel itself, each undone in place
// (Snapshot.restore) before the next: the undone kernel must be, and behave as, the kernel
// before the op — checked against a copy, over random walks, and the whole search with the
// undo against the search with a copy per transition.

import { isDeepStrictEqual } from 'node:util'
import { describe, expect, it } from 'vitest'
import { resolveDesign } from '../../models/design.ts'
import { initState, step } from '../../models/step.ts'
import type { Op } from '../../models/ops.ts'
import { Kernel } from '../../src/kernel/index.ts'
import { cloneGraph, Snapshot } from '../../src/explore/clone.ts'
import { withoutPageRecycling } from '../../src/kernel/phys.ts'
import { undone } from '../../src/explore/expand.ts'
import { DEFECT_NAMES } from '../../src/kernel/defects/index.ts'
import { enabledOps, exploredOps } from '../../src/explore/actions.ts'
import { defaultScope } from '../../src/explore/scope.ts'
import { explore } from '../../src/explore/explore.ts'

const scope = defaultScope()
const design = resolveDesign({})

function observeAll(k: Kernel) {
  const p = k.liveProbes()
  return { obs: k.observe(p), inv: k.invariants() }
}

/** Where two object graphs differ, or undefined: the same shape object for object under one
 *  pairing (so aliasing must match too: an object reached twice in one is the same object
 *  reached twice in the other), prototypes, keys (a key set to undefined counts as absent, as
 *  the kernel reads it: restore() clears a key an op added that way), array elements, Map and
 *  Set entries in order, typed arrays' type and bytes, Dates; `shared` objects and functions
 *  by identity. The whole kernel, not just what its observation shows. */
function graphDiff(a: unknown, b: unknown, shared: ReadonlySet<unknown>): string | undefined {
  const pair = new Map<object, object>()
  const walk = (x: unknown, y: unknown, path: string): string | undefined => {
    if (typeof x !== 'object' || x === null || shared.has(x)) return Object.is(x, y) ? undefined : `${path}: ${String(x)} / ${String(y)}`
    if (typeof y !== 'object' || y === null) return `${path}: object / ${String(y)}`
    const seen = pair.get(x)
    if (seen !== undefined) return seen === y ? undefined : `${path}: aliasing differs`
    pair.set(x, y)
    if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return `${path}: prototype`
    if (ArrayBuffer.isView(x)) {
      const u = new Uint8Array(x.buffer, x.byteOffset, x.byteLength)
      const yv = y as ArrayBufferView
      return isDeepStrictEqual(u, new Uint8Array(yv.buffer, yv.byteOffset, yv.byteLength)) ? undefined : `${path}: bytes`
    }
    if (x instanceof Date) return x.getTime() === (y as Date).getTime() ? undefined : `${path}: time`
    if (x instanceof Map || x instanceof Set) {
      const ex = [...(x as Map<unknown, unknown>).entries()]
      const ey = [...(y as Map<unknown, unknown>).entries()]
      if (ex.length !== ey.length) return `${path}: size ${ex.length} / ${ey.length}`
      for (let i = 0; i < ex.length; i++) {
        const d = walk(ex[i][0], ey[i][0], `${path}<key ${i}>`) ?? walk(ex[i][1], ey[i][1], `${path}<${i}>`)
        if (d) return d
      }
      return undefined
    }
    const keys = (o: object) => Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined)
    const kx = keys(x)
    const ky = keys(y)
    if (!isDeepStrictEqual(kx, ky)) return `${path}: keys ${kx.join(',')} / ${ky.join(',')}`
    for (const k of kx) {
      const vx = (x as Record<string, unknown>)[k]
      const vy = (y as Record<string, unknown>)[k]
      const d = typeof vx === 'function' ? (vx === vy ? undefined : `${path}.${k}: function`) : walk(vx, vy, `${path}.${k}`)
      if (d) return d
    }
    return undefined
  }
  return walk(a, b, 'kernel')
}

describe('cloneGraph', () => {
  it('keeps prototypes, identity and Map/Set/typed-array contents, and shares nothing mutable', () => {
    class A {
      m = new Map<object, number>()
      buf = new Uint32Array([1, 2])
      hello() {
        return 'a'
      }
    }
    const shared = { k: 1 }
    const a = new A()
    const o = { a, again: a, key: shared }
    a.m.set(o, 3)
    const c = cloneGraph(o, new Set([shared]))
    expect(c.a).toBeInstanceOf(A)
    expect(c.a.hello()).toBe('a')
    expect(c.again).toBe(c.a)
    expect(c.a.m.get(c)).toBe(3)
    expect(c.key).toBe(shared)
    c.a.buf[0] = 9
    expect(a.buf[0]).toBe(1)
  })

  it('a forked kernel takes every op as the original does (random walks from each initial state)', async () => {
    const inits = (await explore({ scope, design, depth: 0, conformance: false })).init.map((i) => i.ops)
    let seed = 12345
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n)
    const ops = exploredOps(scope)
    for (let walk = 0; walk < 12; walk++) {
      const k = new Kernel(scope.platform, design)
      let m = initState(scope.platform, design)
      for (const op of inits[walk % inits.length]) {
        k.apply(op, [])
        m = step(m, op).state
      }
      const shared = new Set<unknown>([scope.platform, design])
      for (let i = 0; i < 40; i++) {
        const choices = enabledOps(m, scope, ops)
        const op: Op = choices[rnd(choices.length)]
        const f = cloneGraph(k, shared)
        const before = observeAll(k)
        const rf = f.apply(op, f.liveProbes())
        // the fork's op left the original as it was
        expect(isDeepStrictEqual(observeAll(k), before)).toBe(true)
        const rk = k.apply(op, k.liveProbes())
        expect(rf.result).toEqual(rk.result)
        expect(isDeepStrictEqual(observeAll(f), observeAll(k))).toBe(true)
        m = step(m, op).state
      }
    }
  })
})

describe('Snapshot.restore (the undo)', () => {
  it('puts a graph back in place: same objects, keys, Map/Set order, array lengths, bytes; what the change made is dropped', () => {
    class A {
      m = new Map<string, object>()
      s = new Set<number>([1, 2, 3])
      buf = new Uint32Array([1, 2])
      list: object[] = []
      opt?: { x: number }
      when = new Date(5)
    }
    const a = new A()
    const inner = { n: 1 }
    a.m.set('x', inner).set('y', a)
    a.list.push(inner)
    const root = { a, inner, again: a }
    const snap = new Snapshot(root)
    // change everything: values, a key added, Map/Set order and contents, lengths, bytes
    inner.n = 2
    a.opt = { x: 1 }
    a.m.delete('x')
    a.m.set('x', { n: 9 })
    a.s.delete(1)
    a.s.add(1)
    a.buf[1] = 7
    a.list.push({}, {})
    a.when.setTime(9)
    ;(root as { again: unknown }).again = inner
    snap.restore()
    expect(root.again).toBe(a)
    expect(inner.n).toBe(1)
    expect(a.opt).toBeUndefined()
    expect([...a.m.keys()]).toEqual(['x', 'y'])
    expect(a.m.get('x')).toBe(inner)
    expect([...a.s]).toEqual([1, 2, 3])
    expect([...a.buf]).toEqual([1, 2])
    expect(a.list).toEqual([inner])
    expect(a.list[0]).toBe(inner)
    expect(a.when.getTime()).toBe(5)
    snap.forget()
    expect(() => snap.restore()).toThrow(/forget/)
    // a forgotten snapshot still makes copies
    expect(snap.instantiate().a.m.get('y')).toBeInstanceOf(A)
  })

  it('an undone kernel is the kernel before the op, and takes the next op as a copy does (random walks from each initial state)', async () => {
    const inits = (await explore({ scope, design, depth: 0, conformance: false })).init.map((i) => i.ops)
    let seed = 4242
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n)
    const ops = exploredOps(scope)
    const shared = new Set<unknown>([scope.platform, design])
    let undone = 0
    for (let walk = 0; walk < 16; walk++) {
      // half the walks on a seeded defect: its hooks keep state in the kernel too
      const defect = walk % 2 === 1 ? DEFECT_NAMES[(walk >> 1) % DEFECT_NAMES.length] : undefined
      const k = new Kernel(scope.platform, design, { defect })
      let m = initState(scope.platform, design)
      for (const op of inits[walk % inits.length]) {
        k.apply(op, [])
        m = step(m, op).state
      }
      for (let i = 0; i < 30; i++) {
        const choices = enabledOps(m, scope, ops)
        const snap = new Snapshot(k, shared)
        const before = observeAll(k)
        withoutPageRecycling(() => {
          for (let j = 0; j < 4; j++) {
            const op: Op = choices[rnd(choices.length)]
            const f = snap.instantiate()
            const probes = f.liveProbes()
            let rk, rf
            try {
              rf = f.apply(op, probes)
            } catch (e) {
              rf = String(e)
            }
            try {
              rk = k.apply(op, probes)
            } catch (e) {
              rk = String(e)
            }
            expect(isDeepStrictEqual(rk, rf)).toBe(true)
            expect(isDeepStrictEqual(observeAll(k), observeAll(f))).toBe(true)
            snap.restore()
            undone++
            // the whole kernel is back, object for object (not only what it observes; once per
            // state: the walk is slow)
            if (j === 0) expect(graphDiff(k, snap.instantiate(), shared)).toBeUndefined()
            expect(isDeepStrictEqual(observeAll(k), before)).toBe(true)
          }
        })
        snap.forget()
        // then the walk goes on, on the undone kernel and on a copy of the snapshot taken
        // before the undone ops (not of k: a copy of k would carry whatever restore() missed)
        const op: Op = choices[rnd(choices.length)]
        const f = snap.instantiate()
        const rk = k.apply(op, k.liveProbes())
        const rf = f.apply(op, f.liveProbes())
        expect(isDeepStrictEqual(rk, rf)).toBe(true)
        expect(isDeepStrictEqual(observeAll(k), observeAll(f))).toBe(true)
        m = step(m, op).state
      }
    }
    expect(undone).toBe(16 * 30 * 4)
  })

  it('after an undone op the sweep of what the op wrote finds what a full sweep finds, inside and after the undo (write counters wound back)', async () => {
    const inits = (await explore({ scope, design, depth: 0, conformance: false })).init.map((i) => i.ops)
    const shared = new Set<unknown>([scope.platform, design])
    let seed = 99
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n)
    const ops = exploredOps(scope)
    for (const init of inits) {
      const k = new Kernel(scope.platform, design)
      let m = initState(scope.platform, design)
      for (const op of init) {
        k.apply(op, [])
        m = step(m, op).state
      }
      for (let i = 0; i < 12; i++) {
        // as the search does: k swept, its snapshot taken, then each transition undone
        expect(k.touchedInvariants()).toEqual(k.invariants())
        const snap = new Snapshot(k, shared)
        const marks: number[] = []
        const clean = k.invariants()
        // a write the kernel's own sweep must see: a DID allocated that no entry uses
        undone(snap, marks, () => {
          const did = k.internals.units[0].ida.alloc()
          expect(typeof did).toBe('number')
          const found = k.touchedInvariants()
          expect(found.some((x) => /DID \d+ is allocated in domain_ida but no entry uses it/.test(x))).toBe(true)
          expect(found).toEqual(k.invariants())
        })
        // undone: the leak is gone, and the sweep of what changed agrees
        expect(k.touchedInvariants()).toEqual(clean)
        expect(k.invariants()).toEqual(clean)
        // and a real op, undone too, then the walk goes on
        const choices = enabledOps(m, scope, ops)
        const op = choices[rnd(choices.length)]
        // (undone keeps the pages the op frees out of the pool itself)
        undone(snap, marks, () => {
          k.apply(op, k.liveProbes())
          expect(k.touchedInvariants()).toEqual(k.invariants())
        })
        expect(k.touchedInvariants()).toEqual(clean)
        snap.forget()
        k.apply(op, k.liveProbes())
        m = step(m, op).state
      }
    }
  })

  it('the search with the undo finds what it finds with a copy per transition (clean, and with seeded defects)', async () => {
    for (const defect of [undefined, 'did-alloc-off-by-one', 'ioas-mutable-after-preserve']) {
      const run = (kernelUndo: boolean) => explore({ scope, design, depth: 2, conformance: true, kernelUndo, ...(defect && { defect }) })
      const [u, c] = [await run(true), await run(false)]
      expect(u.conformance.undos).toBeGreaterThan(0)
      expect(c.conformance.undos).toBe(0)
      expect(u.stats.distinct).toBe(c.stats.distinct)
      expect(u.stats.transitions).toBe(c.stats.transitions)
      expect(u.conformance.transitions).toBe(c.conformance.transitions)
      expect(u.conformance.divergences).toBe(c.conformance.divergences)
      expect(u.violations).toEqual(c.violations)
      expect(u.violationCounts).toEqual(c.violationCounts)
    }
  })
})
