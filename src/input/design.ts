// A design named by user input (--profile, --set, a file's design, a trace's #meta.design)
// checked with own-key lookups before models/design.ts resolves it: `toString` or
// `constructor` must be an unknown profile or axis, not Object.prototype's.

import { AXES, AXIS_NAMES, DesignError, PROFILE_NAMES, PROFILES, resolveDesign, type Design, type DesignSpec } from '../../models/design.ts'
import { safeText } from './text.ts'

const own = (o: object, k: string) => Object.hasOwn(o, k)

/** resolveDesign, with profile and axis names checked as own keys first. */
export function resolveDesignStrict(spec: DesignSpec): Design {
  if (spec.profile !== undefined && !own(PROFILES, spec.profile))
    throw new DesignError(`unknown profile '${safeText(String(spec.profile), 60)}' (known: ${PROFILE_NAMES.join(', ')})`)
  for (const [axis, option] of Object.entries(spec.overrides ?? {})) {
    if (!own(AXES, axis)) throw new DesignError(`unknown design axis '${safeText(axis, 60)}' (known: ${AXIS_NAMES.join(', ')})`)
    if (option !== undefined && typeof option !== 'string') throw new DesignError(`axis '${axis}': expected an option name (a string)`)
    if (option !== undefined && !(AXES[axis as keyof typeof AXES] as readonly string[]).includes(option))
      throw new DesignError(`unknown option '${safeText(option, 60)}' for axis '${axis}' (known: ${(AXES[axis as keyof typeof AXES] as readonly string[]).join(', ')})`)
  }
  return resolveDesign(spec)
}
