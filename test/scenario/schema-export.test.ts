import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { SCHEMA_PATH, scenarioJsonSchema } from '../../src/scenario/export-schema.ts'

describe('reports/schema/scenario.schema.json', () => {
  it('is up to date with src/scenario/schema.ts (regenerate: node --import tsx src/scenario/export-schema.ts)', () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(scenarioJsonSchema())
  })

  it('describes every op as a branch of steps[]', () => {
    const schema = JSON.parse(scenarioJsonSchema())
    const branches = schema.properties.steps.items.oneOf as { properties: { op: { const: string } } }[]
    expect(branches.map((b) => b.properties.op.const)).toContain('IOMMU_HWPT_LU_SET_PRESERVE')
    // 27 ops of DESIGN.md §2.1 + GET_NAME and the two newer names of the mark ioctl (issue 8)
    expect(branches).toHaveLength(30)
    expect(branches.map((b) => b.properties.op.const)).toEqual(expect.arrayContaining(['LIVEUPDATE_SESSION_GET_NAME', 'IOMMU_HWPT_LU_MARK_PRESERVE', 'IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE']))
    expect(schema.$defs.u64.anyOf.length).toBeGreaterThan(1)
  })
})
