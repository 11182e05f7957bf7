// The model releases unreferenced files only after the ops that can drop a reference
// (models/step.ts DROPS_REFERENCES). In paranoid mode it checks after every op that no
// other op ever left a file unreferenced; a random campaign must not trip it.
import { expect, it } from 'vitest'

it('no op outside DROPS_REFERENCES leaves a file unreferenced (paranoid campaign)', async () => {
  process.env.LUV_MODEL_PARANOID = '1'
  const { runProperty } = await import('../../properties/run.ts')
  const { DEFAULT_PLATFORM, TINY_PLATFORM, resolveDesign } = await import('../../models/index.ts')
  for (const [platform, seed] of [[DEFAULT_PLATFORM, 11], [TINY_PLATFORM, 12]] as const) {
    const r = runProperty({ platform, design: resolveDesign({}), impl: 'model', seed, numRuns: 150 })
    expect(r.error).toBeUndefined()
    expect(r.passed).toBe(true)
  }
})
