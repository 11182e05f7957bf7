// The declared scope of an exploration (Alloy's "check ... for 2 but 1 Session"; TLC's
// constants): the platform, the initial states, how many objects of each kind may be live at
// once, the small domains argument values are drawn from, and the depth. A scope file is JSON
// validated with zod; every problem names the field (`bounds.iommufds: expected ...`), exit 2.
//
// The initial states are op prefixes in the scenario step format (DESIGN.md §2.2), run on the
// model: TLC's Init may hold several states, and a prefix is how a small scope reaches the
// other side of a KEXEC without exploring the 16 steps it takes to preserve a device.

import { readFileSync } from 'node:fs'
import { z } from 'zod'
import type { Platform } from '../../models/platform.ts'
import { SEALS, type HwptAllocFlag, type Seal } from '../../models/ops.ts'
import { HWPT_ALLOC_FLAGS, OP_NAMES } from '../../models/ops.ts'
import { ScenarioError, parseScenario } from '../scenario/load.ts'
import { platformSchema, stepsSchema } from '../scenario/schema.ts'
import { MARK_OPS, type MarkOp } from './actions.ts'

export class ScopeError extends Error {}

const posInt = (what: string) => z.number({ error: `expected ${what}` }).int({ error: `expected ${what}` }).min(0, { error: `expected ${what}` })
const u64 = z.union([z.string().regex(/^(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})$/, { error: 'expected a u64 as a hex ("0x1000") or decimal string' }), z.number().int().min(0)], {
  error: 'expected a u64 as a hex ("0x1000") or decimal string, or a safe integer',
})

const boundsSchema = z.strictObject({
  /** live memfd files */
  memfds: posInt('a count of live memfds').default(1),
  /** live iommufd files */
  iommufds: posInt('a count of live iommufds').default(2),
  /** live IOAS objects, over all iommufds */
  ioas: posInt('a count of live IOAS objects').default(2),
  /** live HWPT_PAGING objects, over all iommufds */
  hwpts: posInt('a count of live HWPTs').default(2),
  /** open VFIO cdev files */
  cdevs: posInt('a count of open cdevs').default(2),
  /** LUO sessions created (outgoing, live) */
  sessions: posInt('a count of sessions').default(1),
  /** KEXECs over the whole trace (the boot number) */
  kexecs: posInt('a count of KEXECs').default(1),
})

