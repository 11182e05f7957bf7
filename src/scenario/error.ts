// A scenario file that cannot be run as written: bad JSON, a schema violation, an unknown op,
// a bad design or platform, or a "$name" that is unbound when a step needs it. Exit code 2.

export class ScenarioError extends Error {
  constructor(
    /** the file (or the name given to parseScenario) */
    readonly source: string,
    /** where in the file, e.g. `steps[3].args.iova`; empty for the whole file */
    readonly field: string,
    readonly detail: string,
  ) {
    super(field ? `${source}: ${field}: ${detail}` : `${source}: ${detail}`)
    this.name = 'ScenarioError'
  }
}

/** Render a zod-style path as the user wrote it: `steps[3].args.iova`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let s = ''
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p)
  return s
}
