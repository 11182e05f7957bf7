// A long synthetic counterexample with wide arguments: for the 75-column and Mermaid cap tests.

import { err, fault, ok, type Op, type Result } from '../../models/ops.ts'
import type { Counterexample, CounterexampleStep } from '../../src/report/types.ts'
import { goldenCounterexample } from './fixture.ts'

export function longCounterexample(n = 90): Counterexample {
  const base = goldenCounterexample()
  const ops: [Op, Result][] = [
    [
      {
        op: 'IOMMU_IOAS_MAP_FILE',
        args: { iommufd: 12, ioas: 7, memfd: 11, start: 0xfffffffffffff000n, length: 0x7ffffffffffff000n, iova: 0xffffffffffe00000n },
      },
      err('EOVERFLOW'),
    ],
    [{ op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'a-very-long-session-name-without-any-spaces-in-it-at-all-0123456789abcdef' } }, ok(13)],
    [{ op: 'DMA', args: { bdf: '0000:00:02.0', pasid: 3, iova: 0xfffffffffffff000n, write: true } }, fault('not-present')],
    [{ op: 'IOMMU_HWPT_ALLOC', args: { iommufd: 12, dev_id: 4, pt_id: 7, flags: ['NEST_PARENT', 'DIRTY_TRACKING', 'PASID'] } }, err('EOPNOTSUPP')],
    [{ op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: 12, hwpt_id: 9, token: 18446744073709551615n } }, ok()],
  ]
  const steps: CounterexampleStep[] = Array.from({ length: n }, (_, i) => {
    const [op, model] = ops[i % ops.length]
    const s: CounterexampleStep = { index: i, op, model, kernel: model, violations: [] }
    return s
  })
  const last = steps[n - 1]
  last.kernel = ok(0xfffffffffffff000n)
  last.violations = [{ property: 'dma-safety', message: 'x'.repeat(120) + ' then a long explanation of what went wrong' }]
  return { ...base, property: 'dma-safety', message: 'y'.repeat(100), steps, divergenceIndex: n - 1, defect: 'a-defect-with-a-name-long-enough-to-push-the-replay-line-past-the-limit' }
}