const domainsSchema = z.strictObject({
  /** MEMFD_CREATE sizes */
  memfdPages: z.array(posInt('a page count'), { error: 'expected an array of page counts' }).default([1]),
  /** MEMFD_TRUNCATE sizes */
  truncatePages: z.array(posInt('a page count'), { error: 'expected an array of page counts' }).default([0]),
  /** MEMFD_SEAL seal sets */
  seals: z
    .array(z.array(z.enum(SEALS as unknown as [Seal, ...Seal[]], { error: `expected a seal name (${SEALS.join(', ')})` })), { error: 'expected an array of seal sets' })
    .default([['SEAL', 'GROW', 'SHRINK']]),
  /** fixed IOVAs for MAP/MAP_FILE/UNMAP and DMA; `auto` adds the auto-IOVA form of MAP/MAP_FILE */
  iovas: z.array(u64, { error: 'expected an array of IOVAs' }).default(['0x100000']),
  autoIova: z.boolean({ error: 'expected true or false' }).default(false),
  /** lengths for MAP/MAP_FILE/UNMAP */
  lengths: z.array(u64, { error: 'expected an array of lengths' }).default(['0x1000']),
  /** tokens for LUO files and HWPT marks */
  tokens: z.array(u64, { error: 'expected an array of tokens' }).default(['1', '2', '3']),
  /** session names */
  sessions: z.array(z.string().min(1), { error: 'expected an array of session names' }).default(['s0']),
  /** PASIDs (besides the RID) for attach/detach/DMA on devices with PASID support */
  pasids: z.array(posInt('a PASID'), { error: 'expected an array of PASIDs' }).default([1]),
  /** IOMMU_HWPT_ALLOC flag sets ([] is no flags) */
  hwptFlags: z
    .array(z.array(z.enum(HWPT_ALLOC_FLAGS as unknown as [HwptAllocFlag, ...HwptAllocFlag[]], { error: `expected a flag (${HWPT_ALLOC_FLAGS.join(', ')})` })), {
      error: 'expected an array of flag sets',
    })
    .default([[], ['PASID']]),
  /** kernel drivers for DRIVER_BIND */
  drivers: z.array(z.string().min(1), { error: 'expected an array of driver names' }).default(['pci-pf-stub']),
  /** add, for each fd argument, one fd that is not open (the EBADF paths) */
  badFd: z.boolean({ error: 'expected true or false' }).default(true),
  /** add, for each fd argument, the lowest open fd of another kind (ENOTTY/EINVAL paths) */
  wrongKindFd: z.boolean({ error: 'expected true or false' }).default(true),
  /** KEXEC also with khoFinalizeFails (reboot() fails after the freeze: EAGAIN) */
  khoFinalizeFails: z.boolean({ error: 'expected true or false' }).default(true),
  /** the names of the mark ioctl to explore (default: the one the design's profile posted,
   *  src/explore/actions.ts POSTED_MARK_OP); they are one op, so each name repeats the others */
  markOps: z
    .array(z.enum(MARK_OPS as unknown as [MarkOp, ...MarkOp[]], { error: `expected a mark op name (${MARK_OPS.join(', ')})` }), { error: 'expected an array of op names' })
    .min(1, { error: 'expected at least one mark op name' })
    .optional(),
})

const initSchema = z.strictObject({
  name: z.string({ error: 'expected a name' }).min(1, { error: 'expected a non-empty name' }),
  description: z.string().optional(),
  steps: z.array(z.unknown(), { error: 'expected an array of steps' }),
})

export const scopeFileSchema = z.strictObject({
  name: z.string({ error: 'expected a name' }).min(1).optional(),
  description: z.string().optional(),
  platform: z.unknown().optional(),
  /** breadth-first depth bound: ops after the initial state */
  depth: z.number({ error: 'expected a depth (a positive integer)' }).int({ error: 'expected an integer depth' }).min(1, { error: 'expected a depth >= 1' }).max(64, { error: 'expected a depth <= 64' }).optional(),
  bounds: boundsSchema.optional(),
  domains: domainsSchema.optional(),
  /** op names to leave out of the exploration */
  skipOps: z.array(z.string(), { error: 'expected an array of op names' }).optional(),
  init: z.array(initSchema, { error: 'expected an array of initial states { name, steps }' }).min(1, { error: 'expected at least one initial state' }).optional(),
})

export type Bounds = z.output<typeof boundsSchema>
export interface Domains {
  memfdPages: number[]
  truncatePages: number[]
  seals: Seal[][]
  iovas: bigint[]
  autoIova: boolean
  lengths: bigint[]
  tokens: bigint[]
  sessions: string[]
  pasids: number[]
  hwptFlags: HwptAllocFlag[][]
  drivers: string[]
  badFd: boolean
  wrongKindFd: boolean
  khoFinalizeFails: boolean
  markOps?: MarkOp[]
}

/** A step as a scenario file writes it. */
export interface InitStep {
  op: string
  args?: Record<string, unknown>
  as?: string
  expect?: unknown
}

export interface InitSpec {
  name: string
  description?: string
  /** steps in the scenario format (DESIGN.md §2.2; validated again with the platform) */
  steps: InitStep[]
}

export interface Scope {
  name: string
  description?: string
  platform: Platform
  depth: number
  bounds: Bounds
  domains: Domains
  skipOps: string[]
  init: InitSpec[]
}

/** The default scope's platform: one unit with 2 usable DIDs, two devices (one with PASIDs),
 *  4 pages of memory and 8 page-table pages: the smallest machine on which every property
 *  can fail and DID / table-page exhaustion is reachable. */
