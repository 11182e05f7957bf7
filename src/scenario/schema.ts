// The public scenario file format (DESIGN.md §2.2) as a zod schema over the JSON as written.
// This schema only validates: it does not convert strings to bigints or resolve "$name"
// references (load.ts does), so the same schema exports cleanly to JSON Schema
// (export-schema.ts → reports/schema/scenario.schema.json) for editors and other tools.

import { z } from 'zod'
import { PROPERTY_NAMES } from '../check/executor.types.ts'
import { ERRNO_NAMES, HWPT_ALLOC_FLAGS, OP_NAMES, SEALS } from '../../models/ops.ts'
import type { ArgsOf, HwptAllocFlag, OpName, Seal } from '../../models/ops.ts'
import { AXES, AXIS_NAMES, PROFILE_NAMES } from '../../models/design.ts'
import type { Axis } from '../../models/design.ts'
import { BDF_RE } from '../../models/platform.ts'

// ---- argument kinds -------------------------------------------------------------------------

/** How an op argument is written in a file; `?` marks an optional argument. */
export type ArgKind = 'u64' | 'int' | 'bool' | 'bdf' | 'string' | 'seals' | 'flags'

// The kind each TypeScript argument type is written as. Checked against models/ops.ts by the
// compiler (OpArgSpec below), so a new op or argument there fails typecheck here until added.
type KindOf<T> = T extends bigint
  ? 'u64'
  : T extends number
    ? 'int'
    : T extends boolean
      ? 'bool'
      : T extends string
        ? 'bdf' | 'string'
        : T extends Seal[]
          ? 'seals'
          : T extends HwptAllocFlag[]
            ? 'flags'
            : never
type SpecOf<T> = undefined extends T ? `${KindOf<NonNullable<T>>}?` : KindOf<T>
type OpArgSpec = { [N in OpName]: { [K in keyof ArgsOf<N>]-?: SpecOf<ArgsOf<N>[K]> } }

export const OP_ARGS: OpArgSpec = {
  MEMFD_CREATE: { pages: 'int', allowSealing: 'bool?' },
  MEMFD_SEAL: { fd: 'int', seals: 'seals' },
  MEMFD_TRUNCATE: { fd: 'int', pages: 'int' },
  IOMMUFD_OPEN: {},
  IOMMU_IOAS_ALLOC: { iommufd: 'int' },
  IOMMU_IOAS_MAP_FILE: { iommufd: 'int', ioas: 'int', memfd: 'int', start: 'u64', length: 'u64', iova: 'u64?' },
  IOMMU_IOAS_MAP: { iommufd: 'int', ioas: 'int', length: 'u64', iova: 'u64?' },
  IOMMU_IOAS_UNMAP: { iommufd: 'int', ioas: 'int', iova: 'u64', length: 'u64' },
  IOMMU_HWPT_ALLOC: { iommufd: 'int', dev_id: 'int', pt_id: 'int', flags: 'flags?' },
  IOMMU_DESTROY: { iommufd: 'int', id: 'int' },
  IOMMU_HWPT_LU_SET_PRESERVE: { iommufd: 'int', hwpt_id: 'int', token: 'u64', preserve: 'bool?' },
  IOMMU_HWPT_LU_RESTORE: { iommufd: 'int', token: 'u64' },
  IOMMU_HWPT_LU_MARK_PRESERVE: { iommufd: 'int', hwpt_id: 'int', token: 'u64' },
  IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE: { iommufd: 'int', hwpt_id: 'int', token: 'u64' },
  VFIO_CDEV_OPEN: { bdf: 'bdf' },
  VFIO_DEVICE_BIND_IOMMUFD: { cdev: 'int', iommufd: 'int' },
  VFIO_DEVICE_ATTACH_IOMMUFD_PT: { cdev: 'int', pt_id: 'int', pasid: 'int?' },
  VFIO_DEVICE_DETACH_IOMMUFD_PT: { cdev: 'int', pasid: 'int?' },
  VFIO_DEVICE_SET_IRQS: { cdev: 'int', enabled: 'bool' },
  DRIVER_BIND: { bdf: 'bdf', driver: 'string' },
  LIVEUPDATE_OPEN: {},
  LIVEUPDATE_IOCTL_CREATE_SESSION: { name: 'string' },
  LIVEUPDATE_SESSION_PRESERVE_FD: { session: 'int', fd: 'int', token: 'u64' },
  LIVEUPDATE_IOCTL_RETRIEVE_SESSION: { name: 'string' },
  LIVEUPDATE_SESSION_RETRIEVE_FD: { session: 'int', token: 'u64' },
  LIVEUPDATE_SESSION_FINISH: { session: 'int' },
  LIVEUPDATE_SESSION_GET_NAME: { session: 'int', reserved: 'int?' },
  CLOSE: { fd: 'int' },
  KEXEC: { khoFinalizeFails: 'bool?' },
  DMA: { bdf: 'bdf', pasid: 'int?', iova: 'u64', write: 'bool?' },
}

