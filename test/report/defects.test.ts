// Every seeded defect's bundle: its last step shows the failure as a result difference (or
// says why none can and names the kernel state), its repro.c builds with gcc against the
// kernel's real kselftest harness and uapi headers, its mail is kernel-style, its ITF trace
// loads in Quint's own reader with nondetPicks in Quint's MBT shape.

import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { resultToString } from '../../models/ops.ts'
import { observingStep } from '../../src/report/common.ts'
import { EMAIL_WIDTH, renderEmail } from '../../src/report/email.ts'
import { parseItf, renderItf } from '../../src/report/itf.ts'
import { mermaidDiagram } from '../../src/report/markdown.ts'
import { renderRepro } from '../../src/report/repro.ts'
import { seriesOf } from '../../src/report/series.ts'
import type { Counterexample } from '../../src/report/types.ts'
import { defectCounterexample, DEFECT_LIST } from './defect-bundles.ts'
import { goldenCounterexample } from './fixture.ts'

const cxs = new Map<string, Counterexample>(DEFECT_LIST.map((d) => [d, defectCounterexample(d)]))
const HEADERS = process.env.LUV_KERNEL_HEADERS ?? '/var/cache/luv/linux-headers'
const C_INCLUDE = new URL('../../src/report/c/include/', import.meta.url).pathname

/**
 * Defects no call luv tries can show (their difference is internal state), as measured when
 * this was written; every other defect must end on a result difference.
 */
const STATE_ONLY = new Set(['did-alloc-off-by-one', 'dids-reserved-on-every-unit', 'group-owner-left-set-after-release'])

describe('every seeded defect ends on an observable step', () => {
  for (const d of DEFECT_LIST)
    it(`${d}: ${STATE_ONLY.has(d) ? 'says why no call shows it' : 'the last step returns differently'}`, () => {
      const cx = cxs.get(d)!
      const o = cx.observable!
      expect(o).toBeDefined()
      expect(o.kind === 'state-only').toBe(STATE_ONLY.has(d))
      const last = cx.steps[cx.steps.length - 1]
      if (o.kind === 'state-only') {
        // says why, and names the kernel state to inspect
        expect(o.reason).toMatch(/no call/)
        expect(o.inspect.length).toBeGreaterThan(0)
        expect(renderEmail(cx).replace(/\s+/g, ' ')).toContain('Kernel state to inspect:')
      } else {
        expect(observingStep(cx)).toBe(last)
        expect(resultToString(last.kernel!)).not.toBe(resultToString(last.model))
        // no earlier step already differs in its result: the probe is the shortest ending
        for (const s of cx.steps.slice(0, -1)) expect(resultToString(s.kernel!)).toBe(resultToString(s.model))
        expect(renderRepro(cx)).toContain(`/* step ${last.index}: ${last.op.op}`)
      }
    })

  it('the probe search makes most defects observable (10 of 13 when this was written)', () => {
    const observable = [...cxs.values()].filter((c) => c.observable?.kind !== 'state-only').length
    expect(observable).toBeGreaterThanOrEqual(10)
  })
})

