// The exhaustive tier (src/explore/): breadth-first search over the model within a scope,
// symmetry reduction, shortest traces, properties on every transition, conformance replay on
// the kernel, bundles. Scopes here are small (a second or two each); figures are checked by
// their relations, not their values, so a change of the model does not break them.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveDesign } from '../../models/design.ts'
import { run } from '../../models/step.ts'
import type { Op } from '../../models/ops.ts'
import { explore } from '../../src/explore/explore.ts'
import { canonicalFingerprint, canonicalForm } from '../../src/explore/canonical.ts'
import { EnabledOps, enabledOps, exploredOps, opsKey } from '../../src/explore/actions.ts'
import { defaultScope, parseScope, type Scope } from '../../src/explore/scope.ts'
import { writeExploreReport } from '../../src/explore/report.ts'
import { main } from '../../src/cli/main.ts'

const lpc = resolveDesign({})

/** A scope with only the ops that open, bind and close a device (cold boot only). */
function deviceScope(depth: number): Scope {
  return parseScope(
    {
      name: 'device-open-bind-close',
      depth,
      init: [{ name: 'cold-boot', steps: [] }],
      skipOps: [
        'MEMFD_CREATE', 'MEMFD_SEAL', 'MEMFD_TRUNCATE', 'IOMMU_IOAS_ALLOC', 'IOMMU_IOAS_MAP_FILE', 'IOMMU_IOAS_MAP', 'IOMMU_IOAS_UNMAP',
        'IOMMU_HWPT_ALLOC', 'IOMMU_DESTROY', 'IOMMU_HWPT_LU_SET_PRESERVE', 'IOMMU_HWPT_LU_RESTORE', 'VFIO_DEVICE_ATTACH_IOMMUFD_PT',
        'VFIO_DEVICE_DETACH_IOMMUFD_PT', 'VFIO_DEVICE_SET_IRQS', 'LIVEUPDATE_OPEN', 'LIVEUPDATE_IOCTL_CREATE_SESSION',
        'LIVEUPDATE_SESSION_PRESERVE_FD', 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION', 'LIVEUPDATE_SESSION_RETRIEVE_FD', 'LIVEUPDATE_SESSION_FINISH', 'KEXEC', 'DMA',
      ],
      bounds: { iommufds: 1, cdevs: 1 },
    },
    'test scope',
  )
}

describe('canonical form (symmetry reduction)', () => {
  const form = (ops: Op[], symmetry = true) => canonicalForm(run(defaultScope().platform, lpc, ops).states.at(-1)!, symmetry)
  const memfd: Op = { op: 'MEMFD_CREATE', args: { pages: 1 } }
  const ifd: Op = { op: 'IOMMUFD_OPEN', args: {} }

  it('two orders of opening the same files give one state (fds renamed by what they are)', () => {
    expect(form([memfd, ifd])).toBe(form([ifd, memfd]))
    expect(form([memfd, ifd], false)).not.toBe(form([ifd, memfd], false))
  })

  it('a file closed and opened again is the same state as never closed (serials renamed)', () => {
    expect(form([ifd, { op: 'CLOSE', args: { fd: 3 } }, ifd])).toBe(form([ifd]))
  })

  it('the fingerprint the search keeps partitions states as the canonical string does', async () => {
    // every distinct state of a small search: equal strings exactly when equal fingerprints
    const byForm = new Map<string, number>()
    const byFp = new Map<number, string>()
    await explore({
      scope: defaultScope(),
      design: lpc,
      depth: 2,
      conformance: false,
      onState: (s) => {
        for (const sym of [true, false]) {
          const f = canonicalForm(s.state, sym)
          const fp = canonicalFingerprint(s.state, sym)
          // from the parts kept per object (canonical.ts Part) as from parts computed afresh
          expect(canonicalFingerprint(s.state, sym, false)).toBe(fp)
          if (byForm.has(f)) expect(byForm.get(f)).toBe(fp)
          else byForm.set(f, fp)
          if (byFp.has(fp)) expect(byFp.get(fp)).toBe(f)
          else byFp.set(fp, f)
        }
      },
    })
    expect(byForm.size).toBeGreaterThan(500)
  })

  it('different contents stay different', () => {
    expect(form([memfd])).not.toBe(form([{ op: 'MEMFD_CREATE', args: { pages: 2 } }]))
    expect(form([memfd])).not.toBe(form([memfd, { op: 'MEMFD_SEAL', args: { fd: 3, seals: ['SEAL'] } }]))
  })
})

