// Arrays the kernel keeps or reads on every step, built with one element kind (issue 12).

/** `xs.map(f)` as a packed array. An Array.prototype.map that TurboFan has inlined returns
 *  a holey array, the unoptimised one a packed array: a kernel's per-unit arrays (rtaddr,
 *  units, the sweep's DID maps) made before and after the maker was optimised would have two
 *  element kinds, and every function reading them would deoptimise on the second ("wrong
 *  map", issue 12). Built by push, an array stays packed. */
export function packedOf<T, U>(xs: readonly T[], f: (x: T, i: number) => U): U[] {
  const out: U[] = []
  for (let i = 0; i < xs.length; i++) out.push(f(xs[i], i))
  return out
}