/** The argument names and kinds of an op, e.g. `{ fd: { kind: 'int', optional: false } }`. */
export function argSpecs(op: OpName): Record<string, { kind: ArgKind; optional: boolean }> {
  const out: Record<string, { kind: ArgKind; optional: boolean }> = {}
  for (const [name, spec] of Object.entries(OP_ARGS[op] as Record<string, string>))
    out[name] = { kind: spec.replace('?', '') as ArgKind, optional: spec.endsWith('?') }
  return out
}

// ---- value schemas --------------------------------------------------------------------------

/** A binding name as written in `as`; `"$name"` refers to it. */
export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/
export const REF_RE = /^\$[A-Za-z_][A-Za-z0-9_]*$/
/** Hex up to 16 digits, or decimal (its range ≤ 2^64-1 is checked by a refinement). */
export const U64_HEX_RE = /^0[xX][0-9a-fA-F]{1,16}$/
export const U64_DEC_RE = /^[0-9]{1,20}$/
export const U64_MAX = (1n << 64n) - 1n

export const MSG = {
  u64: 'expected a u64 (hex string like "0x1000", decimal string, or safe integer) or a "$name" reference',
  int: 'expected a non-negative integer or a "$name" reference',
  bool: 'expected true or false',
  bdf: 'expected a PCI address "DDDD:BB:DD.F" in lower-case hex, e.g. "0000:01:00.0"',
  string: 'expected a string',
  seals: `expected an array of seal names (${SEALS.join(', ')})`,
  seal: `expected a seal name (${SEALS.join(', ')})`,
  flags: `expected an array of flag names (${HWPT_ALLOC_FLAGS.join(', ')})`,
  flag: `expected a flag name (${HWPT_ALLOC_FLAGS.join(', ')})`,
  name: 'expected a name of letters, digits and _ (not starting with a digit), without the $',
  failNth: 'expected an integer >= 1: fail the n-th fault-injectable allocation of the op (fail-nth; models/fault.ts)',
  expect: `expected "ok", "fault", an errno name (${ERRNO_NAMES.join(', ')}) or { "out": V }`,
} as const

const msg = (m: string) => ({ error: m })
const decimalFits = (s: string) => !U64_DEC_RE.test(s) || BigInt(s) <= U64_MAX
const ref = (m: string) => z.string().regex(REF_RE, msg(m))

/** A u64 literal: hex string, decimal string, or a JSON number that is a safe integer. */
const u64Literal = (m: string) => [
  z.string().regex(U64_HEX_RE, msg(m)),
  z.string().regex(U64_DEC_RE, msg(m)).refine(decimalFits, msg(m)),
  z.number(msg(m)).int(msg(m)).min(0, msg(m)).max(Number.MAX_SAFE_INTEGER, msg(m)),
] as const

// `.meta({ id })` makes the JSON Schema export define these once under $defs and refer to them.
export const u64Schema = z
  .union([...u64Literal(MSG.u64), ref(MSG.u64)], msg(MSG.u64))
  .meta({ id: 'u64', description: 'u64: hex string ("0x1000"), decimal string, safe integer, or "$name"' })
export const intSchema = z
  .union([z.number(msg(MSG.int)).int(msg(MSG.int)).min(0, msg(MSG.int)).max(Number.MAX_SAFE_INTEGER, msg(MSG.int)), ref(MSG.int)], msg(MSG.int))
  .meta({ id: 'int', description: 'fd, object id, count or PASID: a non-negative integer, or "$name"' })

const KIND_SCHEMAS: Record<ArgKind, z.ZodType> = {
  u64: u64Schema,
  int: intSchema,
  bool: z.boolean(msg(MSG.bool)),
  bdf: z.string(msg(MSG.bdf)).regex(BDF_RE, msg(MSG.bdf)).meta({ id: 'bdf', description: 'PCI address DDDD:BB:DD.F' }),
  string: z.string(msg(MSG.string)),
  seals: z.array(z.enum(SEALS as [Seal, ...Seal[]], msg(MSG.seal)), msg(MSG.seals)),
  flags: z.array(z.enum(HWPT_ALLOC_FLAGS as [HwptAllocFlag, ...HwptAllocFlag[]], msg(MSG.flag)), msg(MSG.flags)),
}

function argsSchema(op: OpName) {
  const shape: Record<string, z.ZodType> = {}
  for (const [name, { kind, optional }] of Object.entries(argSpecs(op)))
    shape[name] = optional ? KIND_SCHEMAS[kind].optional() : KIND_SCHEMAS[kind]
  return z.strictObject(shape, msg(`expected an object of arguments (${Object.keys(shape).join(', ') || 'none'})`))
}

