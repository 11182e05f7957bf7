// What the default campaign must reach, measured against an exploration of the default scope
// (issue 13: "a test fails if the default campaign leaves unreached an (op, errno) pair that
// exploration shows reachable"): the (op, result) pairs, and the lifecycle transitions of
// model-terms.ts (per device, per session) the same way. test/coverage/coverage.test.ts
// explores to depth 3 (about 2 s of CPU); a depth-5 exploration costs about 28 s, too much for
// `npm test`, so the transitions it adds are listed here and `bench/reach.ts` checks the list
// against a depth-5 exploration (and the campaign against that exploration).

import { resolveDesign } from '../../models/design.ts'
import { DEFAULT_CAMPAIGN_PLATFORMS } from '../../models/platform.ts'
import { runProperty } from '../../properties/run.ts'
import { DEFAULT_SEED } from '../campaign/options.ts'
import { explore } from '../explore/explore.ts'
import { defaultScope } from '../explore/scope.ts'
import { Coverage, countingExecutor, unreachedPairs, type CoverageData } from './coverage.ts'

/** The depth test/coverage explores the default scope to. */
export const TEST_DEPTH = 3
/** The depth bench/reach.ts explores to, and that DEEP_TRANSITIONS was read from. */
export const DEEP_DEPTH = 5

/** (op, result) pairs a campaign on the default platforms (without fail-nth) cannot reach but
 *  the exploration's small scope can, and why (the coverage test and bench/reach.ts fail when
 *  one starts to be reached). */
export const DEFAULT_PLATFORM_GAPS: Record<string, string> = {
  'VFIO_DEVICE_ATTACH_IOMMUFD_PT ENOMEM': "the default platform's 1024 table pages never run out; --platform mixed (the tiny platform) reaches it",
  // depth 5: the scope's 12 table pages fill up (properties/errnos.ts NOT_REACHED says the same)
  'IOMMU_IOAS_MAP_FILE ENOMEM': "the default platform's 1024 table pages never run out; --platform mixed and fail-nth reach it",
}

/** Lifecycle transitions (`device from -> to`, `session from -> to`) a depth-5 exploration of
 *  the default scope reaches and a depth-3 one does not (`node --import tsx bench/reach.ts`
 *  checks this list). How each arises in the model, so a generator can be pointed at it:
 *  * device attached/bound -> preserved: a cdev preserved without IOMMU state (not attached;
 *    an attached one preserved gets frozen unless it is attached after);
 *  * device preserved -> attached / bound / unbound: its outgoing session's fd closed before
 *    KEXEC (models/luo.ts unpreserveSession), the cdev attached, bound, or closed meanwhile;
 *  * device attached -> frozen, preserved -> incoming, reclaimed -> finished: the documented
 *    preserve, KEXEC and FINISH, a few steps further from the initial states;
 *  * session retrieved -> created: the retrieved incoming session's fd closed (its release
 *    finishes it) once an outgoing session of the same name was created;
 *  * session retrieved -> finished: LIVEUPDATE_SESSION_FINISH. */
export const DEEP_TRANSITIONS: readonly string[] = [
  'device attached -> frozen',
  'device attached -> preserved',
  'device bound -> preserved',
  'device preserved -> attached',
  'device preserved -> bound',
  'device preserved -> incoming',
  'device preserved -> unbound',
  'device reclaimed -> finished',
  'session retrieved -> created',
  'session retrieved -> finished',
]

/** A coverage record's lifecycle transitions, as `device A -> B` / `session A -> B`. */
export function transitionsOf(c: CoverageData): string[] {
  return [...Object.keys(c.deviceTransitions).map((t) => `device ${t}`), ...Object.keys(c.sessionTransitions).map((t) => `session ${t}`)].sort()
}

/** What `campaign` leaves unreached of what `exploration` (plus `also`) reached: (op, result)
 *  pairs and lifecycle transitions, sorted; and the DEFAULT_PLATFORM_GAPS it reached after all. */
export function reachGaps(campaign: CoverageData, exploration: CoverageData, also: readonly string[] = []): { pairs: string[]; transitions: string[]; reachedGaps: string[] } {
  const have = new Set(transitionsOf(campaign))
  return {
    pairs: unreachedPairs(campaign, Object.keys(exploration.ops)),
    reachedGaps: Object.keys(DEFAULT_PLATFORM_GAPS).filter((k) => k in campaign.ops),
    transitions: [...new Set([...transitionsOf(exploration), ...also])].filter((t) => !have.has(t)).sort(),
  }
}

/** The coverage test's campaign (test/coverage/coverage.test.ts, bench/reach.ts): the default
 *  campaign's platforms drawn per run, lpc2025, the model (what the generators reach does not
 *  depend on the implementation checked against it), counted by a Coverage. */
export function defaultCampaignCoverage(numRuns: number, seed: number = DEFAULT_SEED): { r: ReturnType<typeof runProperty>; data: CoverageData } {
  const cov = new Coverage()
  const r = runProperty({
    platform: DEFAULT_CAMPAIGN_PLATFORMS[0],
    platforms: [...DEFAULT_CAMPAIGN_PLATFORMS],
    design: resolveDesign({}),
    impl: 'model',
    seed,
    numRuns,
    wrapExecutor: (e) => countingExecutor(e, cov),
  })
  return { r, data: cov.data() }
}

/** The exploration of the default scope the reach checks compare against (no conformance:
 *  reach is a property of the model). */
export const exploreDefaultScope = (depth: number) => explore({ scope: defaultScope(), design: resolveDesign({}), depth, conformance: false })
