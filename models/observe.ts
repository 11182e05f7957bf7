// The abstraction both implementations are compared through (models/observation.ts), and the
// probe set: the IOVAs each device is "using" right now.

import type { Observation, OwnerView, Probe, Translation, LuoSessionView } from './observation.ts'
import { entryFor, tablePagesInUse, translate } from './iommu.ts'
import { memoByParts } from './memo.ts'
import { resolveDevices } from './platform.ts'
import type { FileId, GroupOwner, IommufdFile, State } from './state.ts'
import { hex } from './ops.ts'

export function ownerView(o: GroupOwner): OwnerView {
  switch (o.kind) {
    case 'none':
      return 'unowned'
    case 'dma-api':
      return 'dma-api'
    case 'iommufd':
      return `iommufd:${o.file}`
    case 'restored':
      return `restored:${o.session}/${o.token}`
  }
}

/** Live IOVAs: for every present RID/PASID entry, the first and last page of each extent of
 *  the domain it translates through. */
function computeLiveProbes(s: State): Probe[] {
  const out: Probe[] = []
  for (const dev of resolveDevices(s.platform)) {
    const unit = s.units[dev.unit]
    const pasids = [0, ...Object.keys(unit.pasid[dev.bdf] ?? {}).map(Number)]
    for (const pasid of pasids) {
      const e = entryFor(s, dev.bdf, pasid)
      if (!e) continue
      for (const ext of s.domains[e.domain]?.extents ?? []) {
        out.push({ bdf: dev.bdf, pasid, iova: ext.iova })
        if (ext.pages.length > 1) out.push({ bdf: dev.bdf, pasid, iova: ext.iova + BigInt(ext.pages.length - 1) * 4096n })
      }
    }
  }
  return deepFrozen(sortProbes(out))
}

/** The live probes of a state (computeLiveProbes), computed once per units and domains: most
 *  steps change neither (models/memo.ts). The list is shared: copy it to change it (tests freeze it). */
export const liveProbes: (s: State) => Probe[] = memoByParts((s: State) => [s.platform, s.units, s.domains], computeLiveProbes)

export function probeKey(p: Probe): string {
  return `${p.bdf}/${p.pasid}/${hex(p.iova)}`
}

export function sortProbes(ps: Probe[]): Probe[] {
  const seen = new Map<string, Probe>()
  for (const p of ps) seen.set(probeKey(p), p)
  return [...seen.values()].sort((a, b) =>
    a.bdf !== b.bdf ? (a.bdf < b.bdf ? -1 : 1) : a.pasid !== b.pasid ? a.pasid - b.pasid : a.iova < b.iova ? -1 : a.iova > b.iova ? 1 : 0,
  )
}

export function translations(s: State, probes: Probe[]): Translation[] {
  return probes.map((p) => {
    const w = translate(s, p.bdf, p.pasid, p.iova)
    return { bdf: p.bdf, pasid: p.pasid, iova: p.iova, pa: 'pa' in w ? w.pa : null }
  })
}

/** (computed afresh: cheaper than finding it again, a file's record being new whenever an op
 *  changed anything in it) */
function fdView(s: State, id: FileId): string {
  return fileView(s.files[id], id)
}

function fileView(f: State['files'][number], id: FileId): string {
  switch (f.kind) {
    case 'memfd':
      return `memfd:${f.pages.length}`
    case 'iommufd':
      return `iommufd:${id}`
    case 'vfio':
      return `vfio:${f.bdf}`
    case 'liveupdate':
      return 'liveupdate'
    case 'session':
      return `session:${f.name}`
  }
}

function objectView(o: Extract<State['files'][number], { kind: 'iommufd' }>['objects'][number]): string {
  switch (o.type) {
    case 'IOAS':
      return `IOAS [${o.areas.map((a) => `${hex(a.iova)}+${hex(a.length)}`).join(',')}]${o.immutable ? ' immutable' : ''}`
    case 'HWPT_PAGING':
      return `HWPT_PAGING ${o.restored ? 'restored' : `ioas=${o.ioas}`}${o.autoDomain ? ' auto' : ''}${o.mark !== undefined ? ` mark=${o.mark}` : ''}`
    case 'DEVICE':
      return `DEVICE ${o.bdf}`
  }
}

