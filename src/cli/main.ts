// The `luv` command line (DESIGN.md §2.6): a table of subcommands, each a function from its
// arguments to an exit code. Subcommands not built yet stay in the table (their usage shows in
// --help) and exit 2 with a clear message, so CI scripts written against §2.6 fail loudly.

import { DEFECTS_USAGE, defectsCommand } from '../kernel/defects/command.ts'
import { ScenarioError } from '../scenario/error.ts'
import { campaignCommand, CAMPAIGN_USAGE } from './campaign.ts'
import { compareCommand, COMPARE_USAGE } from './compare.ts'
import type { CliDeps } from './deps.ts'
import { lintCommand, LINT_USAGE } from './lint.ts'
import { mergeCommand, MERGE_USAGE } from './merge.ts'
import { profilesCommand, PROFILES_USAGE } from './profiles.ts'
import { replayCommand, REPLAY_USAGE } from './replay.ts'
import { runCommand, RUN_USAGE } from './run.ts'
import { EXIT, UsageError } from './usage.ts'
// issue 13 (exhaustive tier): luv explore, luv failnth
import { exploreCommand, EXPLORE_USAGE } from './explore.ts'
import { failnthCommand, FAILNTH_USAGE } from './failnth.ts'

type Handler = (argv: string[], deps: CliDeps) => Promise<number>

interface Command {
  summary: string
  usage: string
  handler?: Handler
}

export const COMMANDS: Record<string, Command> = {
  run: { summary: 'run scenario files and print their traces', usage: RUN_USAGE, handler: runCommand },
  campaign: { summary: 'time-boxed, sharded property campaign (CI)', usage: CAMPAIGN_USAGE, handler: campaignCommand },
  replay: { summary: 'replay a failure bundle, scenario.json or trace.itf.json', usage: REPLAY_USAGE, handler: replayCommand },
  merge: { summary: 'merge sharded campaign reports', usage: MERGE_USAGE, handler: mergeCommand },
  defects: { summary: 'list the seeded-defect catalogue', usage: DEFECTS_USAGE, handler: defectsCommand },
  profiles: { summary: 'every design profile: its posted version, axis values and their sources', usage: PROFILES_USAGE, handler: profilesCommand },
  compare: { summary: 'design-comparison matrix (one campaign per design, same seed)', usage: COMPARE_USAGE, handler: compareCommand },
  explore: { summary: 'breadth-first exploration of the model within a scope (TLC-style)', usage: EXPLORE_USAGE, handler: exploreCommand },
  failnth: { summary: 'sweep allocation failures over a scenario or a bundle (fail-nth)', usage: FAILNTH_USAGE, handler: failnthCommand },
  'lint-scenarios': { summary: 'validate scenario files without running them', usage: LINT_USAGE, handler: lintCommand },
}

export function mainUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length))
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  return [
    'usage: luv <command> [options]',
    '',
    'luv, the Live Update Verifier: property-based verification of Linux live update of IOMMU state.',
    '',
    'commands:',
    ...rows,
    '',
    "Run 'luv <command> --help' for a command's options.",
    'Exit status: 0 all hold, 1 a property or expectation failed, 2 bad usage or bad input.',
  ].join('\n')
}

/** Run the CLI; returns the exit code. `deps` replaces the executor factory and the streams. */
export async function main(argv: string[], deps: Partial<CliDeps> = {}): Promise<number> {
  const full: CliDeps = { stdout: process.stdout, stderr: process.stderr, env: process.env, ...deps }
  const [cmd, ...rest] = argv
  if (cmd === undefined) {
    full.stderr.write(mainUsage() + '\n')
    return EXIT.usage
  }
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const topic = cmd === 'help' ? rest[0] : undefined
    if (topic !== undefined && !(topic in COMMANDS)) return unknownCommand(topic, full)
    full.stdout.write((topic ? COMMANDS[topic].usage : mainUsage()) + '\n')
    return EXIT.ok
  }
  if (!Object.hasOwn(COMMANDS, cmd)) return unknownCommand(cmd, full)
  const command = COMMANDS[cmd]
  if (rest.includes('--help') || rest.includes('-h')) {
    full.stdout.write(command.usage + (command.handler ? '' : '\n\n(not implemented in this version)') + '\n')
    return EXIT.ok
  }
  if (!command.handler) {
    full.stderr.write(`luv: '${cmd}' is not implemented in this version\n`)
    return EXIT.usage
  }
  try {
    return await command.handler(rest, full)
  } catch (e) {
    if (e instanceof UsageError) full.stderr.write(`luv ${e.cmd}: ${e.message}\n`)
    else if (e instanceof ScenarioError) full.stderr.write(`luv ${cmd}: ${e.message}\n`)
    else throw e
    return EXIT.usage
  }
}

function unknownCommand(cmd: string, deps: CliDeps): number {
  const what = cmd.startsWith('-') ? `unknown option '${cmd}'` : `unknown command '${cmd}'`
  deps.stderr.write(`luv: ${what} (commands: ${Object.keys(COMMANDS).join(', ')}; see luv --help)\n`)
  return EXIT.usage
}