describe('repro.c builds with gcc against the kernel selftest harness and uapi headers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'luv-repro-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  it('compiles and links every seeded defect reproducer without a warning (-Wall)', () => {
    // CI installs these (.ci/run: linux-source-6.12, unifdef, src/report/c/kernel-headers.sh)
    if (!existsSync(join(HEADERS, '.done')))
      throw new Error(
        `kernel headers missing at ${HEADERS}: apt-get install linux-source-6.12 unifdef && bash src/report/c/kernel-headers.sh` +
          ' (or set LUV_KERNEL_HEADERS)',
      )
    if (!existsSync(join(dir, 'liveupdate'))) {
      mkdirSync(join(dir, 'liveupdate'))
      cpSync(join(HEADERS, 'selftests'), dir, { recursive: true })
    }
    const failures: string[] = []
    for (const [d, cx] of cxs) {
      const file = join(dir, 'liveupdate', `${d}.c`)
      writeFileSync(file, renderRepro(cx))
      const series = seriesOf(cx.profile)
      const r = spawnSync(
        'gcc',
        ['-Wall', '-I', join(C_INCLUDE, series.headers), '-I', join(C_INCLUDE, 'common'), '-isystem', join(HEADERS, 'usr/include'), file, '-o', join(dir, d)],
        { encoding: 'utf8' },
      )
      if (r.error) throw new Error(`gcc could not run (apt-get install gcc libc6-dev): ${r.error.message}`)
      if (r.status !== 0 || /warning:/.test(r.stderr)) failures.push(`${d}:\n${r.stderr}`)
    }
    expect(failures).toEqual([])
    expect(readdirSync(dir).filter((f) => DEFECT_LIST.includes(f)).length).toBe(DEFECT_LIST.length)
  })

  it('the ops added for the series versions (GET_NAME, the MARK_PRESERVE names, a memfd without sealing) build under every series uapi', () => {
    if (!existsSync(join(HEADERS, '.done'))) throw new Error(`kernel headers missing at ${HEADERS}`)
    const base = cxs.get('token-truncated-to-u32')!
    // the defect's trace with its mark under the newest name, a GET_NAME after the session
    // is created and an unsealable memfd in front (results as the model gives them)
    const steps = base.steps.flatMap((s) => {
      if (s.op.op === 'IOMMU_HWPT_LU_SET_PRESERVE') return [{ ...s, op: { op: 'IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE' as const, args: { iommufd: s.op.args.iommufd, hwpt_id: s.op.args.hwpt_id, token: s.op.args.token } } }]
      if (s.op.op === 'LIVEUPDATE_IOCTL_CREATE_SESSION' && s.model.ok && s.model.out !== undefined) {
        const getName = { ...s, op: { op: 'LIVEUPDATE_SESSION_GET_NAME' as const, args: { session: Number(s.model.out) } }, model: { ok: true as const, text: s.op.args.name }, kernel: { ok: true as const, text: s.op.args.name } }
        return [s, getName]
      }
      return [s]
    })
    const memfd = { ...steps[0], op: { op: 'MEMFD_CREATE' as const, args: { pages: 1, allowSealing: false } }, model: { ok: true as const, out: 90 }, kernel: { ok: true as const, out: 90 } }
    const all = [memfd, ...steps].map((s, index) => ({ ...s, index }))
    const failures: string[] = []
    for (const profile of ['rfc-v2', 'phase1', 'v3', 'lpc2025']) {
      const cx: Counterexample = { ...base, profile, steps: all }
      const c = renderRepro(cx)
      expect(c).toContain('memfd(1, 0)')
      expect(c).toMatch(/session_get_name\(session1, 0, name1, sizeof\(name1\)\)/)
      expect(c).toContain('ASSERT_STREQ("vm0", name1);')
      expect(c).not.toContain('no C form')
      if (!existsSync(join(dir, 'liveupdate'))) {
        mkdirSync(join(dir, 'liveupdate'))
        cpSync(join(HEADERS, 'selftests'), dir, { recursive: true })
      }
      const file = join(dir, 'liveupdate', `ops-${profile}.c`)
      writeFileSync(file, c)
      const series = seriesOf(profile)
      const r = spawnSync('gcc', ['-Wall', '-fsyntax-only', '-I', join(C_INCLUDE, series.headers), '-I', join(C_INCLUDE, 'common'), '-isystem', join(HEADERS, 'usr/include'), file], { encoding: 'utf8' })
      if (r.status !== 0 || /warning:/.test(r.stderr)) failures.push(`${profile}:\n${r.stderr}`)
    }
    expect(failures).toEqual([])
  })

  it('a reproducer that calls an ioctl the series does not have fails to build (the check can fail)', () => {
    if (!existsSync(join(HEADERS, '.done'))) throw new Error(`kernel headers missing at ${HEADERS}`)
    const cx = cxs.get('token-truncated-to-u32')!
    const file = join(dir, 'bad.c')
    writeFileSync(file, renderRepro(cx).replace('IOMMU_HWPT_LU_MARK_PRESERVE', 'IOMMU_HWPT_LU_SET_PRESERVED'))
    const r = spawnSync('gcc', ['-fsyntax-only', '-I', join(C_INCLUDE, 'lpc2025'), '-I', join(C_INCLUDE, 'common'), '-isystem', join(HEADERS, 'usr/include'), file], { encoding: 'utf8' })
    expect(r.status).not.toBe(0)
  })
})

