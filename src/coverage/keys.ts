// Counter keys made once and reused (issue 12): coverage bumps a few counters per step, and a
// key looked up from constant parts costs less than one concatenated and hashed anew.

/** `a b` (`a -> b` with sep ' -> '), made once per pair and reused: a step's counter keys
 *  are looked up, not concatenated and hashed anew (issue 12). */
const joinedCache = new Map<string, Map<string, Map<string, string>>>()
export function joined(a: string, b: string, sep = ' '): string {
  let bySep = joinedCache.get(sep)
  if (bySep === undefined) joinedCache.set(sep, (bySep = new Map()))
  let m = bySep.get(a)
  if (m === undefined) bySep.set(a, (m = new Map()))
  let k = m.get(b)
  if (k === undefined) m.set(b, (k = `${a}${sep}${b}`))
  return k
}
