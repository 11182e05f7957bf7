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
    expect(branches).toHaveLength(27)
    expect(schema.$defs.u64.anyOf.length).toBeGreaterThan(1)
  })
})
