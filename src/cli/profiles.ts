// `luv profiles [--json] [PROFILE...]`: every profile (or the ones named), the posted version
// it is, and each axis value with the code it was read from or "inferred" and why. Read from
// models/design.ts at run time, so a new profile or axis appears without a change here.

import { AXIS_NAMES, AXIS_OPTIONS, DEFAULT_PROFILE, isInferred, PROFILE_NAMES, PROFILES, type Citation, type ProfileName } from '../../models/design.ts'
import type { CliDeps } from './deps.ts'
import { EXIT, UsageError } from './usage.ts'

export const PROFILES_USAGE = `usage: luv profiles [--json | --markdown] [--options] [PROFILE...]

Print every design profile (or the ones named): the posted version of the series it is (series,
date, the trees and commits its rules were read from) and its value on every design axis, each
with its source or "inferred: <why>". docs/fidelity.md explains the sources.
  --options  also list every option of every axis with its source or inference
  --markdown the tables of docs/fidelity.md (every profile and every axis option)
  --json     one JSON object { default, profiles: { NAME: { description, version, axes:
             { AXIS: { value, source? , inferred? } } } }, options?: { AXIS: { OPTION: ... } } }`

const citeText = (c: Citation): string => (isInferred(c) ? `inferred: ${c.inferred}` : `source: ${c.source}`)

export async function profilesCommand(argv: string[], deps: Pick<CliDeps, 'stdout'>): Promise<number> {
  const json = argv.includes('--json')
  const options = argv.includes('--options')
  if (argv.includes('--markdown')) {
    if (json) throw new UsageError('profiles', '--json and --markdown exclude each other')
    deps.stdout.write(fidelityMarkdown())
    return EXIT.ok
  }
  const names = argv.filter((a) => a !== '--json' && a !== '--options')
  const bad = names.find((n) => n.startsWith('-'))
  if (bad !== undefined) throw new UsageError('profiles', `unknown option '${bad}' (see luv profiles --help)`)
  for (const n of names)
    if (!(PROFILE_NAMES as readonly string[]).includes(n)) throw new UsageError('profiles', `unknown profile '${n}' (known: ${PROFILE_NAMES.join(', ')})`)
  const chosen = (names.length > 0 ? names : PROFILE_NAMES) as ProfileName[]
  if (json) {
    const out: Record<string, unknown> = {
      default: DEFAULT_PROFILE,
      profiles: Object.fromEntries(
        chosen.map((n) => [
          n,
          {
            description: PROFILES[n].description,
            version: PROFILES[n].version,
            axes: Object.fromEntries(AXIS_NAMES.map((a) => [a, { value: PROFILES[n].design[a], ...PROFILES[n].cite[a] }])),
          },
        ]),
      ),
    }
    if (options) out.options = AXIS_OPTIONS
    deps.stdout.write(JSON.stringify(out, null, 2) + '\n')
    return EXIT.ok
  }
  const w = Math.max(...AXIS_NAMES.map((a) => a.length))
  const lines: string[] = []
  for (const n of chosen) {
    const p = PROFILES[n]
    lines.push(`${n}${n === DEFAULT_PROFILE ? ' (default)' : ''}: ${p.description}`)
    lines.push(`  series: ${p.version.series}`)
    lines.push(`  date:   ${p.version.date}`)
    for (const t of p.version.trees) lines.push(`  read:   ${t}`)
    for (const a of AXIS_NAMES) {
      const v = p.design[a]
      lines.push(`  ${a.padEnd(w)}  ${v}`)
      lines.push(`  ${''.padEnd(w)}    ${citeText(p.cite[a])}`)
    }
    lines.push(`  inferred axes: ${p.inferred.length > 0 ? p.inferred.join(', ') : 'none'}`)
    lines.push('')
  }
  if (options) {
    lines.push('axis options:')
    for (const a of AXIS_NAMES)
      for (const [o, c] of Object.entries(AXIS_OPTIONS[a] as Record<string, Citation>)) lines.push(`  ${a}=${o}`, `      ${citeText(c)}`)
  }
  deps.stdout.write(lines.join('\n').trimEnd() + '\n')
  return EXIT.ok
}

const cell = (t: string): string => t.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const citeCell = (c: Citation): string => (isInferred(c) ? `*inferred*: ${cell(c.inferred)}` : cell(c.source))

/** The generated part of docs/fidelity.md: per profile its version and axis table, then every
 *  axis option with its source. test/models/profiles.test.ts keeps the doc equal to it. */
export function fidelityMarkdown(): string {
  const out: string[] = []
  for (const n of PROFILE_NAMES) {
    const p = PROFILES[n]
    out.push(`### \`${n}\`${n === DEFAULT_PROFILE ? ' (default)' : ''}`, '', cell(p.description), '')
    out.push(`* series: ${cell(p.version.series)}`, `* date: ${p.version.date}`, ...p.version.trees.map((t) => `* read: ${cell(t)}`), '')
    out.push('| axis | value | source or inference |', '|---|---|---|')
    for (const a of AXIS_NAMES) out.push(`| ${a} | \`${p.design[a]}\` | ${citeCell(p.cite[a])} |`)
    out.push('')
  }
  out.push('### Every axis option', '', '| axis | option | source or inference |', '|---|---|---|')
  for (const a of AXIS_NAMES)
    for (const [o, c] of Object.entries(AXIS_OPTIONS[a] as Record<string, Citation>)) out.push(`| ${a} | \`${o}\` | ${citeCell(c)} |`)
  return out.join('\n') + '\n'
}
