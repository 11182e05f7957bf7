// Paranoid mode checks the model's two shortcuts after every op, and a random campaign must
// not trip it: unreferenced files are released only after the ops that can drop a reference
// (models/step.ts DROPS_REFERENCES), and the incremental table-page count equals the formula
// (models/iommu.ts tablePagesNeeded over every domain's leaves).
import { expect, it } from 'vitest'

it('the model shortcuts agree with their definitions (paranoid campaign)', async () => {
  process.env.LUV_MODEL_PARANOID = '1'
  const { runProperty } = await import('../../properties/run.ts')
  const { DEFAULT_PLATFORM, TINY_PLATFORM, resolveDesign } = await import('../../models/index.ts')
  for (const [platform, seed] of [[DEFAULT_PLATFORM, 11], [TINY_PLATFORM, 12]] as const) {
    const r = runProperty({ platform, design: resolveDesign({}), impl: 'model', seed, numRuns: 150 })
    expect(r.error).toBeUndefined()
    expect(r.passed).toBe(true)
  }
})
