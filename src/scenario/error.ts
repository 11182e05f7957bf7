// A scenario file that cannot be run as written: bad JSON, a schema violation, an unknown op,
// a bad design or platform, or a "$name" that is unbound when a step needs it. Exit code 2.

import { safeText } from '../input/text.ts'

export class ScenarioError extends Error {
  constructor(
    /** the file (or the name given to parseScenario) */
    readonly source: string,
    /** where in the file, e.g. `steps[3].args.iova`; empty for the whole file */
    readonly field: string,
    readonly detail: string,
  ) {
    // bounded and escaped: a message goes to a terminal and may quote the file
    super(field ? `${safeText(source, 200)}: ${safeText(field, 120)}: ${safeText(detail, 1200)}` : `${safeText(source, 200)}: ${safeText(detail, 1200)}`)
    this.name = 'ScenarioError'
  }
}

/** Render a zod-style path as the user wrote it: `steps[3].args.iova`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let s = ''
  for (const p of path) {
    const k = String(p)
    // a key that is not a plain name (a space, a quote, empty) is shown quoted: `args["x y"]`
    if (typeof p === 'number') s += `[${p}]`
    else if (/^[A-Za-z_$#][\w$#:-]*$/.test(k)) s += s ? `.${k}` : k
    else s += `[${JSON.stringify(k.length > 40 ? `${k.slice(0, 37)}...` : k)}]`
  }
  return s
}
