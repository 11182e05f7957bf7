import { describe, expect, it } from 'vitest'
import type { Op, Result } from '../../models/ops.ts'
import { parseScenario } from '../../src/scenario/load.ts'
import { ScenarioError } from '../../src/scenario/error.ts'
import { UnboundNameError, expectMatches, runScenario } from '../../src/scenario/run.ts'
import { fakeExecutor } from './fake-executor.ts'
import { DESIGN_EXAMPLE } from './fixtures.ts'

const scenario = (steps: unknown[]) => parseScenario({ name: 't', steps }, 't.json')

describe('runScenario', () => {
  it('resolves "$name" arguments to the outputs of earlier steps', () => {
    const outs: Partial<Record<Op['op'], number | bigint>> = {
      MEMFD_CREATE: 3,
      IOMMUFD_OPEN: 4,
      IOMMU_IOAS_ALLOC: 1,
      IOMMU_IOAS_MAP: 0x100000n,
    }
    const ex = fakeExecutor({ respond: (op): Result => ({ ok: true, out: outs[op.op] }) })
    const run = runScenario(
      scenario([
        { op: 'MEMFD_CREATE', args: { pages: 4 }, as: 'mfd' },
        { op: 'IOMMUFD_OPEN', as: 'ifd' },
        { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: '$ifd' }, as: 'ioas' },
        { op: 'IOMMU_IOAS_MAP', args: { iommufd: '$ifd', ioas: '$ioas', length: '0x4000' }, as: 'iova' },
        { op: 'IOMMU_IOAS_UNMAP', args: { iommufd: '$ifd', ioas: '$ioas', iova: '$iova', length: 16384 } },
        { op: 'CLOSE', args: { fd: '$mfd' } },
      ]),
      { executor: ex },
    )
    expect(ex.ops[2]).toEqual({ op: 'IOMMU_IOAS_ALLOC', args: { iommufd: 4 } })
    expect(ex.ops[4]).toEqual({ op: 'IOMMU_IOAS_UNMAP', args: { iommufd: 4, ioas: 1, iova: 0x100000n, length: 0x4000n } })
    expect(ex.ops[5]).toEqual({ op: 'CLOSE', args: { fd: 3 } })
    expect(run.steps[0].bound).toEqual({ name: 'mfd', value: 3 })
    expect(run.steps[3].bound).toEqual({ name: 'iova', value: 0x100000n })
    expect(run.passed).toBe(true)
    expect(ex.finishCalls).toBe(1)
  })

  it('passes when every expectation holds (ok, errno, fault, out)', () => {
    let destroys = 0
    const ex = fakeExecutor({
      respond: (op, n): Result => {
        if (op.op === 'IOMMU_DESTROY') return destroys++ ? { ok: false, errno: 'ENOENT' } : { ok: true }
        if (op.op === 'DMA') return { ok: false, fault: 'no-mapping' }
        return { ok: true, out: n + 3 }
      },
    })
    const run = runScenario(parseScenario(DESIGN_EXAMPLE, 'x.json'), { executor: ex })
    expect(run.steps.map((s) => s.expectOk)).toEqual(Array(8).fill(true))
    expect(run.passed).toBe(true)
  })

  it('fails on an expectation mismatch and says which step', () => {
    const ex = fakeExecutor({ respond: () => ({ ok: false, errno: 'EBUSY' }) })
    const run = runScenario(scenario([{ op: 'KEXEC' }, { op: 'KEXEC', expect: 'ok' }]), { executor: ex })
    expect(run.passed).toBe(false)
    expect(run.steps.map((s) => s.expectOk)).toEqual([true, false])
    expect(run.steps[1].expect).toBe('ok')
  })

  it('matches { out: "$name" } against the bound value', () => {
    const pas = [0x5000n, 0x5000n, 0x6000n]
    const ex = fakeExecutor({ respond: (_op, n) => ({ ok: true, out: pas[n] }) })
    const dma = { op: 'DMA', args: { bdf: '0000:01:00.0', iova: '0x1000' } }
    const run = runScenario(
      scenario([
        { ...dma, as: 'pa' },
        { ...dma, expect: { out: '$pa' } },
        { ...dma, expect: { out: '$pa' } },
      ]),
      { executor: ex },
    )
    expect(run.steps.map((s) => s.expectOk)).toEqual([true, true, false])
    expect(run.steps[2].expect).toEqual({ out: 0x5000n })
  })

  it('makes a "$name" bound by a failed step an error naming the step and field', () => {
    const ex = fakeExecutor({
      respond: (op) => (op.op === 'MEMFD_CREATE' ? { ok: false, errno: 'ENOMEM' } : { ok: true }),
    })
    const s = scenario([
      { op: 'KEXEC' },
      { op: 'MEMFD_CREATE', args: { pages: 4 }, as: 'mfd' },
      { op: 'MEMFD_SEAL', args: { fd: '$mfd', seals: ['SEAL'] } },
    ])
    let error: unknown
    try {
      runScenario(s, { executor: ex })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ScenarioError)
    const e = error as UnboundNameError
    expect(e.field).toBe('steps[2].args.fd')
    expect(e.message).toBe(
      't.json: steps[2].args.fd: $mfd is unbound: steps[1] (MEMFD_CREATE), which binds it, failed with -ENOMEM',
    )
    expect(e.partial.steps).toHaveLength(2)
    expect(ex.ops).toHaveLength(2) // the seal never ran
  })

  it('makes a "$name" of a step with no output unbound', () => {
    const ex = fakeExecutor({ respond: () => ({ ok: true }) })
    const s = scenario([{ op: 'KEXEC', as: 'k' }, { op: 'CLOSE', args: { fd: '$k' } }])
    expect(() => runScenario(s, { executor: ex })).toThrow(/steps\[1\]\.args\.fd: \$k is unbound: .*returned no output/)
  })

  it('collects step and finish violations; either fails the run', () => {
    const v = { property: 'dma-continuity' as const, message: 'translation of 0x1000 changed at KEXEC' }
    const stepViolation = runScenario(scenario([{ op: 'KEXEC' }]), {
      executor: fakeExecutor({ respond: () => ({ result: { ok: true }, violations: [v] }) }),
    })
    expect(stepViolation.steps[0].violations).toEqual([v])
    expect(stepViolation.passed).toBe(false)
    const finish = { property: 'recoverability' as const, message: 'DID 2 leaked on dmar0' }
    const finishViolation = runScenario(scenario([{ op: 'KEXEC' }]), { executor: fakeExecutor({ finish: [finish] }) })
    expect(finishViolation.finishViolations).toEqual([finish])
    expect(finishViolation.passed).toBe(false)
  })

  it('with both implementations, checks the expectation on each and flags a divergence', () => {
    const both = (kernelResult: Result) =>
      fakeExecutor({ impl: 'both', respond: () => ({ result: { ok: false, errno: 'EBUSY' }, kernelResult }) })
    const s = scenario([{ op: 'KEXEC', expect: 'EBUSY' }])
    const agree = runScenario(s, { executor: both({ ok: false, errno: 'EBUSY' }) })
    expect(agree.passed).toBe(true)
    const differ = runScenario(s, { executor: both({ ok: true }) })
    expect(differ.steps[0]).toMatchObject({ expectOk: false, diverged: true, kernelResult: { ok: true } })
    expect(differ.passed).toBe(false)
    expect(differ.impl).toBe('both')
  })
})

describe('expectMatches', () => {
  const okOut = (out: number | bigint): Result => ({ ok: true, out })
  it.each<[Parameters<typeof expectMatches>[0], Result, boolean]>([
    ['ok', okOut(3), true],
    ['ok', { ok: false, errno: 'EBUSY' }, false],
    ['EBUSY', { ok: false, errno: 'EBUSY' }, true],
    ['EBUSY', { ok: false, errno: 'EINVAL' }, false],
    ['fault', { ok: false, fault: 'not-present' }, true],
    ['fault', okOut(0x1000n), false],
    [{ out: 3n }, okOut(3), true],
    [{ out: 3n }, okOut(4), false],
    [{ out: 3n }, { ok: true }, false],
  ])('case %#: expect %s', (e, r, want) => expect(expectMatches(e, r)).toBe(want))
})
