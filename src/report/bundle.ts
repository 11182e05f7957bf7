// Writing a counterexample bundle: one folder per failure, named by the hash of its op list,
// holding every rendering. The folder appears complete or not at all: the files are written
// into a temporary folder beside it, which is then renamed into place. A folder that exists
// already (the same trace found twice) is left as it is.

import { chmod, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { bundleName } from './bucket.ts'
import { ITF_FILE, SCENARIO_FILE } from './common.ts'
import { renderEmail } from './email.ts'
import { renderItf } from './itf.ts'
import { renderMarkdown } from './markdown.ts'
import { renderRepro } from './repro.ts'
import { renderScenario } from './scenario.ts'
import type { Counterexample } from './types.ts'

export const BUNDLE_FILES = ['report.md', SCENARIO_FILE, ITF_FILE, 'repro.c', 'email.txt'] as const

/** Every file of a bundle, rendered; `bundleDir` is how the replay commands name the folder. */
export function renderBundle(cx: Counterexample, bundleDir: string): Record<(typeof BUNDLE_FILES)[number], string> {
  return {
    'report.md': renderMarkdown(cx, { bundleDir }),
    [SCENARIO_FILE]: renderScenario(cx),
    [ITF_FILE]: renderItf(cx),
    'repro.c': renderRepro(cx, { bundleDir }),
    'email.txt': renderEmail(cx, { bundleDir }),
  } as Record<(typeof BUNDLE_FILES)[number], string>
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  )

/**
 * Write the bundle of `cx` into `rootDir/<hash>/` and return that folder's path. If the
 * folder exists, nothing is written (same ops, same bug).
 */
export async function writeBundle(rootDir: string, cx: Counterexample): Promise<string> {
  const dir = join(rootDir, bundleName(cx))
  if (await exists(dir)) return dir
  await mkdir(rootDir, { recursive: true })
  const tmp = await mkdtemp(join(rootDir, `.${bundleName(cx)}.${process.pid}.tmp-`))
  // mkdtemp makes the folder 0700; a bundle is read by others (CI artifacts, reviewers)
  await chmod(tmp, 0o755)
  try {
    const files = renderBundle(cx, relative(process.cwd(), dir) || '.')
    for (const name of BUNDLE_FILES) await writeFile(join(tmp, name), files[name])
    try {
      await rename(tmp, dir)
    } catch (e) {
      // another writer put the same bundle in place first
      const code = (e as NodeJS.ErrnoException).code
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await exists(dir))) return dir
      throw e
    }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
  return dir
}
