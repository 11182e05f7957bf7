// Writing report files so that a reader (or a kill at any moment) sees the old file or the new
// one, never half of one: write a temporary file in the same folder, flush it, rename it over
// the target (rename is atomic within a file system).

import { randomBytes } from 'node:crypto'
import * as fsp from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'

/** The file-system calls used, replaceable so tests can fail one mid-write. */
export interface AtomicFs {
  open: typeof fsp.open
  rename: typeof fsp.rename
  rm: typeof fsp.rm
}

const realFs: AtomicFs = { open: fsp.open, rename: fsp.rename, rm: fsp.rm }

/** Temporary names start with a dot and end in .tmp: hidden, and git-ignored (*.tmp). */
export const tempName = (path: string): string =>
  join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)

/**
 * The temporary names luv writes: `.NAME.PID.HEX.tmp` (files, above) and `.NAME.PID.tmp-XXXXXX`
 * (bundle folders being written, src/report/bundle.ts and write.ts). The PID says whose it is.
 */
const TEMP_RE = /^\..+\.(\d+)\.(?:[0-9a-f]{8}\.tmp|tmp-[A-Za-z0-9]{6})$/

const alive = (pid: number): boolean => {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const cleaned = new Set<string>()

/** Remove the temporary files and folders a killed luv left in `dir` (their process is gone). */
export async function cleanStaleTemps(dir: string): Promise<string[]> {
  let names: string[]
  try {
    names = await fsp.readdir(dir)
  } catch {
    return []
  }
  const removed: string[] = []
  for (const n of names) {
    const m = TEMP_RE.exec(n)
    if (!m || alive(Number(m[1]))) continue
    await fsp.rm(join(dir, n), { recursive: true, force: true })
    removed.push(n)
  }
  return removed
}

export async function writeFileAtomic(path: string, data: string, fs: AtomicFs = realFs): Promise<void> {
  // the first write into a folder also clears what a killed run left there
  const dir = resolve(dirname(path))
  if (!cleaned.has(dir)) {
    cleaned.add(dir)
    await cleanStaleTemps(dir)
  }
  const tmp = tempName(path)
  try {
    const fh = await fs.open(tmp, 'wx')
    try {
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await fs.rename(tmp, path)
  } catch (e) {
    await fs.rm(tmp, { force: true })
    throw e
  }
}
