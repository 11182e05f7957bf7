// Kernel implementation vs the reference model on a large state:
//   node --import tsx bench/kernel.ts [--model-seconds 60] [--ops 10000]
// 64 devices over 4 units, 4 VMs (iommufds) each with a 1 GiB memfd mapped into its IOAS in
// 2 MiB areas, half of them PA-aligned (2 MiB leaves) and half one page off (4 KiB leaves),
// one HWPT per device (so every domain maps 1 GiB), then mixed ops (DMA, unmap/remap, replace,
// detach/attach) with two live updates (preserve a VM, KEXEC, recover it). The kernel runs the
// whole list; the model runs the same list for a time budget; both are timed per op over the
// prefix the model finished. Prints markdown. Speed is measured here, never asserted in tests.

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { parseArgs } from 'node:util'
import { initState, step } from '../models/index.ts'
import { resolveDesign } from '../models/design.ts'
import type { Op } from '../models/ops.ts'
import { largePlatform } from '../models/platform.ts'
import { Kernel } from '../src/kernel/index.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const { values } = parseArgs({ options: { 'model-seconds': { type: 'string' }, ops: { type: 'string' } } })
const MODEL_SECONDS = Number(values['model-seconds'] ?? 60)
const TOTAL = Number(values.ops ?? 10_000)

const platform = largePlatform(64, 4, 1 << 20)
const design = resolveDesign({})
const MiB2 = 0x200000n
const GiB = 0x40000000n
const AREAS = 512
const VMS = 4
const DEVS_PER_VM = 16