describe('the action domain', () => {
  const at = (steps: Op[], profile = lpc) => run(defaultScope().platform, profile, steps).states.at(-1)!
  it('the op lists kept by what the enumerators read (EnabledOps) are the lists enabledOps builds, on every state of a search', async () => {
    for (const profile of ['lpc2025', 'rfc-v2'] as const) {
      const scope = defaultScope()
      const ops = exploredOps(scope, profile)
      const kept = new EnabledOps(scope, ops)
      const keys = new Set<string>()
      let states = 0
      await explore({
        scope,
        design: resolveDesign({ profile }),
        depth: 3,
        conformance: false,
        onState: (s) => {
          states++
          keys.add(opsKey(s.state))
          // a list built here, or kept from an earlier state with the same key
          expect(kept.of(s.state)).toEqual(enabledOps(s.state, scope, ops))
        },
      })
      // the lists are shared (at depth 3 about 3 states a list; at the default depth 5, 13,260
      // expanded states have 2,920 lists)
      expect(kept.size).toBe(keys.size)
      expect(keys.size).toBeLessThan(states / 2)
    }
  })
  it('takes the mark ioctl under the name the profile posted, once; a scope may ask for the others', () => {
    const names = (scope: Scope, profile?: 'v3' | 'lpc2025') => exploredOps(scope, profile).filter((n) => n.includes('PRESERVE') && n.startsWith('IOMMU_HWPT'))
    expect(names(defaultScope())).toEqual(['IOMMU_HWPT_LU_SET_PRESERVE'])
    expect(names(defaultScope(), 'v3')).toEqual(['IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE'])
    expect(names(parseScope({ domains: { markOps: ['IOMMU_HWPT_LU_MARK_PRESERVE', 'IOMMU_HWPT_LU_SET_PRESERVE'] } }, 's'), 'v3')).toEqual([
      'IOMMU_HWPT_LU_SET_PRESERVE',
      'IOMMU_HWPT_LU_MARK_PRESERVE',
    ])
  })
  it('enumerates KEXEC with a failing kho_finalize, MEMFD_CREATE without sealing and LIVEUPDATE_SESSION_GET_NAME', () => {
    const scope = defaultScope()
    const s = at([{ op: 'LIVEUPDATE_OPEN', args: {} }, { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 's0' } }])
    const ops = enabledOps(s, scope, exploredOps(scope))
    expect(ops).toContainEqual({ op: 'KEXEC', args: { khoFinalizeFails: true } })
    expect(ops).toContainEqual({ op: 'MEMFD_CREATE', args: { pages: 1, allowSealing: false } })
    expect(ops.filter((o) => o.op === 'LIVEUPDATE_SESSION_GET_NAME').length).toBeGreaterThanOrEqual(2)
    const off = parseScope({ domains: { khoFinalizeFails: false } }, 's')
    expect(enabledOps(s, off, exploredOps(off)).filter((o) => o.op === 'KEXEC')).toEqual([{ op: 'KEXEC', args: {} }])
  })
})

