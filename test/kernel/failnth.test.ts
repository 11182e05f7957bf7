import { describe, expect, it } from 'vitest'
import { FaultInjector } from '../../src/kernel/failnth.ts'

describe('FaultInjector (fail-nth)', () => {
  it('fails exactly the n-th point once, then is disarmed', () => {
    const f = new FaultInjector()
    f.arm(3)
    expect([f.shouldFail(), f.shouldFail(), f.shouldFail(), f.shouldFail()]).toEqual([false, false, true, false])
    expect(f.reached()).toBe(true)
    expect(f.armed).toBe(false)
    expect(f.points).toBe(4)
  })

  it('reports not reached when the op has fewer points', () => {
    const f = new FaultInjector()
    f.arm(5)
    for (let i = 0; i < 4; i++) expect(f.shouldFail()).toBe(false)
    expect(f.reached()).toBe(false)
    f.disarm()
    expect(f.shouldFail()).toBe(false)
  })

  it('never fails when not armed', () => {
    const f = new FaultInjector()
    for (let i = 0; i < 100; i++) expect(f.shouldFail()).toBe(false)
    expect(f.reached()).toBe(false)
  })
})
