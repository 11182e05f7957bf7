import { describe, expect, it } from 'vitest'
import { PROFILES } from '../../models/design.ts'
import type { Op } from '../../models/ops.ts'
import { bucketTitle, bundleName, canonicalOps, opsHash } from '../../src/report/bucket.ts'
import { renderBundle } from '../../src/report/bundle.ts'
import { designFlags, titleSentence } from '../../src/report/common.ts'
import { EMAIL_WIDTH, renderEmail, wrap, wrapCommand } from '../../src/report/email.ts'
import { MERMAID_MAX_STEPS, MERMAID_NOTE_WIDTH, mermaidDiagram, mermaidEscape, mermaidWrap } from '../../src/report/markdown.ts'
import { renderRepro } from '../../src/report/repro.ts'
import { scenarioJson } from '../../src/report/scenario.ts'
import type { Counterexample } from '../../src/report/types.ts'
import { goldenCounterexample } from './fixture.ts'
import { longCounterexample } from './long.ts'

/** The same counterexample with every record's keys in reverse insertion order. */
function reordered(cx: Counterexample): Counterexample {
  const rev = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rev)
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, rev(x)]))
    return v
  }
  const c = structuredClone(cx)
  for (const s of c.steps) {
    if (s.model_obs) s.model_obs = { ...s.model_obs, owners: rev(s.model_obs.owners) as Record<string, string>, fds: rev(s.model_obs.fds) as Record<number, string> }
    if (s.model_obs) s.model_obs.translations = [...s.model_obs.translations].reverse()
  }
  return c
}

describe('determinism', () => {
  it('renders the same bytes twice', () => {
    expect(renderBundle(goldenCounterexample(), 'b')).toEqual(renderBundle(goldenCounterexample(), 'b'))
  })

  it('only lines carrying the timestamp change with it', () => {
    const a = renderBundle(goldenCounterexample(), 'b')
    const cx = goldenCounterexample()
    cx.timestamp = '2030-12-31T23:59:59.999Z'
    const b = renderBundle(cx, 'b')
    for (const name of Object.keys(a) as (keyof typeof a)[]) {
      const la = a[name].split('\n')
      const lb = b[name].split('\n')
      expect(lb.length).toBe(la.length)
      la.forEach((l, i) => {
        if (l !== lb[i]) expect(lb[i]).toContain('2030-12-31T23:59:59.999Z')
      })
    }
    delete cx.timestamp
    const c = renderBundle(cx, 'b')
    expect(c['repro.c']).toBe(a['repro.c'])
    expect(c['scenario.json']).toBe(a['scenario.json'])
  })

  it('does not depend on the key order of observation records', () => {
    const cx = goldenCounterexample()
    expect(renderBundle(reordered(cx), 'b')).toEqual(renderBundle(cx, 'b'))
  })
})

