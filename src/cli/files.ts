// Command-line paths → scenario files: a directory stands for its *.json files (not recursive),
// sorted by name so every run visits them in the same order.

import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from './usage.ts'
import { showPath } from '../input/text.ts'

export function expandPaths(cmd: string, paths: string[]): string[] {
  const files: string[] = []
  for (const p of paths) {
    let isDir: boolean
    try {
      isDir = statSync(p).isDirectory()
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      throw new UsageError(cmd, `${showPath(p)}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`)
    }
    if (!isDir) files.push(p)
    else
      files.push(
        ...readdirSync(p)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => join(p, f)),
      )
  }
  return files
}
