// Running the CLI in-process for the campaign tests: real executors, captured output, and a
// fresh temporary folder per test.

import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { main } from '../../src/cli/main.ts'
import type { CliDeps } from '../../src/cli/deps.ts'

export interface Ran {
  code: number
  out: string
  err: string
}

export async function luv(argv: string[], deps: Partial<CliDeps> = {}): Promise<Ran> {
  let out = ''
  let err = ''
  const code = await main(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    ...deps,
  })
  return { code, out, err }
}

export const tmp = (prefix = 'luv-campaign-'): string => mkdtempSync(join(tmpdir(), prefix))

/** Every file under `dir` (relative path → contents). */
export function readTree(dir: string): Record<string, string> {
  const files: Record<string, string> = {}
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e)
      if (statSync(p).isDirectory()) walk(p)
      else files[relative(dir, p)] = readFileSync(p, 'utf8')
    }
  }
  walk(dir)
  return files
}

/** The timing fields blanked: what must be equal between two runs of one campaign. */
export function maskTiming(name: string, text: string): string {
  if (name.endsWith('summary.json')) {
    const s = JSON.parse(text)
    s.seconds = 0
    s.timing = {}
    return JSON.stringify(s, null, 2)
  }
  if (name.endsWith('junit.xml')) return text.replace(/ time="[^"]*"/g, ' time="0"').replace(/ timestamp="[^"]*"/g, ' timestamp=""')
  if (name.endsWith('summary.md')) return text.slice(0, text.indexOf('## Timing'))
  // a bundle's shrink time (--shrink-budget) is its one timing row
  if (name.endsWith('report.md')) return text.replace(/^\| shrink time \| [^|]* \|$/m, '| shrink time | 0 s |')
  return text
}

export const summaryOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'))