describe('luv explore: breadth-first search', () => {
  it('keeps the shortest trace to every distinct state, and the figures add up', async () => {
    const seen: { depth: number; trace: Op[]; form: string }[] = []
    const scope = defaultScope()
    const r = await explore({
      scope,
      design: lpc,
      depth: 2,
      conformance: false,
      onState: (s) => seen.push({ depth: s.depth, trace: s.trace(), form: canonicalForm(s.state) }),
    })
    expect(r.stats.complete).toBe(true)
    expect(r.stats.distinct).toBe(seen.length)
    expect(r.stats.levels.reduce((a, b) => a + b, 0)).toBe(r.stats.distinct)
    expect(r.stats.generated).toBeGreaterThanOrEqual(r.stats.distinct - r.stats.levels[0])
    expect(r.stats.transitions).toBeGreaterThan(r.stats.generated)
    expect(r.stats.depthReached).toBe(2)
    expect(new Set(seen.map((s) => s.form)).size).toBe(seen.length)
    // each trace replayed on the model reaches its state, and it is as long as its depth
    // beyond the initial state's prefix (breadth-first: no shorter path exists in scope)
    const prefix = new Map(r.init.map((i) => [i.name, i.ops.length]))
    for (const s of seen) {
      const end = run(scope.platform, lpc, s.trace).states.at(-1)!
      expect(canonicalForm(end)).toBe(s.form)
      expect(s.trace.length - Math.min(...prefix.values())).toBeGreaterThanOrEqual(s.depth)
    }
    expect(r.violations).toEqual([])
  })

  it('symmetry reduction merges states without losing an (op, result) pair', async () => {
    const on = await explore({ scope: deviceScope(4), design: lpc, conformance: false })
    const off = await explore({ scope: deviceScope(4), design: lpc, conformance: false, symmetry: false })
    expect(on.stats.distinct).toBeLessThan(off.stats.distinct)
    expect(Object.keys(on.coverage.ops)).toEqual(Object.keys(off.coverage.ops))
  })

  it('finds a model property a design breaks, with the shortest trace (phase1 cannot recover)', async () => {
    const r = await explore({ scope: defaultScope(), design: resolveDesign({ profile: 'phase1' }), depth: 1, conformance: false })
    const v = r.violations.find((x) => x.property === 'recoverability')
    expect(v).toBeDefined()
    // device-preserved + KEXEC (session-retrieved's prefix holds the same KEXEC)
    expect(v!.ops.length).toBe(r.init.find((i) => i.name === 'device-preserved')!.ops.length + 1)
    expect(v!.ops.at(-1)!.op).toBe('KEXEC')
    // transitions that failed and changed nothing are not evaluated twice: the same findings
    const again = await explore({ scope: defaultScope(), design: resolveDesign({ profile: 'phase1' }), depth: 1, conformance: false, recheckFailed: true })
    expect(again.violations).toEqual(r.violations)
    expect(again.stats.unchangedNotRechecked).toBe(0)
    expect(r.stats.unchangedNotRechecked).toBeGreaterThan(0)
    // lpc2025 keeps every property on the same scope
    const ok = await explore({ scope: defaultScope(), design: lpc, depth: 1, conformance: false })
    expect(ok.violations).toEqual([])
  })

  it('replays every transition on the kernel: a seeded defect is found with its shortest trace, the clean kernel passes', async () => {
    const clean = await explore({ scope: deviceScope(4), design: lpc })
    expect(clean.violations).toEqual([])
    // every transition taken on the model was taken on the kernel too (tree edges at the new
    // state's replay, the others on the spot)
    expect(clean.conformance.transitions).toBe(clean.stats.transitions)
    const bad = await explore({ scope: deviceScope(4), design: lpc, defect: 'group-owner-left-set-after-release' })
    const v = bad.violations[0]
    expect(v).toBeDefined()
    // the catalogue's shortest known trace has 4 steps; breadth-first cannot do worse
    expect(v.ops.length).toBeLessThanOrEqual(4)
    expect(bad.conformance.divergences).toBeGreaterThan(0)
  })

  it('a divergence in an initial state\'s prefix is reported at that step, bundled and replayable', async () => {
    const scope = defaultScope()
    const r = await explore({ scope, design: lpc, depth: 1, defect: 'ioas-mutable-after-preserve' })
    const v = r.violations.find((x) => x.property === 'conformance')!
    expect(v.depth).toBe(0)
    expect(v.ops.at(-1)).toMatchObject({ op: 'LIVEUPDATE_SESSION_PRESERVE_FD' })
    const out = mkdtempSync(join(tmpdir(), 'luv-explore-'))
    const bundles = await writeExploreReport(r, scope, out, { profile: 'lpc2025', command: 'test', defect: 'ioas-mutable-after-preserve' })
    const dir = join(out, bundles.get('conformance')!)
    for (const f of ['report.md', 'scenario.json', 'trace.itf.json', 'repro.c', 'email.txt']) expect(existsSync(join(dir, f))).toBe(true)
    expect(readFileSync(join(out, 'explore.md'), 'utf8')).toMatch(/\*\*FAIL\*\*: conformance violated/)
    expect(JSON.parse(readFileSync(join(out, 'explore.json'), 'utf8')).violations[0].bundle).toBe(bundles.get('conformance'))
    let text = ''
    const sink = { write: (s: string) => (text += s) }
    const code = await main(['replay', dir], { stdout: sink, stderr: sink, env: {} })
    expect(code).toBe(1)
    expect(text).toMatch(/REPRODUCED: conformance/)
  })

  it('gives the same result on worker threads as on one thread', async () => {
    // how the kernels were had (replayed in a worker, forked from the parent's in-process) is
    // not part of the result
    const strip = (r: Awaited<ReturnType<typeof explore>>) => ({
      ...r,
      stats: { ...r.stats, seconds: 0, distinctPerMinute: 0, generatedPerMinute: 0, time: {} },
      conformance: { ...r.conformance, replays: 0, fromParent: 0, forks: 0 },
    })
    const one = await explore({ scope: deviceScope(4), design: lpc, defect: 'group-owner-left-set-after-release' })
    const two = await explore({ scope: deviceScope(4), design: lpc, defect: 'group-owner-left-set-after-release', workers: 2 })
    expect(one.violations.length).toBeGreaterThan(0)
    expect(strip(two)).toEqual(strip(one))
    // the workers kept their states' kernels: most children are a fork of the parent's
    expect(two.conformance.fromParent).toBeGreaterThan(two.conformance.replays)
  })

  it('stops when asked and says what it explored', async () => {
    const ac = new AbortController()
    ac.abort()
    const r = await explore({ scope: defaultScope(), design: lpc, depth: 3, conformance: false, signal: ac.signal })
    expect(r.stats.complete).toBe(false)
    expect(r.stats.stoppedBy).toBe('signal')
    expect(r.stats.leftOnQueue).toBeGreaterThan(0)
    expect(r.stats.distinct).toBe(r.stats.levels[0])
    const w = await explore({ scope: defaultScope(), design: lpc, depth: 3, conformance: false, signal: ac.signal, workers: 2 })
    expect(w.stats.stoppedBy).toBe('signal')
    expect(w.stats.leftOnQueue).toBe(r.stats.leftOnQueue)
    expect(w.stats.distinct).toBe(r.stats.distinct)
  })
})
