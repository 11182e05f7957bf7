// The kernel's own live-update selftests, translated into scenario files (properties/kselftests/,
// README.md there says which source each comes from). Every file runs under the profile of the
// version it was written for, on the model and on the kernel implementation with conformance
// checked (`luv run --impl both`): the outside truth luv must agree with.
//
// A translation that fails because a luv rule disagrees with the kernel is a finding, not a
// reason to weaken the translation: such files are listed in KNOWN_GAPS with the step that
// fails and the audit rule, and the test asserts they still fail exactly there, so the list
// cannot go stale (fix the model, then delete the entry). Files that need vocabulary luv does
// not have yet are listed in CANNOT_LOAD and skipped with the reason; the test asserts they
// still do not load.

import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadScenario } from '../src/scenario/load.ts'
import { UnboundNameError, runScenario } from '../src/scenario/run.ts'
import type { ScenarioRun } from '../src/scenario/run.ts'
import { createExecutor } from '../src/check/index.ts'
import { renderRun } from '../src/scenario/print.ts'

const DIR = 'properties/kselftests'
/** Files longer than this run only with LUV_KSELFTESTS=full: the 2000-session translations
 *  still cost 15 s (liveupdate.preserve_many_sessions, 4001 steps) and 21 s (luo_stress_sessions,
 *  8014 steps) of CPU on --impl both (36 s and 52 s before the model stopped counting file
 *  references and scanning sessions through immer drafts, 1 Dec 2026). What is left grows with
 *  the number of open objects per step, not with the square of the trace: immer's copy of the fd
 *  table, the file table and the session lists on each step, and the full observation both
 *  implementations build and compare after each step (bench/trace-length.ts measures µs/step by
 *  trace length). npm test must stay fast. `luv run properties/kselftests` runs them too. */
const MAX_STEPS = 3000
const FULL = process.env.LUV_KSELFTESTS === 'full'
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()

interface Gap {
  /** the first step (0-based index into `steps`) where luv answers differently */
  step: number
  /** the fidelity-audit rule (../shared/domain/fidelity-audit.md) */
  rule: string
  /** what the kernel code does, and where it was read */
  kernel: string
}

/** Translations luv fails because its rule disagrees with the kernel code (see README). */
const KNOWN_GAPS: Record<string, Gap> = {}

/** The selftest asserts what the kernel code read does not do; luv follows the code (README). */
const TEST_VS_CODE: Record<string, Gap> = {
  'iommufd_liveupdate.rfc-v2.json': {
    step: 32,
    rule: 'ME3 (a preserved memfd cannot change size; nothing freezes a retrieved one)',
    kernel:
      'verify_immutable() after the kexec expects ftruncate of the retrieved memfd to fail, but memfd_luo_retrieve (torvalds/linux mm/memfd_luo.c 02e117b, samikhawaja/linux mm/memfd_luo.c 9999520) makes a new file with no freeze and only the seals the old one had (here F_SEAL_SEAL, which does not stop a truncate): the code returns 0; the V1-era memfd_luo.c was not read',
  },
}

/** Files that need an op, argument or profile luv does not have yet, and what is missing. */
const CANNOT_LOAD: Record<string, string> = {}

function run(file: string, defect?: string): { run: ScenarioRun; aborted?: string } {
  const sc = loadScenario(join(DIR, file))
  try {
    const executor = createExecutor(sc.platform, sc.design, { impl: 'both', ...(defect !== undefined && { defect }) })
    return { run: runScenario(sc, { executor }) }
  } catch (e) {
    if (e instanceof UnboundNameError) return { run: e.partial, aborted: e.message }
    throw e
  }
}

const trace = (r: { run: ScenarioRun; aborted?: string }) =>
  renderRun(r.run, r.aborted === undefined ? {} : { aborted: r.aborted })
    .map((l) => l.text)
    .join('\n')

/** The first step whose expectation failed, whose results diverged, or that violated a
 *  property the file does not declare. */