describe('bucket', () => {
  const ops = goldenCounterexample().steps.map((s) => s.op)

  it('hashes the canonical op list to 12 hex digits, stably', () => {
    expect(opsHash(ops)).toMatch(/^[0-9a-f]{12}$/)
    expect(opsHash(ops)).toBe(opsHash(structuredClone(ops)))
    // pinned: a change here renames every bundle folder
    expect(opsHash(ops)).toBe('21e5b707093c')
    expect(bundleName(goldenCounterexample())).toBe('4a5329d9444a')
  })

  it('names the same trace under another design, platform or defect another bundle', () => {
    const cx = goldenCounterexample()
    const names = new Set([
      bundleName(cx),
      bundleName({ ...cx, profile: 'rfc-v2' }),
      bundleName({ ...cx, design: { ...cx.design, ownership: cx.design.ownership === 'strict' ? 'token' : 'strict' } }),
      bundleName({ ...cx, platform: { ...cx.platform, memoryPages: cx.platform.memoryPages + 1 } }),
      bundleName({ ...cx, defect: 'missing-iotlb-flush-on-unmap' }),
    ])
    expect(names.size).toBe(5)
    // and the same counterexample, copied, keeps its name
    expect(bundleName(structuredClone(cx))).toBe(bundleName(cx))
  })

  it('does not depend on argument key order, and omits absent optional arguments', () => {
    const a: Op = { op: 'IOMMU_IOAS_UNMAP', args: { iommufd: 3, ioas: 1, iova: 0x1000n, length: 0x2000n } }
    const b = { op: 'IOMMU_IOAS_UNMAP', args: { length: 0x2000n, iova: 0x1000n, ioas: 1, iommufd: 3 } } as Op
    expect(opsHash([a])).toBe(opsHash([b]))
    const c: Op = { op: 'DMA', args: { bdf: '0000:01:00.0', iova: 0x1000n, pasid: undefined } }
    expect(canonicalOps([c])).toBe('[{ "op": "DMA", "args": { "bdf": "0000:01:00.0", "iova": "0x1000" } }]')
  })

  it('differs for different op lists', () => {
    const other = structuredClone(ops)
    ;(other[4].args as { iova: bigint }).iova = 0x200000n
    expect(opsHash(other)).not.toBe(opsHash(ops))
    expect(opsHash(ops.slice(0, -1))).not.toBe(opsHash(ops))
    expect(opsHash([...ops].reverse())).not.toBe(opsHash(ops))
  })

  it('titles the bucket by property, op and result classes, without numbers', () => {
    expect(bucketTitle(goldenCounterexample())).toBe('ownership: VFIO_DEVICE_BIND_IOMMUFD kernel=ok model=EPERM')
    const cx = goldenCounterexample()
    for (const s of cx.steps) delete s.kernel
    expect(bucketTitle(cx)).toBe('ownership: VFIO_DEVICE_BIND_IOMMUFD EPERM')
  })
})

describe('titles and flags', () => {
  it('builds the title sentence from property, op and results', () => {
    expect(titleSentence(goldenCounterexample())).toBe(
      'ownership: VFIO_DEVICE_BIND_IOMMUFD after KEXEC succeeds in the kernel where the model returns -EPERM',
    )
    expect(titleSentence(longCounterexample(7))).toBe(
      'dma-safety: LIVEUPDATE_IOCTL_CREATE_SESSION returns 0xfffffffffffff000 in the kernel where the model returns 13',
    )
    const cx = goldenCounterexample()
    for (const s of cx.steps) delete s.kernel
    delete cx.observable
    cx.steps[9].model = { ok: false, fault: 'no-mapping' }
    cx.divergenceIndex = 9
    cx.property = 'dma-continuity'
    expect(titleSentence(cx)).toBe('dma-continuity: DMA faults (no-mapping)')
  })

  it('names a design finding (model and kernel agree) by its message, and only conformance by a state difference', () => {
    const cx = goldenCounterexample()
    // the kernel returns what the model returns at every step
    for (const s of cx.steps) s.kernel = s.model
    delete cx.observable
    cx.property = 'recoverability'
    cx.message = 'the documented recovery fails after KEXEC: restore HWPT token 4664\nmore detail'
    expect(titleSentence(cx)).toBe('recoverability: after VFIO_DEVICE_BIND_IOMMUFD after KEXEC: the documented recovery fails after KEXEC: restore HWPT token 4664')
    cx.property = 'conformance'
    expect(titleSentence(cx)).toContain("the kernel's state differs from the model's")
  })

  it('spells the design as profile plus overrides', () => {
    const cx = goldenCounterexample()
    cx.design = { ...PROFILES.lpc2025.design, ownership: 'strict', replaceSwap: 'teardown-then-setup' }
    expect(designFlags(cx)).toBe(
      '--profile lpc2025 --set ownership=strict --set replaceSwap=teardown-then-setup --defect bind-ignores-lu-token',
    )
    expect(scenarioJson(cx)).toMatchObject({ design: { profile: 'lpc2025', ownership: 'strict', replaceSwap: 'teardown-then-setup' } })
  })
})