export const expectSchema = z.union(
  [
    z.enum(['ok', 'fault', ...ERRNO_NAMES], msg(MSG.expect)),
    z.strictObject({ out: u64Schema }),
    // a string output (LIVEUPDATE_SESSION_GET_NAME's name); a string that reads as a u64 or a
    // "$name" is taken as one of those first
    z.strictObject({ out: z.string(msg(MSG.expect)) }),
  ],
  msg(MSG.expect),
).meta({ id: 'expect', description: '"ok", "fault", an errno name, or { "out": V }' })

function stepSchema(op: OpName) {
  const hasRequired = Object.values(argSpecs(op)).some((a) => !a.optional)
  const args = argsSchema(op)
  return z.strictObject({
    op: z.literal(op),
    // Ops without arguments (KEXEC) may leave `args` out; so may ops whose args are all optional.
    args: hasRequired ? args : args.optional(),
    as: z.string(msg(MSG.name)).regex(NAME_RE, msg(MSG.name)).optional(),
    expect: expectSchema.optional(),
    // issue 13: arm fail-nth N for this op (PINNED.md)
    failNth: z
      .number(msg(MSG.failNth))
      .int(msg(MSG.failNth))
      .min(1, msg(MSG.failNth))
      .max(1_000_000, msg(MSG.failNth))
      .optional()
      .meta({ description: 'fail the n-th fault-injectable allocation of this op (fail-nth, as iommufd_fail_nth.c): it must return ENOMEM and change nothing' }),
  })
}

export const stepsSchema = z.array(
  z.discriminatedUnion('op', OP_NAMES.map(stepSchema) as unknown as [ReturnType<typeof stepSchema>], msg('expected a step object')),
  msg('expected an array of steps'),
)

// ---- platform and design -------------------------------------------------------------------

const int = (m: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.number(msg(m)).int(msg(m)).min(min, msg(m)).max(max, msg(m))
const DIDS = 'expected an integer in 3..65536 (DIDs 0 and 1 are reserved)'

const unitSchema = z.strictObject(
  { name: z.string(msg(MSG.string)).min(1, msg('expected a non-empty name')), dids: int(DIDS, 3, 65536) },
  msg('expected a unit object { name, dids }'),
)

const deviceSchema = z.strictObject(
  {
    bdf: KIND_SCHEMAS.bdf,
    unit: z.string(msg(MSG.string)),
    group: z.string(msg(MSG.string)).optional(),
    pasids: int('expected a non-negative integer (0 = no PASID support)', 0).optional(),
  },
  msg('expected a device object { bdf, unit, group?, pasids? }'),
)

export const platformSchema = z.strictObject(
  {
    memoryPages: int('expected a positive integer (pages of 4 KiB)', 1),
    // Our extension to §2.2: the size of the IOMMU page-table zone (models/platform.ts).
    tablePages: int('expected a positive integer (pages of IOMMU page-table memory)', 1).optional(),
    units: z.array(unitSchema, msg('expected an array of units')),
    devices: z.array(deviceSchema, msg('expected an array of devices')),
  },
  msg('expected a platform object { memoryPages, units, devices }'),
)

const designShape: Record<string, z.ZodType> = {
  profile: z
    .enum(PROFILE_NAMES as [string, ...string[]], {
      error: (iss) => `unknown profile ${JSON.stringify(iss.input)} (known: ${PROFILE_NAMES.join(', ')})`,
    })
    .optional(),
}
for (const axis of AXIS_NAMES) {
  const options = AXES[axis as Axis] as readonly string[]
  designShape[axis] = z
    .enum(options as [string, ...string[]], {
      error: (iss) => `unknown option ${JSON.stringify(iss.input)} for axis '${axis}' (known: ${options.join(', ')})`,
    })
    .optional()
}
export const designSchema = z.strictObject(designShape, msg('expected a design object { profile?, AXIS: OPTION... }'))

// ---- the file -------------------------------------------------------------------------------

export const scenarioFileSchema = z.strictObject({
  name: z.string(msg('expected a non-empty string')).min(1, msg('expected a non-empty string')),
  description: z.string(msg(MSG.string)).optional(),
  platform: platformSchema.optional(),
  design: designSchema.optional(),
  // Our extension to §2.2: the properties this scenario is expected to violate (a design
  // finding shown on purpose, e.g. ownership=strict breaks recoverability). The run passes
  // when exactly these are violated, each at least once.
  expectViolations: z
    .array(
      z.enum(PROPERTY_NAMES as unknown as [string, ...string[]], {
        error: (iss) => `unknown property ${JSON.stringify(iss.input)} (known: ${PROPERTY_NAMES.join(', ')})`,
      }),
      msg('expected an array of property names'),
    )
    .optional(),
  steps: stepsSchema,
})

/** A scenario file as written (JSON types: u64s are still strings or numbers, refs are "$x"). */
export type ScenarioFile = z.input<typeof scenarioFileSchema>

/** The top-level keys of a file and of a step, for "unknown key" messages. */
export const FILE_KEYS = ['name', 'description', 'platform', 'design', 'expectViolations', 'steps'] as const
export const STEP_KEYS = ['op', 'args', 'as', 'expect', 'failNth'] as const