export const SCOPE_PLATFORM: Platform = {
  memoryPages: 4,
  tablePages: 8,
  units: [{ name: 'dmar0', dids: 4 }],
  devices: [
    { bdf: '0000:00:02.0', unit: 'dmar0', pasids: 2 },
    { bdf: '0000:01:00.0', unit: 'dmar0' },
  ],
}

const BDF = '0000:01:00.0'
const mapArgs = { iommufd: '$ifd', ioas: '$ioas', memfd: '$mfd', start: '0x0', length: '0x1000', iova: '0x100000' }

/** The documented default flow up to the point a device is preserved (lpc2025 full flow,
 *  properties/scenarios/lpc2025-full-flow.json, steps 0-15 without the DMAs, one page). */
const PRESERVED_STEPS: InitStep[] = [
  { op: 'MEMFD_CREATE', args: { pages: 1 }, as: 'mfd' },
  { op: 'MEMFD_SEAL', args: { fd: '$mfd', seals: ['SEAL', 'GROW', 'SHRINK'] } },
  { op: 'IOMMUFD_OPEN', as: 'ifd' },
  { op: 'IOMMU_IOAS_ALLOC', args: { iommufd: '$ifd' }, as: 'ioas' },
  { op: 'IOMMU_IOAS_MAP_FILE', args: mapArgs },
  { op: 'VFIO_CDEV_OPEN', args: { bdf: BDF }, as: 'cdev' },
  { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: '$cdev', iommufd: '$ifd' }, as: 'dev' },
  { op: 'IOMMU_HWPT_ALLOC', args: { iommufd: '$ifd', dev_id: '$dev', pt_id: '$ioas' }, as: 'hwpt' },
  { op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: '$cdev', pt_id: '$hwpt' } },
  { op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: '$ifd', hwpt_id: '$hwpt', token: '3' } },
  { op: 'LIVEUPDATE_OPEN', as: 'luo' },
  { op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 's0' }, as: 'session' },
  { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: '$session', fd: '$mfd', token: '1' } },
  { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: '$session', fd: '$ifd', token: '2' } },
  { op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: '$session', fd: '$cdev', token: '3' } },
]

/** ... and the next kernel after KEXEC, its session retrieved: the restore side. */
const RETRIEVED_STEPS: InitStep[] = [
  ...PRESERVED_STEPS,
  { op: 'KEXEC' },
  { op: 'LIVEUPDATE_OPEN', as: 'luo2' },
  { op: 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION', args: { name: 's0' }, as: 'in' },
]

/** ... and the first half of the documented recovery: the memfd, iommufd and cdev retrieved,
 *  the cdev bound to the retrieved iommufd, the preserved HWPT restored by its token. */
const RESTORED_STEPS: InitStep[] = [
  ...RETRIEVED_STEPS,
  { op: 'LIVEUPDATE_SESSION_RETRIEVE_FD', args: { session: '$in', token: '1' }, as: 'mfd2' },
  { op: 'LIVEUPDATE_SESSION_RETRIEVE_FD', args: { session: '$in', token: '2' }, as: 'ifd2' },
  { op: 'LIVEUPDATE_SESSION_RETRIEVE_FD', args: { session: '$in', token: '3' }, as: 'cdev2' },
  { op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev: '$cdev2', iommufd: '$ifd2' } },
  { op: 'IOMMU_HWPT_LU_RESTORE', args: { iommufd: '$ifd2', token: '3' } },
]

export const DEFAULT_DEPTH = 5

/** The documented default scope (docs/explore.md). */
export function defaultScope(): Scope {
  return resolveScope({}, 'default')
}

export const DEFAULT_INIT: InitSpec[] = [
  { name: 'cold-boot', description: 'a freshly booted machine: nothing open', steps: [] },
  { name: 'device-preserved', description: 'one device attached to a marked HWPT, its memfd, iommufd and cdev preserved in session s0', steps: PRESERVED_STEPS },
  { name: 'session-retrieved', description: 'after the KEXEC of device-preserved: LUO opened and session s0 retrieved', steps: RETRIEVED_STEPS },
  { name: 'hwpt-restored', description: "session-retrieved, then its files retrieved, the cdev bound to the retrieved iommufd and the preserved HWPT restored by token: the replace and FINISH are a few ops away", steps: RESTORED_STEPS },
]

