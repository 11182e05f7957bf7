// The design axes under discussion on the lists (DESIGN.md §2.3) and the named profiles.
// A design is a profile plus overrides. The model and the kernel implementation both branch
// on these values; nothing else decides a behaviour that the series leaves open.

export const AXES = {
  /** talk, Discussion 1 / D2: how the restored HWPT is replaced after kexec. */
  replaceFlow: ['replace-on-attach', 'reassociate-at-bind'],
  /** talk, Discussion 2 / D3: who may claim DMA ownership of a restored group. */
  ownership: ['token', 'allow-if-preserved', 'strict'],
  /** iommufd.md §5.4: VT-d replace is hitless, or tears the entry down then sets it up. */
  replaceSwap: ['hitless', 'teardown-then-setup'],
  /** D5: mark/unmark flag, no unmark, or the mark pins the HWPT (token xarray holds a ref). */
  markSemantics: ['flag', 'no-unmark', 'pin'],
  /** D6: preserving freezes the whole IOAS, or only the preserved domain. */
  ioasFreeze: ['whole-ioas', 'domain-only'],
  /** D7: memory a preserved domain maps must be a preserved memfd (+ sealed at map time). */
  memoryRule: ['preserved-memfd', 'sealed-preserved-memfd'],
  /** D8: LU_RESTORE restores the object only, or needs every attached device re-bound. */
  restoreHwpt: ['object-only', 'needs-rebind'],
  /** D10: FINISH with unreclaimed state fails (EBUSY) or discards it. */
  unfinished: ['finish-fails', 'finish-discards'],
  /** V2 review, live-update.md §4.2: where the boot reserves the preserved DIDs. */
  didReservation: ['per-unit', 'all-units', 'none'],
  /** talk, future work: what happens to PASID attachments of a preserved device. */
  pasidPreservation: ['none', 'all', 'selective'],
  /** live-update.md §2.3: the full restore flow (V1/talk) or boot restore only (Phase 1). */
  restoreFlow: ['full', 'boot-only'],
  /** live-update.md §2.3: what the iommufd's can_finish asks of restored HWPTs: only that
   *  none is attached (V1 code, iommufd_liveupdate_can_finish), or that every one has been
   *  destroyed ("replace every restored HWPT with a new one and then destroy it before
   *  FINISH"). Our addition to DESIGN.md §2.3: a campaign found that with the first, FINISH
   *  frees an unretrieved memfd that a restored HWPT still maps, and re-attaching that HWPT
   *  reaches freed memory. */
  finishGate: ['no-attachments', 'restored-destroyed'],
} as const

export type Axis = keyof typeof AXES
export type Design = { [A in Axis]: (typeof AXES)[A][number] }
export const AXIS_NAMES = Object.keys(AXES) as Axis[]

export type ProfileName = 'lpc2025' | 'rfc-v2' | 'phase1'

interface Profile {
  description: string
  design: Design
  /** Axes whose value is inferred from the sources rather than read (DESIGN.md: marked *). */
  inferred: Axis[]
}

export const PROFILES: Record<ProfileName, Profile> = {
  lpc2025: {
    description: "LPC 2025 talk: the talk's design with its ongoing work landed (default)",
    design: {
      replaceFlow: 'replace-on-attach',
      ownership: 'token',
      replaceSwap: 'hitless',
      markSemantics: 'no-unmark',
      ioasFreeze: 'whole-ioas',
      memoryRule: 'sealed-preserved-memfd',
      restoreHwpt: 'object-only',
      unfinished: 'finish-fails',
      didReservation: 'per-unit',
      pasidPreservation: 'none',
      restoreFlow: 'full',
      finishGate: 'restored-destroyed', // inferred (the notes' reading of the talk's flow)
    },
    inferred: ['finishGate'],
  },
  'rfc-v2': {
    description: 'the Dec 2025 "[RFC PATCH v2 00/32]" as posted',
    design: {
      replaceFlow: 'replace-on-attach',
      ownership: 'allow-if-preserved', // inferred
      replaceSwap: 'teardown-then-setup',
      markSemantics: 'flag',
      ioasFreeze: 'whole-ioas',
      memoryRule: 'preserved-memfd', // inferred
      restoreHwpt: 'object-only',
      unfinished: 'finish-fails',
      didReservation: 'per-unit', // inferred
      pasidPreservation: 'none',
      restoreFlow: 'full',
      finishGate: 'no-attachments', // V1 iommufd_liveupdate_can_finish
    },
    inferred: ['ownership', 'memoryRule', 'didReservation'],
  },
  phase1: {
    description: 'the Feb 2026 "[PATCH 00/14] iommu: Add live update state preservation" (Phase 1)',
    design: {
      replaceFlow: 'replace-on-attach',
      ownership: 'token',
      replaceSwap: 'teardown-then-setup',
      markSemantics: 'no-unmark',
      ioasFreeze: 'whole-ioas',
      memoryRule: 'sealed-preserved-memfd',
      restoreHwpt: 'object-only',
      unfinished: 'finish-fails',
      didReservation: 'all-units',
      pasidPreservation: 'none',
      restoreFlow: 'boot-only',
      finishGate: 'no-attachments', // inferred: Phase 1 never finishes an iommufd
    },
    inferred: ['finishGate'],
  },
}

export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[]
export const DEFAULT_PROFILE: ProfileName = 'lpc2025'

/** A design as written in a scenario file or on the command line. */
export interface DesignSpec {
  profile?: string
  overrides?: Partial<Record<string, string>>
}

export class DesignError extends Error {}

/** Resolve a profile plus overrides; an unknown profile, axis or option is a DesignError. */
export function resolveDesign(spec: DesignSpec = {}): Design {
  const profileName = spec.profile ?? DEFAULT_PROFILE
  if (!(profileName in PROFILES))
    throw new DesignError(`unknown profile '${profileName}' (known: ${PROFILE_NAMES.join(', ')})`)
  const design: Design = { ...PROFILES[profileName as ProfileName].design }
  for (const [axis, option] of Object.entries(spec.overrides ?? {})) {
    if (option === undefined) continue
    if (!(axis in AXES)) throw new DesignError(`unknown design axis '${axis}' (known: ${AXIS_NAMES.join(', ')})`)
    const options = AXES[axis as Axis] as readonly string[]
    if (!options.includes(option))
      throw new DesignError(`unknown option '${option}' for axis '${axis}' (known: ${options.join(', ')})`)
    ;(design as Record<string, string>)[axis] = option
  }
  return design
}

/** `profile` plus the axes that differ from it, e.g. `lpc2025 ownership=strict`. */
export function describeDesign(design: Design, profile: ProfileName = DEFAULT_PROFILE): string {
  const base = PROFILES[profile].design
  const diffs = AXIS_NAMES.filter((a) => design[a] !== base[a]).map((a) => `${a}=${design[a]}`)
  return [profile, ...diffs].join(' ')
}
