// The `luv` command line (DESIGN.md §2.6): a table of subcommands, each a function from its
// arguments to an exit code. --help lists exactly the commands in the table; a command that is
// not there (yet) is an unknown command, exit 2. To add one: one line in COMMANDS.

import { DEFECTS_USAGE, defectsCommand } from '../kernel/defects/command.ts'
import { InputError } from '../campaign/errors.ts'
import { InputFileError } from '../input/read.ts'
import { safeText } from '../input/text.ts'
import { luvVersions } from '../report/from-failure.ts'
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
  handler: Handler
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
    "Run 'luv <command> --help' for a command's options; 'luv --version' for the versions.",
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
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    full.stdout.write(versionText() + '\n')
    return EXIT.ok
  }
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const topic = cmd === 'help' ? rest[0] : undefined
    if (topic !== undefined && !Object.hasOwn(COMMANDS, topic)) return unknownCommand(topic, full)
    full.stdout.write((topic ? COMMANDS[topic].usage : mainUsage()) + '\n')
    return EXIT.ok
  }
  if (!Object.hasOwn(COMMANDS, cmd)) return unknownCommand(cmd, full)
  const command = COMMANDS[cmd]
  if (rest.includes('--help') || rest.includes('-h')) {
    full.stdout.write(command.usage + '\n')
    return EXIT.ok
  }
  // a command's own messages quote its arguments: control characters are escaped on stderr
  // (campaign draws its progress bar there on a terminal, and escapes its own messages)
  const guarded: CliDeps = cmd === 'campaign' ? full : { ...full, stderr: { write: (t: string) => full.stderr.write(t.split('\n').map((l) => safeText(l, 2000)).join('\n')), isTTY: full.stderr.isTTY } }
  try {
    return await command.handler(rest, guarded)
  } catch (e) {
    // one line, bounded, control characters escaped: messages quote the user's input
    if (e instanceof UsageError) full.stderr.write(`luv ${e.cmd}: ${safeText(e.message, 2000)}\n`)
    else if (e instanceof ScenarioError || e instanceof InputFileError || e instanceof InputError) full.stderr.write(`luv ${cmd}: ${safeText(e.message, 2000)}\n`)
    else throw e
    return EXIT.usage
  }
}

/** `luv --version`: what a bug report needs to reproduce a verdict. */
export function versionText(): string {
  const v = luvVersions()
  return [
    `luv ${v.luv} (git ${v.gitRev ?? 'unknown: not run from a git checkout'})`,
    `node ${v.node}`,
    `fast-check ${v.fastCheck}`,
  ].join('\n')
}

function unknownCommand(cmd: string, deps: CliDeps): number {
  const what = cmd.startsWith('-') ? `unknown option '${cmd}'` : `unknown command '${cmd}'`
  deps.stderr.write(`luv: ${safeText(what, 200)} (commands: ${Object.keys(COMMANDS).join(', ')}; see luv --help)\n`)
  return EXIT.usage
}