const toU64 = (v: string | number): bigint => BigInt(v)

/** Fill in the defaults of a parsed scope file. */
function resolveScope(file: z.output<typeof scopeFileSchema>, name: string): Scope {
  const d = domainsSchema.parse(file.domains ?? {})
  return {
    name: file.name ?? name,
    ...(file.description !== undefined && { description: file.description }),
    platform: (file.platform as Platform | undefined) ?? SCOPE_PLATFORM,
    depth: file.depth ?? DEFAULT_DEPTH,
    bounds: boundsSchema.parse(file.bounds ?? {}),
    domains: {
      ...d,
      iovas: d.iovas.map(toU64),
      lengths: d.lengths.map(toU64),
      tokens: d.tokens.map(toU64),
    },
    skipOps: file.skipOps ?? [],
    init: (file.init as InitSpec[] | undefined) ?? DEFAULT_INIT,
  }
}

const fieldOf = (path: readonly PropertyKey[]): string =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('')

/** Validate a scope value; `source` names it in messages. Throws ScopeError. */
export function parseScope(json: unknown, source: string): Scope {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ScopeError(`${source}: expected a JSON object (a scope)`)
  const parsed = scopeFileSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const field = fieldOf(issue.path)
    const msg = issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}` : issue.message
    throw new ScopeError(`${source}: ${field ? `${field}: ` : ''}${msg}`)
  }
  if (parsed.data.platform !== undefined) {
    const p = platformSchema.safeParse(parsed.data.platform)
    if (!p.success) {
      const issue = p.error.issues[0]
      throw new ScopeError(`${source}: platform${issue.path.length ? '.' + fieldOf(issue.path) : ''}: ${issue.message}`)
    }
  }
  for (const [i, init] of (parsed.data.init ?? []).entries()) {
    const s = stepsSchema.safeParse(init.steps)
    if (!s.success) {
      const issue = s.error.issues[0]
      throw new ScopeError(`${source}: init[${i}].steps${fieldOf(issue.path).replace(/^(?!\[)/, '.')}: ${issue.message}`)
    }
  }
  return resolveScope(parsed.data, source)
}

export function loadScope(path: string): Scope {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new ScopeError(`${path}: cannot read file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new ScopeError(`${path}: invalid JSON: ${(e as Error).message}`)
  }
  return parseScope(json, path)
}

/** The scope as a scope file writes it (`luv explore --print-scope`). */
export function scopeToJson(s: Scope): Record<string, unknown> {
  const hex = (v: bigint) => '0x' + v.toString(16)
  return {
    name: s.name,
    ...(s.description !== undefined && { description: s.description }),
    platform: s.platform,
    depth: s.depth,
    bounds: s.bounds,
    domains: { ...s.domains, iovas: s.domains.iovas.map(hex), lengths: s.domains.lengths.map(hex), tokens: s.domains.tokens.map(String) },
    skipOps: s.skipOps,
    init: s.init,
  }
}

/** Each initial state's steps, checked as a scenario on the scope's platform (unknown op,
 *  bad argument, unbound $name): a ScopeError naming init[i]. */
export function checkInit(s: Scope): void {
  for (const [i, init] of s.init.entries()) {
    try {
      parseScenario({ name: init.name, platform: s.platform, steps: init.steps }, `init[${i}]`)
    } catch (e) {
      if (e instanceof ScenarioError) throw new ScopeError(`${s.name}: ${e.message}`)
      throw e
    }
  }
  for (const op of s.skipOps) if (!(OP_NAMES as readonly string[]).includes(op)) throw new ScopeError(`${s.name}: skipOps: unknown op '${op}'`)
}
