// A Stryker "checker" that splits the mutants into K deterministic shards (MUTATION.md,
// "Sharding and sampling"). LUV_MUTATE_SHARD="r/K" keeps the mutants whose FNV-1a hash of
// (file, position, mutator, replacement) is r modulo K; every other mutant is reported with
// status CompileError and the reason "not in shard r/K", which Stryker leaves out of the
// score (mutation score = detected / valid). Shards 0/K .. K-1/K partition the mutants, so
// their union is the full run and one shard alone is a seeded uniform sample of 1/K of them.
// Unset (or "0/1"): every mutant passes, the full run.
// @ts-check
import { PluginKind, declareClassPlugin } from '@stryker-mutator/api/plugin'

const SHARD_SEED = 0x13c0ffee

/** FNV-1a, 32 bits, seeded */
function fnv1a(s) {
  let h = (0x811c9dc5 ^ SHARD_SEED) >>> 0
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** The key of a mutant: stable across machines and checkouts (path from src/ or models/). */
export function mutantKey(m) {
  const file = String(m.fileName).replace(/\\/g, '/').replace(/^.*?\/((src|models)\/)/, '$1')
  const { start, end } = m.location
  return `${file}:${start.line}:${start.column}-${end.line}:${end.column}:${m.mutatorName}:${m.replacement}`
}

export function parseShard(spec = process.env.LUV_MUTATE_SHARD ?? '0/1') {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim())
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2]))
    throw new Error(`LUV_MUTATE_SHARD must be r/K with 0 <= r < K, e.g. 0/8 (got "${spec}")`)
  return { r: Number(m[1]), k: Number(m[2]) }
}

export const inShard = (m, { r, k }) => fnv1a(mutantKey(m)) % k === r

class ShardChecker {
  shard = parseShard()
  async init() {}
  async check(mutants) {
    const out = {}
    for (const m of mutants)
      out[m.id] = inShard(m, this.shard)
        ? { status: 'passed' }
        : { status: 'compileError', reason: `not in shard ${this.shard.r}/${this.shard.k} (LUV_MUTATE_SHARD)` }
    return out
  }
  async group(mutants) {
    return [mutants.map((m) => m.id)]
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Checker, 'luv-shard', ShardChecker)]
