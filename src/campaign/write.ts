// Writing a campaign report folder: the bundles first (each appears whole, src/report
// writeBundle), then summary.md, junit.xml and last summary.json (each written atomically), so
// a summary never names a bundle that is not there. Bundle folders of an earlier report in
// the same folder that this one does not list are removed.

import { chmod, cp, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { writeBundle } from '../report/bundle.ts'
import type { Counterexample } from '../report/types.ts'
import { writeFileAtomic } from './atomic.ts'
import { renderJunit, renderSummaryJson, renderSummaryMd } from './render.ts'
import type { CampaignSummary } from './summary.ts'

export const REPORT_FILES = ['summary.md', 'junit.xml', 'summary.json'] as const

/** A bundle to put in the report: rendered from its counterexample, or copied from a shard. */
export type BundleSource = { cx: Counterexample } | { dir: string }

const BUNDLE_RE = /^[0-9a-f]{12}$/

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  )

/** Copy a bundle folder into place whole: copied beside it under a temporary name, renamed. */
async function copyBundle(src: string, root: string, name: string): Promise<void> {
  const dest = join(root, name)
  if (await exists(dest)) return
  const tmp = await mkdtemp(join(root, `.${name}.${process.pid}.tmp-`))
  await chmod(tmp, 0o755)
  try {
    await cp(src, tmp, { recursive: true })
    await rename(tmp, dest).catch(async (e) => {
      if (!(await exists(dest))) throw e
    })
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

export async function writeReport(summary: CampaignSummary, bundles: Map<string, BundleSource>): Promise<void> {
  const out = summary.out
  await mkdir(out, { recursive: true })
  for (const [name, src] of bundles) {
    if ('cx' in src) await writeBundle(out, src.cx)
    else await copyBundle(src.dir, out, name)
  }
  await writeFileAtomic(join(out, 'summary.md'), renderSummaryMd(summary))
  await writeFileAtomic(join(out, 'junit.xml'), renderJunit(summary))
  await writeFileAtomic(join(out, 'summary.json'), renderSummaryJson(summary))
  // an earlier report's bundles in the same folder would read as this campaign's
  const keep = new Set(summary.failures.map((f) => f.bundle))
  for (const e of await readdir(out, { withFileTypes: true }))
    if (e.isDirectory() && BUNDLE_RE.test(e.name) && !keep.has(e.name) && (await exists(join(out, e.name, 'scenario.json'))))
      await rm(join(out, e.name), { recursive: true, force: true })
}
