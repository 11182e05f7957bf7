// `luv merge DIR... --out DIR`: one report from the shard reports of a campaign. Every input is
// read and checked before the output folder is created (exit 2 on a bad input).

import { parseArgs } from 'node:util'
import { InputError } from '../campaign/errors.ts'
import { countLine, counts, joinPath, propertyCell } from '../campaign/summary.ts'
import type { PropertyName } from '../check/executor.types.ts'
import { colorEnabled, paint, type TraceLine } from '../scenario/print.ts'
import type { CliDeps } from './deps.ts'
import { EXIT, UsageError, parseArgsMessage } from './usage.ts'

export const MERGE_USAGE = `usage: luv merge DIR... --out DIR

Merge the report folders of a sharded campaign (luv campaign --shard I/N) into one: runs and
steps summed over the blocks, a property fails if any shard failed it, failures deduplicated
by bundle hash (bundles copied). Writes summary.md, summary.json, junit.xml and the bundles.
Exit status: 0 every property holds, 1 one failed, 2 bad usage or bad input.`

export async function mergeCommand(argv: string[], deps: CliDeps): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  } catch (e) {
    throw new UsageError('merge', parseArgsMessage(e))
  }
  if (parsed.values.help) {
    deps.stdout.write(MERGE_USAGE + '\n')
    return EXIT.ok
  }
  const out = parsed.values.out
  if (out === undefined) throw new UsageError('merge', '--out DIR is required')
  if (parsed.positionals.length === 0) throw new UsageError('merge', 'no report folders given (luv merge DIR... --out DIR)')
  const [{ loadShard, mergeShards }, { writeReport }] = await Promise.all([import('../campaign/merge.ts'), import('../campaign/write.ts')])
  let result
  try {
    result = mergeShards(parsed.positionals.map(loadShard), out)
  } catch (e) {
    if (e instanceof InputError) throw new UsageError('merge', e.message)
    throw e
  }
  await writeReport(result.summary, result.bundles)
  const s = result.summary
  const { failed } = counts(s)
  const color = colorEnabled(deps.stdout, deps.env)
  const lines: TraceLine[] = Object.entries(s.properties).map(([name, p]) => ({
    text: `  ${name.padEnd(16)} ${propertyCell(s, name as PropertyName)}`,
    tone: p.verdict === 'fail' ? 'fail' : p.verdict === 'pass' ? 'pass' : 'dim',
  }))
  lines.push({
    text: `${s.verdict === 'pass' ? 'PASS' : 'FAIL'}: merged ${parsed.positionals.length} reports of ${s.name}: ${s.runs} runs, ${s.steps} steps, blocks ${s.blocks.indices || 'none'}, seed ${s.seed}`,
    tone: s.verdict === 'pass' ? 'pass' : 'fail',
  })
  lines.push({ text: `report: ${joinPath(out, 'summary.md')}`, tone: 'plain' }, { text: countLine(s), tone: failed ? 'fail' : 'pass' })
  deps.stdout.write(paint(lines, color))
  return s.verdict === 'pass' ? EXIT.ok : EXIT.failed
}
