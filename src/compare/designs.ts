// The designs a comparison runs: the base design (a profile plus overrides), each option of
// each chosen axis varied one at a time from it (or every combination of a few axes), whole
// profiles (posted versions), and designs described in files. Profiles and axes are read
// from models/design.ts at run time: a profile or an axis added there appears here without a
// change in this folder.

import { AXES, AXIS_NAMES, PROFILES, PROFILE_NAMES, resolveDesign, type Axis, type Design, type ProfileName } from '../../models/design.ts'
import { InputError } from '../campaign/errors.ts'

/** Why a row is in the matrix. */
export type RowKind = 'base' | 'axis' | 'cross' | 'profile' | 'file'

/** One design of the comparison: a row of the matrix. */
export interface DesignRow {
  /** unique in the comparison; the folder of its campaign report */
  id: string
  /** what the matrix shows: `lpc2025`, `lpc2025 ownership=strict`, a design file's name */
  label: string
  kind: RowKind
  profile: ProfileName
  /** axis → option where the design differs from its profile, in AXIS_NAMES order */
  overrides: Record<string, string>
  design: Design
  /** kind `axis`: the axis varied from the base and the option it takes */
  varied?: { axis: Axis; option: string }
  /** kind `cross`/`base` of a cross-product: the option of each crossed axis */
  combination?: Record<string, string>
  /** design files: their description and path */
  description?: string
  source?: string
}

/** The axes where `design` differs from `profile`'s design, in AXIS_NAMES order. */
export function overridesOf(design: Design, profile: ProfileName): Record<string, string> {
  const base = PROFILES[profile].design
  const out: Record<string, string> = {}
  for (const a of AXIS_NAMES) if (design[a] !== base[a]) out[a] = design[a]
  return out
}

/** `lpc2025`, `lpc2025 ownership=strict replaceSwap=hitless`. */
export function designLabel(profile: ProfileName, overrides: Record<string, string>): string {
  return [profile, ...Object.entries(overrides).map(([a, o]) => `${a}=${o}`)].join(' ')
}

/** A folder name for a label: `lpc2025_ownership=strict`; anything unusual becomes `_`. */
export const slug = (label: string): string => label.replace(/ /g, '_').replace(/[^A-Za-z0-9._=-]/g, '_')

/** The key two rows share when they run the same design under the same profile label. */
export const designKey = (profile: ProfileName, design: Design): string => `${profile}:${AXIS_NAMES.map((a) => design[a]).join(',')}`

export function profileRow(profile: ProfileName, kind: RowKind = 'profile'): DesignRow {
  return { id: slug(profile), label: profile, kind, profile, overrides: {}, design: resolveDesign({ profile }) }
}

function rowFor(profile: ProfileName, design: Design, kind: RowKind, extra: Partial<DesignRow> = {}): DesignRow {
  const overrides = overridesOf(design, profile)
  const label = designLabel(profile, overrides)
  return { id: slug(label), label, kind, profile, overrides, design, ...extra }
}

/** The base row: a profile plus overrides. */
export function baseRow(profile: ProfileName, overrides: Record<string, string>): DesignRow {
  return rowFor(profile, resolveDesign({ profile, overrides }), 'base')
}

/** `all` or a comma-separated list of axes, each checked against models/design.ts. */
export function parseAxes(text: string, flag = '--axes'): Axis[] {
  const t = text.trim()
  if (t === 'all') return [...AXIS_NAMES]
  const names = t.split(',').map((s) => s.trim()).filter(Boolean)
  if (names.length === 0) throw new InputError(`${flag} ${text}: expected 'all' or a comma-separated list of axes`)
  for (const n of names)
    if (!(AXIS_NAMES as readonly string[]).includes(n)) throw new InputError(`${flag}: unknown design axis '${n}' (known: ${AXIS_NAMES.join(', ')})`)
  // in the order models/design.ts lists them, each once
  return AXIS_NAMES.filter((a) => names.includes(a))
}

/** `all` or a comma-separated list of profiles, in the order given (a version comparison
 *  compares each with the next); `all` is models/design.ts's order. */
export function parseProfiles(text: string, flag = '--profiles'): ProfileName[] {
  const t = text.trim()
  if (t === 'all') return [...PROFILE_NAMES]
  const names = t.split(',').map((s) => s.trim()).filter(Boolean)
  if (names.length === 0) throw new InputError(`${flag} ${text}: expected 'all' or a comma-separated list of profiles`)
  const seen = new Set<string>()
  for (const n of names) {
    if (!(n in PROFILES)) throw new InputError(`${flag}: unknown profile '${n}' (known: ${PROFILE_NAMES.join(', ')})`)
    if (seen.has(n)) throw new InputError(`${flag}: profile '${n}' given twice`)
    seen.add(n)
  }
  return names as ProfileName[]
}

/** One axis at a time: for each axis, each option the base does not already take. */
export function oneAtATime(base: DesignRow, axes: readonly Axis[]): DesignRow[] {
  const rows: DesignRow[] = []
  for (const axis of axes)
    for (const option of AXES[axis] as readonly string[]) {
      if (base.design[axis] === option) continue
      const design = { ...base.design, [axis]: option } as Design
      rows.push(rowFor(base.profile, design, 'axis', { varied: { axis, option } }))
    }
  return rows
}

/** Every combination cross-product stays small: beyond this, ask for fewer axes. */
export const MAX_CROSS = 64

/** The full cross-product of `axes` (every other axis as in the base); the base's own
 *  combination is the base row. */
export function crossProduct(base: DesignRow, axes: readonly Axis[]): DesignRow[] {
  const size = axes.reduce((n, a) => n * AXES[a].length, 1)
  if (size > MAX_CROSS)
    throw new InputError(
      `--cross over ${axes.join(', ')}: ${size} designs (more than ${MAX_CROSS}); name fewer axes with --axes, or drop --cross to vary one axis at a time`,
    )
  let combos: Record<string, string>[] = [{}]
  for (const a of axes) combos = combos.flatMap((c) => (AXES[a] as readonly string[]).map((o) => ({ ...c, [a]: o })))
  return combos.map((combination) => {
    const design = { ...base.design, ...combination } as Design
    const isBase = axes.every((a) => design[a] === base.design[a])
    return isBase ? { ...base, combination } : rowFor(base.profile, design, 'cross', { combination })
  })
}
