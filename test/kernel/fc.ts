// fast-check settings for the kernel unit tests: a fixed seed unless LUV_SEED says otherwise,
// so CI is reproducible and a failure's seed can be replayed.
import fc from 'fast-check'

export const seed = process.env.LUV_SEED !== undefined ? Number(process.env.LUV_SEED) : 0x10f5eed

export function check<Ts extends [unknown, ...unknown[]]>(prop: fc.IProperty<Ts>, numRuns = 200): void {
  fc.assert(prop, { seed, numRuns })
}
