// Micro-benchmarks of the kernel-like data structures (src/kernel/).
//   node --import tsx bench/structures.ts
// Prints markdown tables: map+unmap cost by size (superpages where they fit vs 4 KiB only),
// warm-IOTLB lookup against a plain Map.get, and table-page memory against 4 KiB per page.
// Absolute times depend on the machine; compare the ratios.

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Iotlb } from '../src/kernel/iotlb.ts'
import { PageTable, walk } from '../src/kernel/pagetable.ts'
import { PhysMem } from '../src/kernel/phys.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const G1 = 262144
const now = (): number => Number(process.hrtime.bigint()) / 1e3 // µs

/** Mean µs per call of fn, running it at least `minMs` and `minRuns` times after a warm-up. */
function time(fn: () => void, minMs = 300, minRuns = 5): number {
  fn()
  let runs = 0
  const t0 = now()
  let t = t0
  while (runs < minRuns || t - t0 < minMs * 1e3) {
    fn()
    runs++
    t = now()
  }
  return (t - t0) / runs
}

const fmt = (x: number, digits = 2): string => (x >= 100 ? x.toFixed(0) : x.toPrecision(3 > digits ? 3 : digits))

function mapUnmapTable(): void {
  const sizes: [string, number][] = [
    ['4 KiB', 1],
    ['64 KiB', 16],
    ['2 MiB', 512],
    ['64 MiB', 16384],
    ['1 GiB', G1],
    ['4 GiB', 4 * G1],
  ]
  const phys = new PhysMem(8 * G1, 1 << 16)
  const pt = PageTable.create(phys) as PageTable
  // a few unrelated mappings so the tables are not all fresh
  pt.map(5, [1, 2, 3])
  console.log('## map + unmap of one run (IOVA 1 GiB aligned; pfns as a number[])\n')
  console.log('| size | leaves (superpages) | tables touched | µs per map+unmap | ns per 4 KiB | leaves (4 KiB only) | tables touched | µs per map+unmap | ns per 4 KiB | 4 KiB-only / superpages |')
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  let sink = 0
  for (const [name, n] of sizes) {
    const iova = 2 * G1
    const row: string[] = [name]
    const times: number[] = []
    for (const shift of [0, 1]) {
      // shift 0: PA run aligned like the IOVA (largest pages); shift 1: PA off by one page (4 KiB only)
      const pfns = Array.from({ length: n }, (_, i) => 2 * G1 + shift + i)
      const before = pt.tableCount
      if (pt.map(iova, pfns) !== undefined) throw new Error('map failed')
      let leaves = 0
      pt.forEachLeaf((p) => void (p >= iova && p < iova + n && leaves++))
      const touched = pt.tableCount - before
      sink += pt.lookup(iova + n - 1)
      pt.unmap(iova, n)
      const us = time(() => {
        pt.map(iova, pfns)
        pt.unmap(iova, n)
      }, n >= G1 ? 1500 : 300)
      times.push(us)
      row.push(String(leaves), String(touched), fmt(us), fmt((us * 1e3) / n))
    }
    row.push(fmt(times[1] / times[0]))
    console.log(`| ${row.join(' | ')} |`)
  }
  // the same 4 GiB given as a PfnRun: no per-page contiguity scan, O(superpages)
  const run = { first: 2 * G1, length: 4 * G1 }
  const usRun = time(() => {
    pt.map(2 * G1, run)
    pt.unmap(2 * G1, 4 * G1)
  })
  console.log(`| 4 GiB as a PfnRun {first, length} | 4 | 0 | ${fmt(usRun)} | ${fmt((usRun * 1e3) / (4 * G1), 3)} | | | | | |`)
  if (sink === 42) console.log('')
  console.log()
}