describe('the mail', () => {
  for (const d of ['missing-iotlb-flush-on-unmap', 'token-truncated-to-u32', 'group-owner-left-set-after-release'])
    it(`${d}: kernel-style subject, says what was checked, no fast-check path, <= ${EMAIL_WIDTH} columns`, () => {
      const cx = cxs.get(d)!
      const mail = renderEmail(cx)
      const [subject] = mail.split('\n')
      expect(subject).toMatch(/^Subject: (iommu\/vt-d|iommufd|iommu|vfio\/pci|liveupdate|mm: memfd_luo): /)
      expect(subject).not.toContain('[luv]')
      const flat = mail.replace(/\s+/g, ' ')
      expect(flat).toContain(`seeded defect ${d}`)
      expect(flat).toContain("luv's kernel-shaped implementation")
      expect(flat).toContain(seriesOf(cx.profile).title)
      expect(mail).toMatch(/^Reported-by: luv /m)
      expect(mail).toContain('npx luv run scenario.json --impl both')
      expect(mail).not.toMatch(/path|replayPath|fast-check path/i)
      for (const l of mail.split('\n')) expect(l.length).toBeLessThanOrEqual(EMAIL_WIDTH)
    })
})

describe('the Mermaid diagram', () => {
  it('has a Device participant for DMA, model and kernel apart, notes wrapped', () => {
    const cx = cxs.get('missing-iotlb-flush-on-unmap')!
    const m = mermaidDiagram(cx).join('\n')
    expect(m).toContain('participant Device')
    expect(m).toMatch(/Device->>M: \d+\. DMA/)
    expect(m).toContain('participant M as Model')
    expect(m).toContain('participant K as Kernel')
    expect(m).toMatch(/Note over M,K: state differs after step \d+/)
    for (const l of m.split('\n').filter((x) => x.includes('Note over')))
      for (const part of l.replace(/^.*?: /, '').split('<br/>')) expect(part.length).toBeLessThanOrEqual(70)
  })
})

describe('ITF', () => {
  const require = createRequire(import.meta.url)
  const quintItf = require('@informalsystems/quint/dist/src/itf.js') as { ofItf: (t: unknown) => QuintEx[] }
  type QuintEx = { kind: string; opcode?: string; value?: unknown; args?: QuintEx[] }
  for (const d of ['missing-iotlb-flush-on-unmap', 'dids-not-reserved-at-boot'])
    it(`${d}: Quint's reader loads it and every nondetPick is Some/None`, () => {
      const cx = cxs.get(d)!
      const text = renderItf(cx)
      const states = quintItf.ofItf(JSON.parse(text))
      expect(states.length).toBe(cx.steps.length + 1)
      let picks = 0
      for (const st of states) {
        const i = st.args!.findIndex((a) => a.kind === 'str' && a.value === 'mbt::nondetPicks')
        const rec = st.args![i + 1]
        expect(rec.opcode).toBe('Rec')
        for (let k = 1; k < rec.args!.length; k += 2) {
          const v = rec.args![k]
          expect(v.opcode).toBe('variant')
          expect(['Some', 'None']).toContain(v.args![0].value)
          picks++
        }
      }
      expect(picks).toBeGreaterThan(0)
      // and luv's own reader takes what its writer writes
      expect(parseItf(text).ops).toEqual(cx.steps.map((s) => s.op))
    })
})

describe('the check can fail', () => {
  it('xmllint is there (CI installs libxml2-utils)', () => {
    expect(() => execFileSync('xmllint', ['--version'], { stdio: 'pipe' })).not.toThrow()
  })
})

describe("the Mermaid diagram parses with Mermaid's own parser", () => {
  it('every seeded defect bundle and the hand-built one; a broken diagram is refused', async () => {
    const { default: mermaid } = await import('mermaid')
    const body = (lines: string[]) => lines.slice(1, -1).join('\n') // without the ``` fence
    const failures: string[] = []
    for (const [d, cx] of [...cxs, ['hand-built', goldenCounterexample()] as const]) {
      const r = await mermaid.parse(body(mermaidDiagram(cx))).then(
        (x) => x,
        (e: Error) => e,
      )
      if (r instanceof Error) failures.push(`${d}: ${r.message.split('\n').slice(0, 3).join(' ')}`)
      else expect(r).toMatchObject({ diagramType: 'sequence' })
    }
    expect(failures).toEqual([])
    // an unescaped ';' in a message ends it: the parser must refuse a broken line
    await expect(mermaid.parse('sequenceDiagram\n    participant VMM\n    VMM->>: x\n')).rejects.toThrow(/Parse error/)
  })
})
