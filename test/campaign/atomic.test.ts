// Report files are written atomically: a failure (or a kill) mid-write leaves the old file or
// the new one, never a partial one, and no temporary file once the write has failed.

import { spawn } from 'node:child_process'
import * as fsp from 'node:fs/promises'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { writeFileAtomic, type AtomicFs } from '../../src/campaign/atomic.ts'
import { tmp } from './helpers.ts'

/** Real fs calls, except that the file handle writes the first half and then fails. */
const halfWriteFs: AtomicFs = {
  open: (async (...args: Parameters<typeof fsp.open>) => {
    const fh = await fsp.open(...args)
    return new Proxy(fh, {
      get(target, prop, recv) {
        if (prop === 'writeFile')
          return async (data: string) => {
            await target.writeFile(data.slice(0, data.length / 2))
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
          }
        const v = Reflect.get(target, prop, recv)
        return typeof v === 'function' ? v.bind(target) : v
      },
    })
  }) as typeof fsp.open,
  rename: fsp.rename,
  rm: fsp.rm,
}

describe('writeFileAtomic', () => {
  it('writes the file whole', async () => {
    const dir = tmp('luv-atomic-')
    await writeFileAtomic(join(dir, 'summary.json'), '{"verdict": "pass"}\n')
    expect(readdirSync(dir)).toEqual(['summary.json'])
    expect(readFileSync(join(dir, 'summary.json'), 'utf8')).toBe('{"verdict": "pass"}\n')
  })

  it('a write failing halfway leaves the old file and no temporary file', async () => {
    const dir = tmp('luv-atomic-')
    const file = join(dir, 'summary.json')
    writeFileSync(file, 'OLD')
    await expect(writeFileAtomic(file, 'N'.repeat(10_000), halfWriteFs)).rejects.toThrow(/ENOSPC/)
    expect(readFileSync(file, 'utf8')).toBe('OLD')
    expect(readdirSync(dir)).toEqual(['summary.json'])
    // and where there was no file, there is still none
    await expect(writeFileAtomic(join(dir, 'junit.xml'), 'x'.repeat(100), halfWriteFs)).rejects.toThrow()
    expect(readdirSync(dir)).toEqual(['summary.json'])
  })

  it('a failing rename leaves the old file and no temporary file', async () => {
    const dir = tmp('luv-atomic-')
    const file = join(dir, 'summary.md')
    writeFileSync(file, 'OLD')
    const failingRename: AtomicFs = { ...halfWriteFs, open: fsp.open, rename: async () => Promise.reject(new Error('EXDEV')) }
    await expect(writeFileAtomic(file, 'NEW', failingRename)).rejects.toThrow('EXDEV')
    expect(readFileSync(file, 'utf8')).toBe('OLD')
    expect(readdirSync(dir)).toEqual(['summary.md'])
  })

  it('a process killed while rewriting a large file leaves it whole (old or new)', async () => {
    const dir = tmp('luv-atomic-')
    const file = join(dir, 'summary.json')
    const size = 8 << 20
    writeFileSync(file, 'A'.repeat(size))
    const atomic = fileURLToPath(new URL('../../src/campaign/atomic.ts', import.meta.url))
    const script = join(dir, 'writer.mts')
    writeFileSync(
      script,
      `import { writeFileAtomic } from ${JSON.stringify(atomic)}\n` +
        `process.send?.('ready')\n` +
        `for (let i = 0; ; i++) await writeFileAtomic(${JSON.stringify(file)}, (i % 2 ? 'A' : 'B').repeat(${size}))\n`,
    )
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    await new Promise((r) => child.once('message', r))
    await new Promise((r) => setTimeout(r, 400))
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))
    const text = readFileSync(file, 'utf8')
    expect(text.length).toBe(size)
    expect(text === 'A'.repeat(size) || text === 'B'.repeat(size)).toBe(true)
    // a temporary file may be left by the kill: hidden and named *.tmp (git-ignored)
    for (const e of readdirSync(dir).filter((x) => x !== 'summary.json' && x !== 'writer.mts')) expect(e).toMatch(/^\.summary\.json\..*\.tmp$/)
  })
})