/** A deterministic op list; fds and ids follow the kernel's numbering (checked as it goes). */
function buildOps(): Op[] {
  const ops: Op[] = []
  let rng = 0x2545f491
  const rand = (n: number) => {
    rng ^= rng << 13
    rng ^= rng >>> 17
    rng ^= rng << 5
    return (rng >>> 0) % n
  }
  // fds are handed out lowest first from 3; within one boot we only open, so they are sequential
  let nextFd = 3
  const vm: { mfd: number; ifd: number; ioas: number; cdevs: number[]; hwpts: number[]; bdfs: string[]; devIds: number[] }[] = []
  const setupBoot = (which: number[]) => {
    for (const v of which) {
      const mfd = nextFd++
      ops.push({ op: 'MEMFD_CREATE', args: { pages: 1 << 18 } })
      ops.push({ op: 'MEMFD_SEAL', args: { fd: mfd, seals: ['SEAL', 'GROW', 'SHRINK'] } })
      const ifd = nextFd++
      ops.push({ op: 'IOMMUFD_OPEN', args: {} })
      ops.push({ op: 'IOMMU_IOAS_ALLOC', args: { iommufd: ifd } })
      for (let i = 0; i < AREAS; i++)
        ops.push({
          op: 'IOMMU_IOAS_MAP_FILE',
          args: { iommufd: ifd, ioas: 1, memfd: mfd, start: BigInt(i) * MiB2 - (i % 2 ? 0x1000n : 0n), length: MiB2, iova: GiB + BigInt(i) * MiB2 },
        })
      const cdevs: number[] = []
      const hwpts: number[] = []
      const bdfs: string[] = []
      const devIds: number[] = []
      let id = 2
      for (let d = 0; d < DEVS_PER_VM; d++) {
        const bdf = platform.devices[v * DEVS_PER_VM + d].bdf
        const cdev = nextFd++
        ops.push({ op: 'VFIO_CDEV_OPEN', args: { bdf } })
        ops.push({ op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev, iommufd: ifd } })
        const devId = id++
        ops.push({ op: 'IOMMU_HWPT_ALLOC', args: { iommufd: ifd, dev_id: devId, pt_id: 1 } })
        const hwpt = id++
        ops.push({ op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev, pt_id: hwpt } })
        cdevs.push(cdev)
        hwpts.push(hwpt)
        bdfs.push(bdf)
        devIds.push(devId)
      }
      vm[v] = { mfd, ifd, ioas: 1, cdevs, hwpts, bdfs, devIds }
    }
  }
  /** mixed ops until the list is `until` long */
  const mixed = (until: number, vms: number[]) => {
    while (ops.length < until) {
      const v = vm[vms[rand(vms.length)]]
      const r = rand(100)
      const d = rand(DEVS_PER_VM)
      const a = rand(AREAS)
      if (r < 55) ops.push({ op: 'DMA', args: { bdf: v.bdfs[d], iova: GiB + BigInt(a) * MiB2 + BigInt(rand(512)) * 0x1000n } })
      else if (r < 75) {
        ops.push({ op: 'IOMMU_IOAS_UNMAP', args: { iommufd: v.ifd, ioas: 1, iova: GiB + BigInt(a) * MiB2, length: MiB2 } })
        ops.push({ op: 'IOMMU_IOAS_MAP_FILE', args: { iommufd: v.ifd, ioas: 1, memfd: v.mfd, start: BigInt(a) * MiB2 - (a % 2 ? 0x1000n : 0n), length: MiB2, iova: GiB + BigInt(a) * MiB2 } })
      } else if (r < 90) ops.push({ op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: v.cdevs[d], pt_id: v.hwpts[rand(DEVS_PER_VM)] } })
      else {
        ops.push({ op: 'VFIO_DEVICE_DETACH_IOMMUFD_PT', args: { cdev: v.cdevs[d] } })
        ops.push({ op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: v.cdevs[d], pt_id: v.hwpts[d] } })
      }
    }
  }
  /** mark VM 0's HWPTs, preserve memfd -> iommufd -> cdevs, KEXEC */
  let luoFd: number | undefined
  const liveUpdate = (v: number) => {
    const x = vm[v]
    for (let d = 0; d < DEVS_PER_VM; d++) {
      ops.push({ op: 'VFIO_DEVICE_ATTACH_IOMMUFD_PT', args: { cdev: x.cdevs[d], pt_id: x.hwpts[d] } })
      ops.push({ op: 'IOMMU_HWPT_LU_SET_PRESERVE', args: { iommufd: x.ifd, hwpt_id: x.hwpts[d], token: 0x1000n + BigInt(d) } })
    }
    if (luoFd === undefined) {
      luoFd = nextFd++
      ops.push({ op: 'LIVEUPDATE_OPEN', args: {} })
    }
    const sess = nextFd++
    ops.push({ op: 'LIVEUPDATE_IOCTL_CREATE_SESSION', args: { name: 'vm' } })
    ops.push({ op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: sess, fd: x.mfd, token: 1n } })
    ops.push({ op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: sess, fd: x.ifd, token: 2n } })
    for (let d = 0; d < DEVS_PER_VM; d++) ops.push({ op: 'LIVEUPDATE_SESSION_PRESERVE_FD', args: { session: sess, fd: x.cdevs[d], token: 3n + BigInt(d) } })
    ops.push({ op: 'KEXEC', args: {} })
    nextFd = 3
    // the VM keeps running on the restored domains
    for (let i = 0; i < 200; i++) ops.push({ op: 'DMA', args: { bdf: x.bdfs[rand(DEVS_PER_VM)], iova: GiB + BigInt(rand(AREAS)) * MiB2 } })
    // recovery: retrieve, bind, restore each HWPT (the replace is left to the VMM)
    ops.push({ op: 'LIVEUPDATE_OPEN', args: {} })
    luoFd = nextFd++
    const inSess = nextFd++
    ops.push({ op: 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION', args: { name: 'vm' } })
    ops.push({ op: 'LIVEUPDATE_SESSION_RETRIEVE_FD', args: { session: inSess, token: 1n } })
    nextFd++
    const ifd = nextFd++
    ops.push({ op: 'LIVEUPDATE_SESSION_RETRIEVE_FD', args: { session: inSess, token: 2n } })
    for (let d = 0; d < DEVS_PER_VM; d++) {
      const cdev = nextFd++
      ops.push({ op: 'LIVEUPDATE_SESSION_RETRIEVE_FD', args: { session: inSess, token: 3n + BigInt(d) } })
      ops.push({ op: 'VFIO_DEVICE_BIND_IOMMUFD', args: { cdev, iommufd: ifd } })
    }
    for (let d = 0; d < DEVS_PER_VM; d++) ops.push({ op: 'IOMMU_HWPT_LU_RESTORE', args: { iommufd: ifd, token: 0x1000n + BigInt(d) } })
  }
  setupBoot([0, 1, 2, 3])
  setupEnd = ops.length
  mixed(0.4 * TOTAL, [0, 1, 2, 3])
  liveUpdate(0)
  setupBoot([1, 2, 3])
  mixed(0.75 * TOTAL, [1, 2, 3])
  liveUpdate(1)
  setupBoot([2, 3])
  mixed(TOTAL, [2, 3])
  return ops.slice(0, TOTAL)
}
let setupEnd = 0

