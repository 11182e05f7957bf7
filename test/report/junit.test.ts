// junit.xml against the JUnit schema the Jenkins xUnit plugin validates with
// (test/report/schema/junit-xunit.xsd), checked by a real XML schema validator: xmllint from
// Debian's libxml2-utils (CI installs it: .ci/run).

import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { PROFILES } from '../../models/design.ts'
import { renderJunit } from '../../src/campaign/render.ts'
import { buildSummary, type CampaignContext, type FailureEntry } from '../../src/campaign/summary.ts'
import { PLATFORM } from './fixture.ts'

const XSD = new URL('./schema/junit-xunit.xsd', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'luv-junit-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function validate(xml: string): { ok: boolean; err: string } {
  const file = join(dir, `j${Math.random().toString(16).slice(2)}.xml`)
  writeFileSync(file, xml)
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' })
  if (r.error) throw new Error(`xmllint not found (apt-get install libxml2-utils): ${r.error.message}`)
  return { ok: r.status === 0, err: r.stderr }
}

const ctx: CampaignContext = {
  name: 'lpc2025-seed-1',
  out: '/abs/path/reports/lpc2025-seed-1',
  seed: 1,
  profile: 'lpc2025',
  overrides: {},
  design: { ...PROFILES.lpc2025.design },
  designLabel: 'lpc2025',
  platformName: 'default',
  platform: PLATFORM,
  platforms: [PLATFORM],
  impl: 'both',
  defect: 'missing-iotlb-flush-on-unmap',
  properties: ['conformance', 'dma-safety', 'isolation', 'recoverability'],
  budget: { runs: 400 },
  runsPerBlock: 25,
  shard: null,
  versions: { luv: '0.1.0', node: 'v20', fastCheck: '4.10.2' },
}

const failure = (bundle: string, property: FailureEntry['property'], block: number): FailureEntry => ({
  property,
  bundle,
  title: `${property}: IOMMU_IOAS_UNMAP then DMA kernel=ok model=fault`,
  sentence: `${property}: DMA reaches PA 0x0 in the kernel where the model faults <&>`,
  message: 'stale IOTLB entry "x"',
  length: 9,
  divergenceIndex: 7,
  blocks: [block],
  seed: 5,
  path: '3:1',
  shrinks: 4,
  checked: ctx.properties,
  replay: { bundle: '', fastCheck: '' },
})

function summary() {
  const blocks = [0, 1, 2].map((i) => ({
    index: i,
    seed: 10 + i,
    runs: i === 0 ? 3 : 25,
    steps: 100,
    properties: ctx.properties,
    kexecWithPreservedDma: 0,
    fullRecovery: 0,
    ...(i === 0 && { failed: 'dma-safety' as const, bundle: 'aaaaaaaaaaaa' }),
  }))
  return buildSummary(ctx, blocks, [failure('aaaaaaaaaaaa', 'dma-safety', 0), failure('bbbbbbbbbbbb', 'dma-safety', 1)], {
    interrupted: false,
    aborted: [],
    outcomes: [],
    errors: [{ block: 2, seed: 12, message: 'boom\n  at x' }],
    seconds: 12.5,
    started: '2026-03-01T12:00:00.000Z',
    finished: '2026-03-01T12:00:12.500Z',
    workers: 2,
    reruns: 0,
  })
}

describe('junit.xml', () => {
  it('validates against the xUnit plugin JUnit schema (xmllint --schema)', () => {
    const v = validate(renderJunit(summary()))
    expect(v.err).toMatch(/validates/)
    expect(v.ok).toBe(true)
  })

  it('one <failure> per testcase, no absolute paths, timestamp and skipped on <testsuite> only', () => {
    const xml = renderJunit(summary())
    const dma = xml.slice(xml.indexOf('<testcase name="dma-safety"'), xml.indexOf('</testcase>', xml.indexOf('<testcase name="dma-safety"')))
    expect(dma.match(/<failure /g)).toHaveLength(1)
    expect(dma).toContain('(+1 more)')
    expect(xml).not.toContain(ctx.out)
    expect(xml).toMatch(/<testsuites name="[^"]*" tests="\d+" failures="\d+" errors="\d+" time="12.5">/)
    expect(xml).toMatch(/<testsuite [^>]*skipped="\d+" timestamp="2026-03-01T12:00:00.000Z">/)
  })

  it('the validator rejects what the schema forbids (the check can fail)', () => {
    const bad = renderJunit(summary()).replace('<testsuites name=', '<testsuites timestamp="2026" skipped="0" name=')
    const v = validate(bad)
    expect(v.ok).toBe(false)
    expect(v.err).toMatch(/timestamp.*not allowed|not allowed/)
  })

  it('the summary says why a --runs campaign ran fewer runs', () => {
    const s = summary()
    expect(s.notes.join('\n')).toMatch(/53 of the 400 runs asked for \(--runs\) were generated: a block stops at its first failing run/)
  })
})
