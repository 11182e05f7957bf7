import { describe, expect, it } from 'vitest'
import type { Result } from '../../models/ops.ts'
import { parseScenario } from '../../src/scenario/load.ts'
import { runScenario } from '../../src/scenario/run.ts'
import { colorEnabled, paint, renderRun, summaryLine } from '../../src/scenario/print.ts'
import { fakeExecutor } from './fake-executor.ts'
import type { Answer } from './fake-executor.ts'

const ANSI = /\x1b\[/

const scenario = parseScenario(
  {
    name: 'destroy-twice',
    steps: [
      { op: 'IOMMUFD_OPEN', as: 'ifd' },
      { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: '$ifd' }, as: 'ioas' },
      { op: 'IOMMU_IOAS_MAP', args: { iommufd: '$ifd', ioas: '$ioas', length: '0x4000', iova: '0x100000' } },
      { op: 'DMA', args: { bdf: '0000:01:00.0', iova: '0x100000' }, expect: 'fault' },
      { op: 'IOMMU_DESTROY', args: { iommufd: '$ifd', id: '$ioas' }, expect: 'ENOENT' },
    ],
  },
  'destroy-twice.json',
)

const answers: (Result | Answer)[] = [
  { ok: true, out: 3 },
  { ok: true, out: 1 },
  { ok: true, out: 0x100000n },
  { ok: false, fault: 'not-present' },
  { result: { ok: true }, violations: [{ property: 'isolation', message: 'DID 2 used twice on dmar0' }] },
]

function traceOf(opts: { impl?: 'model' | 'both'; kernel?: (Result | undefined)[] } = {}): string[] {
  const executor = fakeExecutor({
    impl: opts.impl ?? 'model',
    respond: (_op, n) => {
      const a = answers[n]
      const answer: Answer = 'result' in a ? a : { result: a }
      const k = opts.kernel?.[n] ?? (opts.impl === 'both' ? answer.result : undefined)
      return k ? { ...answer, kernelResult: k } : answer
    },
  })
  const run = runScenario(scenario, { executor })
  return paint(renderRun(run, { design: 'lpc2025 ownership=strict' }), false).split('\n')
}

describe('renderRun', () => {
  it('prints one line per step in kernel vocabulary, failures marked and explained', () => {
    const lines = traceOf()
    expect(lines[0]).toBe('scenario destroy-twice (destroy-twice.json)')
    expect(lines[1]).toBe('  design lpc2025 ownership=strict, impl model')
    expect(lines[2]).toBe('  [0] IOMMUFD_OPEN() = 3  as $ifd')
    expect(lines[3]).toBe('  [1] IOMMU_IOAS_ALLOC(iommufd=3) = 1  as $ioas')
    expect(lines[4]).toBe('  [2] IOMMU_IOAS_MAP(iommufd=3, ioas=1, length=0x4000, iova=0x100000) = 0x100000')
    expect(lines[5]).toBe('  [3] DMA(bdf=0000:01:00.0, iova=0x100000) = fault (not-present)  expect fault')
    expect(lines[6]).toBe('! [4] IOMMU_DESTROY(iommufd=3, id=1) = 0  expect ENOENT')
    expect(lines[7]).toBe('        !! expectation failed: expected ENOENT, got 0')
    expect(lines[8]).toBe('        !! isolation: DID 2 used twice on dmar0')
    expect(lines[9]).toBe('FAIL destroy-twice: 1 expectation failure, 1 property violation')
  })

  it('with both implementations, shows a divergence with both results', () => {
    const lines = traceOf({ impl: 'both', kernel: [undefined, { ok: false, errno: 'ENOSPC' }] })
    expect(lines[1]).toBe('  design lpc2025 ownership=strict, impl both')
    expect(lines[3]).toBe('! [1] IOMMU_IOAS_ALLOC(iommufd=3) = model 1 | kernel -ENOSPC  as $ioas')
    expect(lines[4]).toBe('        !! divergence: model 1, kernel -ENOSPC')
    expect(lines).toContain('        !! expectation failed: expected ENOENT, got model 0, kernel 0')
    expect(lines.at(-2)).toBe('FAIL destroy-twice: 1 expectation failure, 1 divergence, 1 property violation')
  })

  it('prints PASS for a passing run, and the finish violations under "finish"', () => {
    const pass = runScenario(parseScenario({ name: 'p', steps: [{ op: 'KEXEC' }] }, 'p.json'), {
      executor: fakeExecutor({ respond: () => ({ ok: true }) }),
    })
    expect(renderRun(pass).map((l) => l.text)).toEqual(['scenario p (p.json)', '  impl model', '  [0] KEXEC() = 0', 'PASS p'])
    const leak = runScenario(parseScenario({ name: 'l', steps: [] }, 'l.json'), {
      executor: fakeExecutor({ finish: [{ property: 'recoverability', message: '2 handover pages leaked' }] }),
    })
    expect(renderRun(leak).map((l) => l.text).slice(2)).toEqual([
      '! finish',
      '        !! recoverability: 2 handover pages leaked',
      'FAIL l: 1 property violation',
    ])
  })
})

describe('colour at the edge', () => {
  it('paints only when asked', () => {
    const lines = [summaryLine(1, 1)]
    expect(paint(lines, false)).toBe('1 passed, 1 failed\n')
    expect(paint(lines, true)).toMatch(ANSI)
    expect(paint(lines, true).replace(/\x1b\[\d+m/g, '')).toBe('1 passed, 1 failed\n')
  })

  it('is on for a TTY, off for a pipe, NO_COLOR or a dumb terminal', () => {
    expect(colorEnabled({ isTTY: true }, {})).toBe(true)
    expect(colorEnabled({ isTTY: false }, {})).toBe(false)
    expect(colorEnabled({}, {})).toBe(false)
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false)
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '' })).toBe(true) // no-color.org: empty means unset
    expect(colorEnabled({ isTTY: true }, { TERM: 'dumb' })).toBe(false)
  })
})
