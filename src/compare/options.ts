// `luv compare` options: the command line's strings turned into a checked CompareOptions and
// the list of designs (matrix rows) to run. Every check happens here, before anything is
// written (exit 2). Each cell is an ordinary campaign (src/campaign) on the same seed, so a
// cell's options are built by the campaign's own resolver.

import { availableParallelism } from 'node:os'
import { DEFAULT_PROFILE, type Axis, type ProfileName } from '../../models/design.ts'
import { InputError } from '../campaign/errors.ts'
import {
  DEFAULT_SEED,
  checkOutDir,
  parseDuration,
  parsePositiveInt,
  parseSeed,
  resolveCampaignOptions,
  resolveDesignFlags,
  type CampaignOptions,
} from '../campaign/options.ts'
import type { ImplChoice, PropertyName } from '../check/executor.types.ts'
import { fileRow, loadDesignFile } from './design-file.ts'
import { baseRow, crossProduct, oneAtATime, parseAxes, parseProfiles, profileRow, type DesignRow } from './designs.ts'

/** Runs per cell when neither --runs nor --time is given: every cell the same fixed amount of
 *  work, so the same seed gives the same matrix. */
export const DEFAULT_CELL_RUNS = 200

export interface CompareFlags {
  profile?: string
  set?: string[]
  axes?: string
  cross?: boolean
  profiles?: string
  design?: string[]
  runs?: string
  time?: string
  total?: string
  seed?: string
  workers?: string
  platform?: string
  properties?: string
  impl?: string
  out?: string
  name?: string
}

export interface CompareOptions {
  name: string
  out: string
  seed: number
  /** fast-check runs per cell (undefined: --time alone bounds a cell) */
  runs?: number
  /** per-cell budget: no block of a cell starts after it */
  cellTimeMs?: number
  cellTime?: string
  /** total budget: no cell starts after it, and running cells stop dispatching at it */
  totalTimeMs?: number
  totalTime?: string
  workers: number
  impl: ImplChoice
  platformName: string
  properties: PropertyName[]
  /** the base design of the axis comparison (absent: profiles and design files only) */
  base?: DesignRow
  axes: Axis[]
  cross: boolean
  /** profiles compared as versions, in the order given */
  profiles: ProfileName[]
  /** design files, as given */
  files: DesignRow[]
  /** every design to run, each once, in matrix order */
  rows: DesignRow[]
  /** the command that reproduces this matrix */
  command: string
}

/** The campaign options of one cell: the comparison's budget, seed, platform, properties. */
export function cellCampaignOptions(o: CompareOptions, row: DesignRow, timeMs?: number): CampaignOptions {
  const c = resolveCampaignOptions({
    profile: row.profile,
    set: Object.entries(row.overrides).map(([a, v]) => `${a}=${v}`),
    ...(o.runs !== undefined && { runs: String(o.runs) }),
    ...(timeMs !== undefined && { time: `${timeMs}ms` }),
    seed: String(o.seed),
    platform: o.platformName,
    properties: o.properties.join(','),
    impl: o.impl,
    workers: String(o.workers),
    out: `${o.out.replace(/\/+$/, '')}/${row.id}`,
    // issue 13: the matrix compares design options; fault injection stays off here, so a cell's
    // verdict and trace depend on the axis alone (and docs/design-matrix.md stays reproducible)
    'fail-rate': '0',
  })
  // the per-cell budget as the user wrote it, for the cell's summary
  if (timeMs !== undefined && o.cellTime !== undefined && timeMs === o.cellTimeMs) c.time = o.cellTime
  // failures are reported unshrunk and delta-debugged by the comparison (src/compare/minimize.ts)
  return { ...c, name: row.id, shrink: false }
}

function push(rows: DesignRow[], r: DesignRow): void {
  if (!rows.some((x) => x.id === r.id)) rows.push(r)
}