// The observation, part by part. Each part is a function of a few parts of the state and,
// like the live probes, computed once per combination of those objects (models/memo.ts): a
// step that did not touch the groups observes the owners it observed before, as the same
// object. An observation is never changed, only built anew (its parts are frozen in tests).

const ownersOf = memoByParts(
  (s: State) => [s.groups],
  (s) => {
    const owners: Record<string, OwnerView> = {}
    for (const [name, g] of Object.entries(s.groups)) owners[name] = ownerView(g.owner)
    return deepFrozen(owners)
  },
)

const fdsOf = memoByParts(
  (s: State) => [s.fds, s.files],
  (s) => {
    const fds: Record<number, string> = {}
    for (const [fd, id] of Object.entries(s.fds)) fds[Number(fd)] = fdView(s, id)
    return deepFrozen(fds)
  },
)

const iommufdsOf = memoByParts(
  (s: State) => [s.files],
  (s) => {
    const iommufds: Record<number, Record<number, string>> = {}
    for (const [id, f] of Object.entries(s.files)) if (f.kind === 'iommufd') iommufds[Number(id)] = objectsView(f.objects)
    return deepFrozen(iommufds)
  },
)

/** The view of one iommufd's objects, once per objects record (a step that maps into one
 *  IOAS leaves every other iommufd's objects as they were). */
function objectsView(objects: IommufdFile['objects']): Record<number, string> {
  let objs = objectsViews.get(objects)
  if (objs !== undefined) return objs
  objs = {}
  for (const [oid, o] of Object.entries(objects)) objs[Number(oid)] = objectView(o)
  objectsViews.set(objects, deepFrozen(objs))
  return objs
}
const objectsViews = new WeakMap<IommufdFile['objects'], Record<number, string>>()

const luoOf = memoByParts(
  (s: State) => [s.luo, s.files],
  (s): Observation['luo'] => deepFrozen({ open: Object.values(s.files).some((f) => f.kind === 'liveupdate'), ...sessionsOf(s) }),
)

/** The sessions, once per `luo` (most steps change files but no session) */
const sessionsOf = memoByParts(
  (s: State) => [s.luo],
  (s): Pick<Observation['luo'], 'outgoing' | 'incoming'> => {
    const outgoing: LuoSessionView[] = s.luo.outgoing.map((x) => ({
      name: x.name,
      files: x.files.map((p) => ({ token: BigInt(p.token), kind: p.kind })),
    }))
    const incoming: LuoSessionView[] = s.luo.incoming.map((x) => ({
      name: x.name,
      retrieved: x.retrievedAs !== undefined,
      files: x.files.map((f) => ({
        token: BigInt(f.token),
        kind: f.ser.kind,
        retrieved: f.retrieved === undefined ? 'no' : typeof f.retrieved === 'number' ? 'ok' : f.retrieved,
      })),
    }))
    return deepFrozen({ outgoing, incoming })
  },
)

const usedPagesOf = memoByParts(
  (s: State) => [s.pages],
  (s) => s.pages.filter((p) => p.use !== 'free').length,
)

/** translations(s, probes), once per probe list and the parts a translation reads */
const translationsOf = memoByParts(
  (x: { s: State; probes: Probe[] }) => [x.probes, x.s.units, x.s.domains, x.s.devices],
  (x) => deepFrozen(translations(x.s, x.probes)),
)

/** Tests (vitest sets VITEST) and paranoid mode freeze every cached part: a consumer that
 *  changed one would change every observation sharing it. Campaigns do not: it costs a walk
 *  of every new list of translations. */
const FREEZE_PARTS = process.env.VITEST !== undefined || process.env.LUV_MODEL_PARANOID === '1'

function deepFrozen<T>(x: T): T {
  if (FREEZE_PARTS && typeof x === 'object' && x !== null && !Object.isFrozen(x)) {
    Object.freeze(x)
    for (const v of Object.values(x)) deepFrozen(v)
  }
  return x
}

export function observe(s: State, probes: Probe[] = liveProbes(s)): Observation {
  return {
    boot: s.boot,
    translations: translationsOf({ s, probes }),
    owners: ownersOf(s),
    luo: luoOf(s),
    fds: fdsOf(s),
    memory: { usedPages: usedPagesOf(s), tablePages: tablePagesInUse(s) },
    iommufds: iommufdsOf(s),
  }
}
