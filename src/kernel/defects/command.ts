// `luv defects [--json]`: the seeded-defect catalogue (DESIGN.md §2.6). The handler lives with
// the catalogue; src/cli/main.ts only lists it in its dispatch table.

import { DEFECTS } from './index.ts'

export const DEFECTS_USAGE = `usage: luv defects [--json]

List the seeded defects of the kernel implementation: name, the property expected to catch it,
the length of its shortest known trace (a scenario file) and what it changes. Seed one with
luv run --impl both --defect NAME FILE.
  --json    one JSON array, each entry { name, property, description, scenario, shortestLength }`

interface Out {
  write(text: string): unknown
}

export async function defectsCommand(argv: string[], deps: { stdout: Out; stderr: Out }): Promise<number> {
  const json = argv.includes('--json')
  const other = argv.find((a) => a !== '--json')
  if (other !== undefined) {
    deps.stderr.write(`luv defects: unexpected argument '${other}' (see luv defects --help)\n`)
    return 2
  }
  if (json) {
    const rows = DEFECTS.map(({ name, property, description, scenario, shortestLength }) => ({ name, property, description, scenario, shortestLength }))
    deps.stdout.write(JSON.stringify(rows, null, 2) + '\n')
    return 0
  }
  const w = Math.max(...DEFECTS.map((d) => d.name.length))
  const lines = [`${'NAME'.padEnd(w)}  ${'PROPERTY'.padEnd(14)}  STEPS  SCENARIO`]
  for (const d of DEFECTS) {
    lines.push(`${d.name.padEnd(w)}  ${d.property.padEnd(14)}  ${String(d.shortestLength).padStart(5)}  ${d.scenario}`)
    for (const l of wrap(d.description, 92)) lines.push(`    ${l}`)
  }
  deps.stdout.write(lines.join('\n') + '\n')
  return 0
}

function wrap(text: string, width: number): string[] {
  const out: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      out.push(line)
      line = word
    } else line = line.length > 0 ? `${line} ${word}` : word
  }
  if (line.length > 0) out.push(line)
  return out
}