const ops = buildOps()
const kexecs = ops.filter((o) => o.op === 'KEXEC').length

// ---- kernel: the whole list
gc()
const mem0 = process.memoryUsage()
const kernel = new Kernel(platform, design)
const kt: number[] = []
let kfail = 0
let peak = { tablePages: 0, bytes: 0 }
let t = performance.now()
for (const [i, op] of ops.entries()) {
  if (i === setupEnd) {
    // the largest state: every VM set up, every domain mapping 1 GiB
    gc()
    const m = process.memoryUsage()
    peak = { tablePages: kernel.observe([]).memory.tablePages, bytes: m.heapUsed + m.arrayBuffers - (mem0.heapUsed + mem0.arrayBuffers) }
    t = performance.now()
  }
  const r = kernel.apply(op, [])
  if (!r.result.ok && !('fault' in r.result) && kfail++ < 5 && process.env.LUV_BENCH_DEBUG) console.error(op, r.result)
  const n = performance.now()
  kt.push(n - t)
  t = n
}
const kernelMs = kt.reduce((a, b) => a + b, 0)
if (kernel.panic !== undefined) throw new Error(`the kernel panicked: ${kernel.panic}`)
const tablePages = kernel.observe([]).memory.tablePages
gc()
const mem1 = process.memoryUsage()
const heldBytes = mem1.heapUsed + mem1.arrayBuffers - (mem0.heapUsed + mem0.arrayBuffers)

// ---- model: the same list, for a time budget
let s = initState(platform, design)
let done = 0
let modelMs = 0
const budget = MODEL_SECONDS * 1000
while (done < ops.length && modelMs < budget) {
  const t0 = performance.now()
  s = step(s, ops[done]).state
  modelMs += performance.now() - t0
  done++
}
const kernelPrefixMs = kt.slice(0, done).reduce((a, b) => a + b, 0)

const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3))
console.log(`## kernel vs model: ${platform.devices.length} devices, ${platform.units.length} units, ${VMS} VMs, ${AREAS} x 2 MiB areas (1 GiB) per domain\n`)
console.log(`| | ops | ms | µs per op |`)
console.log(`|---|---:|---:|---:|`)
console.log(`| kernel, whole list (${kexecs} KEXECs, ${kfail} errno results) | ${ops.length} | ${f(kernelMs)} | ${f((kernelMs * 1000) / ops.length)} |`)
console.log(`| kernel, first ${done} ops | ${done} | ${f(kernelPrefixMs)} | ${f((kernelPrefixMs * 1000) / done)} |`)
console.log(`| model, first ${done} ops${done < ops.length ? ` (stopped after ${MODEL_SECONDS} s)` : ''} | ${done} | ${f(modelMs)} | ${f((modelMs * 1000) / done)} |`)
console.log(`\nspeed-up on the common prefix: ${f(modelMs / kernelPrefixMs)}x`)
const mem = (what: string, pages: number, bytes: number) =>
  console.log(`| ${what} | ${pages} | ${f((pages * 4096) / 2 ** 20)} | ${f(bytes / 2 ** 20)} | ${f(bytes / (pages * 4096))} |`)
console.log(`\n| memory | table pages held | their MiB | kernel heap + array buffers, MiB | ratio |`)
console.log(`|---|---:|---:|---:|---:|`)
mem(`after the setup (op ${setupEnd}, all ${VMS * DEVS_PER_VM} domains)`, peak.tablePages, peak.bytes)
mem('at the end', tablePages, heldBytes)
