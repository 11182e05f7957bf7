// Writing a comparison's folder: each design's campaign report first (its own folder, bundles
// then summaries: src/campaign writeReport), then junit.xml, design-matrix.md and last
// design-matrix.json, each written atomically, so the matrix never links a bundle that is not
// there. With --doc, the markdown is also written to that file, links pointing into the
// comparison's folder and without the Timing section.

import { mkdir } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { writeFileAtomic } from '../campaign/atomic.ts'
import { writeReport } from '../campaign/write.ts'
import { writeBundle } from '../report/bundle.ts'
import type { Matrix } from './matrix.ts'
import { renderMatrixJson, renderMatrixJunit, renderMatrixMd } from './render.ts'
import type { CompareRun } from './run.ts'

export const MATRIX_FILES = ['junit.xml', 'design-matrix.md', 'design-matrix.json'] as const

/** The link prefix from a document's folder into the comparison's folder. */
export function linkRootFor(doc: string, out: string): string {
  const rel = relative(dirname(doc), out).split('\\').join('/')
  return rel === '' ? '' : `${rel}/`
}

export async function writeComparison(m: Matrix, run: CompareRun, doc?: string): Promise<void> {
  await mkdir(m.out, { recursive: true })
  for (const c of run.cells) {
    if (!c.result) continue
    await writeReport(c.result.summary, c.result.bundles)
    // after the campaign's report: writeReport removes bundle folders its summary does not list
    for (const f of c.stories?.findings ?? []) await writeBundle(c.result.summary.out, f.cx)
  }
  await writeFileAtomic(join(m.out, 'junit.xml'), renderMatrixJunit(m))
  await writeFileAtomic(join(m.out, 'design-matrix.md'), renderMatrixMd(m))
  await writeFileAtomic(join(m.out, 'design-matrix.json'), renderMatrixJson(m))
  if (doc !== undefined) {
    await mkdir(dirname(doc), { recursive: true })
    await writeFileAtomic(doc, renderMatrixMd(m, { linkRoot: linkRootFor(doc, m.out), timing: false }))
  }
}
