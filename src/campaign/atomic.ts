// Writing report files so that a reader (or a kill at any moment) sees the old file or the new
// one, never half of one: write a temporary file in the same folder, flush it, rename it over
// the target (rename is atomic within a file system).

import { randomBytes } from 'node:crypto'
import * as fsp from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

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

export async function writeFileAtomic(path: string, data: string, fs: AtomicFs = realFs): Promise<void> {
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