describe('email.txt', () => {
  it(`keeps every line within ${EMAIL_WIDTH} columns on a long trace`, () => {
    const text = renderEmail(longCounterexample(), { bundleDir: 'reports/a-campaign-with-a-long-name/dma-safety/0123456789ab' })
    const lines = text.split('\n')
    expect(lines.length).toBeGreaterThan(90)
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(EMAIL_WIDTH)
    for (const l of lines) expect(l).toBe(l.trimEnd())
    expect(text).not.toMatch(/```|mermaid|\*\*/)
  })

  it('wraps words with a continuation indent and cuts what cannot wrap', () => {
    expect(wrap('aaa bbb ccc', '  ', '    ', 10)).toEqual(['  aaa bbb', '    ccc'])
    expect(wrap('x'.repeat(25), '', '  ', 10)).toEqual(['x'.repeat(10), '  ' + 'x'.repeat(8), '  ' + 'x'.repeat(7)])
    expect(wrapCommand('npx luv run some/long/path/scenario.json --impl both --defect name', 50)).toEqual([
      '  npx luv run some/long/path/scenario.json \\',
      '      --impl both --defect name',
    ])
  })

  it('wraps a command so that the shell reads the same words back', () => {
    const cmd = `npx luv run reports/${'c'.repeat(100)}/scenario.json --impl both --defect ${'d'.repeat(80)}`
    const lines = wrapCommand(cmd)
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(EMAIL_WIDTH)
    const shell = lines.join('\n').replace(/\\\n/g, '')
    expect(shell.trim().split(/\s+/)).toEqual(cmd.split(' '))
  })
})

describe('Mermaid', () => {
  it('escapes # and ; as entity codes', () => {
    expect(mermaidEscape('a;b#c')).toBe('a#59;b#35;c')
    expect(mermaidEscape('#;')).toBe('#35;#59;')
    expect(mermaidEscape('two\nlines')).toBe('two lines')
  })

  it('escapes messages and notes in the diagram', () => {
    const cx = goldenCounterexample()
    cx.steps[12].op = { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'vm#1;x' } }
    cx.steps[21].violations = [{ property: 'ownership', message: 'owner #2; not #3' }]
    const text = mermaidDiagram(cx).join('\n')
    expect(text).toContain('LIVEUPDATE_IOCTL_CREATE_SESSION(name="vm#35;1#59;x")')
    expect(text).toContain('Note over M,K: ownership: owner #35;2#59; not #35;3')
    // nothing unescaped in a message or a note
    for (const l of text.split('\n').filter((x) => /(->>|-->>|Note over)/.test(x)))
      expect(l.split(':').slice(1).join(':').replace(/#(35|59);/g, '')).not.toMatch(/[#;]/)
  })

  it('numbers each call with its step number, model and kernel apart, the diverging step highlighted', () => {
    const text = mermaidDiagram(goldenCounterexample()).join('\n')
    expect(text).toMatch(/rect rgb\(255, 220, 220\)\n {8}VMM->>M: 21\. VFIO_DEVICE_BIND_IOMMUFD/)
    expect(text).toContain('        M-->>VMM: -EPERM\n        K-->>VMM: 1 (differs)')
    expect(text).toContain('Device->>M: 9. DMA(bdf=0000:01:00.0, iova=0x101000)')
    // the state difference is drawn over both participants
    expect(text).toMatch(/Note over M,K: state differs after step 21: owners\[0000:01:00\.0\] model/)
  })

  it('wraps notes: no line of a note is longer than the note width', () => {
    const cx = goldenCounterexample()
    cx.steps[21].violations = [{ property: 'ownership', message: 'a '.repeat(80) + 'x'.repeat(150) }]
    for (const l of mermaidDiagram(cx).filter((x) => x.includes('Note over')))
      for (const part of l.replace(/^[^:]*: /, '').split('<br/>')) expect(part.length).toBeLessThanOrEqual(MERMAID_NOTE_WIDTH)
    expect(mermaidWrap('one two three', 8)).toBe('one two<br/>three')
  })

  it(`shows at most ${MERMAID_MAX_STEPS} steps and points at the ITF file`, () => {
    const lines = mermaidDiagram(longCounterexample(90))
    expect(lines.filter((l) => / {4,8}(VMM|Device)->>M:/.test(l))).toHaveLength(MERMAID_MAX_STEPS)
    expect(lines.join('\n')).toContain('Note over VMM,K: steps 0-29 not shown: see trace.itf.json')
    expect(lines.join('\n')).toContain('->>M: 89. ')
  })
})

describe('repro.c', () => {
  it('two stages across the kexec, raw ioctls on the series uapi, the model results asserted', () => {
    const text = renderRepro(goldenCounterexample())
    expect(text).toContain('#include "../kselftest_harness.h"')
    expect(text).toContain('#include <linux/liveupdate.h>')
    expect(text).toContain('ASSERT_EQ(0, hwpt_alloc(iommufd1, dev_id1, ioas1, 0, &hwpt1));')
    expect(text).toContain('struct iommu_hwpt_lu_mark_preserve cmd = {')
    expect(text).toContain('ioctl(iommufd, IOMMU_HWPT_LU_MARK_PRESERVE, &cmd)')
    expect(text).toMatch(/if \(stage == 1\) \{[\s\S]*next_stage\(_metadata, luo_fd, 2\);\n\t\treturn;\n\t\}\n\n\tif \(stage == 2\) \{/)
    expect(text).toContain("/* step 21: VFIO_DEVICE_BIND_IOMMUFD = -EPERM; luv's kernel: 1 */")
    expect(text).toMatch(/ASSERT_EQ\(-EPERM, bind_iommufd\(cdev2, iommufd2, &dev_id2\)\);\n\t\}\n\}/)
    // one TEST: no TEST_F whose forked child would close the sessions across the kexec
    expect(text).not.toContain('TEST_F(')
    expect(text.match(/^TEST\(/gm)).toHaveLength(1)
  })

  it('writes errnos, flags and big tokens as C; marks a final DMA as needing a DMA-capable device', () => {
    const text = renderRepro(longCounterexample(3))
    expect(text).toContain('SKIP(return, "step 2: DMA needs a DMA-capable test device");')
    expect(text).toContain('vfio_pci_driver_memcpy()')
    expect(text).toContain('ASSERT_EQ(-EOVERFLOW, ioas_map_file(12 /* no fd 12 in this boot */')
    expect(renderRepro(longCounterexample(4))).toContain('IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_ALLOC_PASID')
    const rfc = { ...longCounterexample(5), profile: 'rfc-v2' }
    expect(renderRepro(longCounterexample(5)).replace(/\n \* /g, ' ')).toContain('expects what the model gives: it returns 0.')
    expect(renderRepro(rfc)).toContain('struct iommu_hwpt_lu_set_preserve cmd = {')
    expect(renderRepro(rfc)).toContain('.preserve = preserve,')
  })
})

describe('scenario.json', () => {
  it('writes u64 as hex, tokens as decimal, the model result as expect', () => {
    const sc = scenarioJson(goldenCounterexample()) as { steps: Record<string, unknown>[] }
    expect(sc.steps[4]).toEqual({
      op: 'IOMMU_IOAS_MAP_FILE',
      args: { iommufd: 4, ioas: 1, memfd: 3, start: '0x0', length: '0x2000', iova: '0x100000' },
      expect: 'ok',
    })
    expect(sc.steps[2]).toEqual({ op: 'IOMMUFD_OPEN', expect: 'ok' })
    expect(sc.steps[9]).toEqual({ op: 'DMA', args: { bdf: '0000:01:00.0', iova: '0x101000' }, expect: { out: '0x1000' } })
    expect(sc.steps[10]).toMatchObject({ args: { token: '100' } })
    expect(sc.steps[21]).toMatchObject({ expect: 'EPERM' })
  })
})
