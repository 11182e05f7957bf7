import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BUNDLE_FILES, writeBundle } from '../../src/report/bundle.ts'
import { goldenCounterexample } from './fixture.ts'

let root: string
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'luv-bundle-'))
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('writeBundle', () => {
  it('writes every file into a folder named by the op hash, and nothing else', async () => {
    const dir = await writeBundle(join(root, 'campaign'), goldenCounterexample())
    expect(dir).toBe(join(root, 'campaign', '4a5329d9444a'))
    expect((await readdir(dir)).sort()).toEqual([...BUNDLE_FILES].sort())
    expect(await readdir(join(root, 'campaign'))).toEqual(['4a5329d9444a'])
    expect(await readFile(join(dir, 'scenario.json'), 'utf8')).toContain('"name": "ownership-4a5329d9444a"')
  })

  it('leaves an existing bundle as it is', async () => {
    const dir = await writeBundle(root, goldenCounterexample())
    await writeFile(join(dir, 'report.md'), 'kept')
    const again = await writeBundle(root, goldenCounterexample())
    expect(again).toBe(dir)
    expect(await readFile(join(dir, 'report.md'), 'utf8')).toBe('kept')
    expect(await readdir(root)).toEqual(['4a5329d9444a'])
  })

  it('survives concurrent writers of the same bundle', async () => {
    const dirs = await Promise.all([1, 2, 3, 4].map(() => writeBundle(root, goldenCounterexample())))
    expect(new Set(dirs).size).toBe(1)
    expect(await readdir(root)).toEqual(['4a5329d9444a'])
    expect((await readdir(dirs[0])).sort()).toEqual([...BUNDLE_FILES].sort())
  })
})