function failingSteps(r: ScenarioRun): number[] {
  const declared = new Set(r.expected)
  return r.steps.filter((s) => !s.expectOk || s.diverged || s.violations.some((v) => !declared.has(v.property))).map((s) => s.index)
}
const firstFailingStep = (r: ScenarioRun): number | undefined => failingSteps(r)[0]

describe('kselftest translations (properties/kselftests)', () => {
  it('the committed files are what generate.mjs writes', () => {
    execFileSync(process.execPath, [join(DIR, 'generate.mjs'), '--check'], { stdio: 'pipe' })
  })

  // The translations are worth something only if they can fail: two of the seeded kernel
  // defects (src/kernel, `luv defects`) that the selftests catch, each at the step named.
  it.each([
    // a DID off by one: the first attach already diverges from the model (isolation/conformance)
    ['did-alloc-off-by-one', 'iommufd_liveupdate_kexec_test.json', 14],
    // preserve never freezes the IOAS: V1's verify_immutable() territory
    ['ioas-mutable-after-preserve', 'iommufd_liveupdate.rfc-v2.json', 12],
  ])('seeded defect %s is caught by %s at step %i', (defect, file, step) => {
    const r = run(file, defect)
    expect(r.run.passed, trace(r)).toBe(false)
    expect(firstFailingStep(r.run), trace(r)).toBe(step)
  })

  it('every file names its source and runs under an explicit profile', () => {
    for (const f of FILES) {
      if (CANNOT_LOAD[f] !== undefined) continue
      const sc = loadScenario(join(DIR, f))
      // liveupdate.create_duplicate_session.json is "liveupdate-create_duplicate_session"
      expect(sc.name, f).toBe(f.replace(/\.json$/, '').replace('.', '-'))
      expect(sc.description ?? '', f).toMatch(/(torvalds|samikhawaja)\/linux tools\/testing\/selftests\//)
      expect(sc.designSpec.profile, f).toBeDefined()
    }
  })

  it('every list entry names a file that exists', () => {
    for (const f of [...Object.keys(KNOWN_GAPS), ...Object.keys(TEST_VS_CODE), ...Object.keys(CANNOT_LOAD)])
      expect(FILES, `${f} is listed in test/kselftests.test.ts but not in ${DIR}`).toContain(f)
  })

  for (const f of FILES) {
    const missing = CANNOT_LOAD[f]
    if (missing !== undefined) {
      it.skip(`${f}: cannot load yet: ${missing}`, () => {})
      it(`${f} still cannot load (else remove it from CANNOT_LOAD)`, () => {
        expect(() => loadScenario(join(DIR, f))).toThrow()
      })
      continue
    }
    let steps: number
    try {
      steps = loadScenario(join(DIR, f)).steps.length
    } catch (e) {
      it(`${f} loads`, () => {
        throw e
      })
      continue
    }
    if (steps > MAX_STEPS && !FULL) {
      it.skip(`${f}: ${steps} steps, run with LUV_KSELFTESTS=full (about a minute of CPU; see MAX_STEPS)`, () => {})
      continue
    }
    const gap = KNOWN_GAPS[f] ?? TEST_VS_CODE[f]
    if (gap !== undefined) {
      const kind = KNOWN_GAPS[f] ? `fidelity gap, audit ${gap.rule}` : `selftest disagrees with the code, ${gap.rule}`
      it(`${f} fails at step ${gap.step} (${kind}): ${gap.kernel}`, () => {
        const r = run(f)
        expect(r.run.passed, trace(r)).toBe(false)
        expect(firstFailingStep(r.run), trace(r)).toBe(gap.step)
        // a selftest-vs-code entry is that one assertion; anything else failing is news
        if (TEST_VS_CODE[f]) expect(failingSteps(r.run), trace(r)).toEqual([gap.step])
      })
      continue
    }
    // the long files take minutes of wall time on a shared 2-core machine (146 s measured)
    const timeout = steps > MAX_STEPS ? 900_000 : undefined
    it(
      `${f} passes on the model and the kernel`,
      () => {
        const r = run(f)
        expect(r.aborted, trace(r)).toBeUndefined()
        expect(r.run.passed, trace(r)).toBe(true)
      },
      timeout,
    )
  }
})
