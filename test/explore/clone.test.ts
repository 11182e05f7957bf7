// The exploration forks the kernel implementation at a state (src/explore/clone.ts) instead of
// replaying the state's trace for every transition. A fork must behave exactly like the
// kernel it was copied from, and must not share anything mutable with it.

import { isDeepStrictEqual } from 'node:util'
import { describe, expect, it } from 'vitest'
import { resolveDesign } from '../../models/design.ts'
import { initState, step } from '../../models/step.ts'
import type { Op } from '../../models/ops.ts'
import { Kernel } from '../../src/kernel/index.ts'
import { cloneGraph } from '../../src/explore/clone.ts'
import { enabledOps, exploredOps } from '../../src/explore/actions.ts'
import { defaultScope } from '../../src/explore/scope.ts'
import { explore } from '../../src/explore/explore.ts'

const scope = defaultScope()
const design = resolveDesign({})

function observeAll(k: Kernel) {
  const p = k.liveProbes()
  return { obs: k.observe(p), inv: k.invariants() }
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