function iotlbTable(): void {
  const phys = new PhysMem(2 * G1, 1 << 12)
  const pt = PageTable.create(phys) as PageTable
  const n = G1 // 1 GiB of 4 KiB pages
  pt.map(0, Array.from({ length: n }, (_, i) => n + 1 + i)) // PA off by one: 4 KiB leaves
  const sp = PageTable.create(phys) as PageTable
  sp.map(0, Array.from({ length: n }, (_, i) => 512 + i)) // 2 MiB leaves (PA 2 MiB aligned, not 1 GiB)

  const probes = 1 << 20
  let x = 12345
  const order = new Float64Array(probes)
  for (let i = 0; i < probes; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    order[i] = x % n
  }

  // plain Map.get with the same keys and values: the floor
  const plain = new Map<number, number>()
  for (let p = 0; p < n; p++) plain.set(p, n + 1 + p)
  const tlb = new Iotlb()
  const out = { order: 0 }
  for (let p = 0; p < n; p++) tlb.fill(0, 2, 0, p, walk(phys, pt.root, p, out), out.order)
  const tlbSp = new Iotlb()
  for (let p = 0; p < n; p += 512) tlbSp.fill(0, 3, 0, p, walk(phys, sp.root, p, out), out.order)
  // 64 devices behind 64 DIDs, DMA interleaved: defeats the last-tag cache
  const tlb64 = new Iotlb()
  for (let d = 0; d < 64; d++) for (let p = 0; p < 4096; p++) tlb64.fill(d >> 4, 2 + d, 0, p, 1000 + p, 0)

  let sink = 0
  const perProbe = (us: number): number => (us * 1e3) / probes
  const tMap = perProbe(time(() => { for (let i = 0; i < probes; i++) sink += plain.get(order[i])! }))
  const tHit = perProbe(time(() => { for (let i = 0; i < probes; i++) sink += tlb.lookup(0, 2, 0, order[i]) }))
  const tSp = perProbe(time(() => { for (let i = 0; i < probes; i++) sink += tlbSp.lookup(0, 3, 0, order[i]) }))
  const t64 = perProbe(time(() => { for (let i = 0; i < probes; i++) { const d = i & 63; sink += tlb64.lookup(d >> 4, 2 + d, 0, order[i] & 4095) } }))
  const handles = Array.from({ length: 64 }, (_, d) => tlb64.tag(d >> 4, 2 + d, 0))
  const t64h = perProbe(time(() => { for (let i = 0; i < probes; i++) sink += handles[i & 63].lookup(order[i] & 4095) }))
  const tWalk = perProbe(time(() => { for (let i = 0; i < probes; i++) sink += walk(phys, pt.root, order[i]) }))
  // every probe a miss: a permutation of the 2^18 pages, fresh cache each run
  const perm = Float64Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) >>> 0
    const j = x % (i + 1)
    const tmp = perm[i]
    perm[i] = perm[j]
    perm[j] = tmp
  }
  const tMiss = (time(() => {
      const t = new Iotlb()
      for (let i = 0; i < n; i++) {
        const p = perm[i]
        let v = t.lookup(0, 2, 0, p)
        if (v < 0) {
          v = walk(phys, pt.root, p, out)
          t.fill(0, 2, 0, p, v, out.order)
        }
        sink += v
      }
    }, 1000) * 1e3) / n
  console.log('## DMA translation: warm IOTLB vs a plain Map.get (1 GiB of 4 KiB pages, 2^20 random probes)\n')
  console.log('| path | ns per lookup | vs Map.get |')
  console.log('|---|---:|---:|')
  const row = (name: string, t: number): void => console.log(`| ${name} | ${fmt(t)} | ${fmt(t / tMap)} |`)
  row('plain `Map.get` (same keys)', tMap)
  row('IOTLB hit, 4 KiB entries, one device', tHit)
  row('IOTLB hit, 2 MiB entries (4 KiB miss, then 2 MiB key)', tSp)
  row('IOTLB hit, 64 devices / DIDs interleaved (tag looked up per DMA)', t64)
  row('IOTLB hit, 64 devices / DIDs interleaved (tag held per device)', t64h)
  row('table walk only (4 levels, no IOTLB)', tWalk)
  row('IOTLB miss: lookup, walk and fill (every probe a new page)', tMiss)
  if (sink === 42) console.log('')
  console.log()
}

function memoryTable(): void {
  const domains = 64
  gc()
  const m0 = process.memoryUsage()
  const phys = new PhysMem(G1 + 1, domains * 600)
  const pts: PageTable[] = []
  for (let d = 0; d < domains; d++) {
    const pt = PageTable.create(phys) as PageTable
    // 1 GiB per domain: half 4 KiB pieces (PA off by one), half 2 MiB pieces
    pt.map(0, { first: 1, length: G1 / 2 })
    pt.map(G1 / 2, { first: G1 / 2, length: G1 / 2 })
    pts.push(pt)
  }
  gc()
  const m1 = process.memoryUsage()
  const held = phys.used('table')
  // `external` already includes `arrayBuffers`
  const bytes = m1.heapUsed + m1.external - (m0.heapUsed + m0.external)
  console.log(`## Memory: ${domains} domains x 1 GiB (half 4 KiB, half 2 MiB pieces)\n`)
  console.log('| table pages held | 4 KiB x pages | heap + buffers grown | ratio |')
  console.log('|---:|---:|---:|---:|')
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1) + ' MiB'
  console.log(`| ${held} | ${mib(held * 4096)} | ${mib(bytes)} | ${(bytes / (held * 4096)).toFixed(2)} |`)
  console.log()
  if (pts.length === 0) console.log('')
}

console.log(`# luv kernel structures (node ${process.version})\n`)
memoryTable() // first, so earlier sections' garbage does not skew the baseline
mapUnmapTable()
iotlbTable()
