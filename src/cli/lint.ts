// `luv lint-scenarios FILE|DIR...`: parse and validate scenario files without running them
// (schema, ops and arguments, "$name" bindings, platform, design). Exit 0 or 2.

import { parseArgs } from 'node:util'
import type { CliDeps } from './deps.ts'
import { loadAll } from './run.ts'
import { EXIT, UsageError, parseArgsMessage } from './usage.ts'

export const LINT_USAGE = `usage: luv lint-scenarios FILE|DIR...

Validate scenario files (a directory: its *.json files) without running them.
Exit status: 0 every file is valid, 2 some file is not (each problem on one line).`

export async function lintCommand(argv: string[], deps: CliDeps): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true })
  } catch (e) {
    throw new UsageError('lint-scenarios', parseArgsMessage(e))
  }
  if (parsed.values.help) {
    deps.stdout.write(LINT_USAGE + '\n')
    return EXIT.ok
  }
  if (parsed.positionals.length === 0)
    throw new UsageError('lint-scenarios', 'no scenario file or directory given (see luv lint-scenarios --help)')
  const scenarios = loadAll('lint-scenarios', parsed.positionals, deps)
  if (!scenarios) return EXIT.usage
  deps.stdout.write(`${scenarios.length} scenario${scenarios.length === 1 ? '' : 's'} valid\n`)
  return EXIT.ok
}
