// Writes the JSON Schema of the scenario format to reports/schema/scenario.schema.json, for
// editors ("$schema" in a scenario file) and tools outside TypeScript. Regenerate after changing
// schema.ts:  node --import tsx src/scenario/export-schema.ts
// (test/scenario/schema-export.test.ts fails while the committed file is out of date).

import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { scenarioFileSchema } from './schema.ts'

export const SCHEMA_PATH = fileURLToPath(new URL('../../reports/schema/scenario.schema.json', import.meta.url))

export function scenarioJsonSchema(): string {
  const schema = {
    ...z.toJSONSchema(scenarioFileSchema, { target: 'draft-2020-12' }),
    title: 'luv scenario',
    description:
      'A luv scenario file (DESIGN.md §2.2): a platform, a design and a list of ops in kernel uAPI vocabulary. ' +
      'u64 values are hex or decimal strings or safe integers; "$name" refers to the output bound by an earlier step\'s "as". ' +
      'Not expressible here and checked by luv: decimal u64 strings ≤ 2^64-1, "$name" bound by an earlier step, unique unit names and BDFs.',
  }
  return JSON.stringify(schema, null, 2) + '\n'
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(dirname(SCHEMA_PATH), { recursive: true })
  writeFileSync(SCHEMA_PATH, scenarioJsonSchema())
  console.log(`wrote ${SCHEMA_PATH}`)
}