export function resolveCompareOptions(f: CompareFlags, defaults: { reportsRoot?: string } = {}): CompareOptions {
  const seed = f.seed !== undefined ? parseSeed(f.seed) : DEFAULT_SEED
  const cellTimeMs = f.time !== undefined ? parseDuration(f.time, '--time') : undefined
  const runs = f.runs !== undefined ? parsePositiveInt(f.runs, '--runs') : cellTimeMs === undefined ? DEFAULT_CELL_RUNS : undefined
  const totalTimeMs = f.total !== undefined ? parseDuration(f.total, '--total') : undefined
  const workers = f.workers !== undefined ? parsePositiveInt(f.workers, '--workers') : availableParallelism()

  const files = (f.design ?? []).map((path) => fileRow(loadDesignFile(path), path))
  // a design file is compared with the profiles given, or else with its own base profile
  const profiles = f.profiles !== undefined ? parseProfiles(f.profiles) : [...new Set(files.map((r) => r.profile))]
  const seenFile = new Map<string, string>()
  for (const r of files) {
    const other = seenFile.get(r.id)
    if (other) throw new InputError(`--design ${r.source}: design name '${r.label}' is also the name of ${other}`)
    seenFile.set(r.id, r.source!)
  }
  if (f.cross && f.axes === undefined) throw new InputError('--cross needs --axes: name the few axes whose every combination to run')
  // axes are compared when asked for, or when nothing else is: the default is every axis
  const compareAxes = f.axes !== undefined || (f.profiles === undefined && files.length === 0) || f.profile !== undefined || (f.set?.length ?? 0) > 0
  const axes = compareAxes ? parseAxes(f.axes ?? 'all') : []
  let base: DesignRow | undefined
  const rows: DesignRow[] = []
  if (compareAxes) {
    const d = resolveDesignFlags(f.profile, f.set ?? [])
    base = baseRow(d.profile, d.overrides)
    if (f.cross) for (const r of crossProduct(base, axes)) push(rows, r)
    else {
      push(rows, base)
      for (const r of oneAtATime(base, axes)) push(rows, r)
    }
  }
  for (const p of profiles) push(rows, profileRow(p))
  for (const r of files) push(rows, r)

  // checked through the campaign's own resolver (platform, properties, impl, out)
  const probe = resolveCampaignOptions({
    runs: '1',
    seed: String(seed),
    ...(f.platform !== undefined && { platform: f.platform }),
    ...(f.properties !== undefined && { properties: f.properties }),
    ...(f.impl !== undefined && { impl: f.impl }),
    out: '.',
    profile: rows[0]?.profile ?? DEFAULT_PROFILE,
  })
  const name = f.name ?? defaultCompareName({ base, profiles, files, seed, cross: !!f.cross, axes })
  if (!/^[A-Za-z0-9][A-Za-z0-9._=-]*$/.test(name)) throw new InputError(`--name ${name}: expected letters, digits, '.', '_', '=' or '-'`)
  const out = f.out ?? `${defaults.reportsRoot ?? 'reports'}/${name}`
  checkOutDir(out)
  const o: CompareOptions = {
    name,
    out,
    seed,
    ...(runs !== undefined && { runs }),
    ...(cellTimeMs !== undefined && { cellTimeMs, cellTime: f.time }),
    ...(totalTimeMs !== undefined && { totalTimeMs, totalTime: f.total }),
    workers,
    impl: probe.impl,
    platformName: probe.platformName,
    properties: probe.properties,
    ...(base && { base }),
    axes,
    cross: !!f.cross,
    profiles,
    files,
    rows,
    command: '',
  }
  o.command = compareCommand(o, f)
  // every cell's executor is buildable (a design the kernel cannot run is bad input now)
  for (const r of rows) cellCampaignOptions(o, r)
  return o
}

/** `compare-lpc2025-seed-437`, `compare-profiles-seed-437`. */
function defaultCompareName(o: { base?: DesignRow; profiles: ProfileName[]; files: DesignRow[]; seed: number; cross: boolean; axes: Axis[] }): string {
  const parts = ['compare']
  if (o.base) parts.push(o.base.id)
  if (o.cross) parts.push('cross', ...o.axes)
  if (o.profiles.length) parts.push('profiles')
  if (o.files.length) parts.push(...o.files.map((r) => r.id))
  parts.push(`seed-${o.seed}`)
  return parts.join('-').replace(/[^A-Za-z0-9._=-]/g, '_')
}

/** The command that reproduces the matrix (budget, seed and design set; not --out). */
function compareCommand(o: CompareOptions, f: CompareFlags): string {
  const parts = ['luv compare']
  if (f.profile !== undefined) parts.push(`--profile ${f.profile}`)
  for (const s of f.set ?? []) parts.push(`--set ${s}`)
  if (f.axes !== undefined) parts.push(`--axes ${f.axes}`)
  if (o.cross) parts.push('--cross')
  if (f.profiles !== undefined) parts.push(`--profiles ${f.profiles}`)
  for (const d of f.design ?? []) parts.push(`--design ${d}`)
  if (o.runs !== undefined) parts.push(`--runs ${o.runs}`)
  if (o.cellTime !== undefined) parts.push(`--time ${o.cellTime}`)
  if (o.totalTime !== undefined) parts.push(`--total ${o.totalTime}`)
  parts.push(`--seed ${o.seed}`)
  if (o.platformName !== 'default') parts.push(`--platform ${o.platformName}`)
  if (f.properties !== undefined) parts.push(`--properties ${o.properties.join(',')}`)
  if (o.impl !== 'both') parts.push(`--impl ${o.impl}`)
  return parts.join(' ')
}
