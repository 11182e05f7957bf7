// Campaign blocks: the unit of work, scheduling and sharding. Block k runs BLOCK_RUNS fast-check
// runs (the last one of a --runs campaign may run fewer) with a seed derived from the campaign
// seed and k alone, so a block means the same thing in every shard, on every worker count.

import { createHash } from 'node:crypto'
import type { Shard } from './options.ts'

/** Small enough that a block ends within a few seconds (SIGINT, --time), large enough that
 *  dispatch costs nothing next to it. Part of the reproducibility contract: changing it
 *  changes every block seed's meaning. */
export const BLOCK_RUNS = 25

/** fast-check seed of block k: the first 31 bits of sha256("luv-campaign:<seed>:<k>"). */
export function blockSeed(campaignSeed: number, k: number): number {
  return createHash('sha256').update(`luv-campaign:${campaignSeed}:${k}`).digest().readUInt32BE(0) >>> 1
}

export interface PlannedBlock {
  index: number
  seed: number
  numRuns: number
  /** --profiles: the profile this block drew (from its seed); absent: the campaign's profile */
  profile?: string
}

/** --profiles: which of `n` profiles block seed `seed` draws, uniformly: the first 32 bits of
 *  sha256("luv-profile:<block seed>") mod n. A function of the block alone, like its seed. */
export function blockProfileIndex(seed: number, n: number): number {
  return createHash('sha256').update(`luv-profile:${seed}`).digest().readUInt32BE(0) % n
}

/**
 * The blocks this process runs, in order: with `runs`, blocks 0..ceil(runs/blockRuns)-1; without,
 * an endless sequence (a --time campaign stops dispatching at its budget). A shard I/N keeps
 * exactly the blocks with k mod N = I-1.
 */
export function* planBlocks(o: { seed: number; runs?: number; shard?: Shard; blockRuns?: number; profiles?: readonly string[] }): Generator<PlannedBlock> {
  const per = o.blockRuns ?? BLOCK_RUNS
  const total = o.runs === undefined ? Infinity : Math.ceil(o.runs / per)
  const step = o.shard?.count ?? 1
  for (let k = (o.shard?.index ?? 1) - 1; k < total; k += step) {
    const numRuns = o.runs === undefined ? per : Math.min(per, o.runs - k * per)
    const seed = blockSeed(o.seed, k)
    const profile = o.profiles && o.profiles.length > 0 ? o.profiles[blockProfileIndex(seed, o.profiles.length)] : undefined
    yield { index: k, seed, numRuns, ...(profile !== undefined && { profile }) }
  }
}

/** `0-39`, `0,2,4-9`: a block set written compactly (sorted, ranges of consecutive indices). */
export function compactRanges(indices: readonly number[]): string {
  const xs = [...new Set(indices)].sort((a, b) => a - b)
  const parts: string[] = []
  for (let i = 0; i < xs.length; ) {
    let j = i
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++
    parts.push(j === i ? `${xs[i]}` : j === i + 1 ? `${xs[i]},${xs[j]}` : `${xs[i]}-${xs[j]}`)
    i = j + 1
  }
  return parts.join(',')
}
