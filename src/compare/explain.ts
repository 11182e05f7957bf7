// A breaking cell's one-line explanation, generated from its shrunk trace: what the diverging
// step did in the kernel's words (which cdev, which iommufd, retrieved or fresh, the restored
// HWPT or a new one), at which step, and what the property says broke. E.g.
//
//   bind of the retrieved cdev of 0000:00:02.0 to a fresh iommufd after KEXEC succeeds at
//   step 14: DMA ownership moves without the token (group 2: owner moved from ...)
//
// Step numbers are 0-based indices into the bundle's scenario.json `steps` (PINNED.md).

import { hex, resultToString, type Result } from '../../models/ops.ts'
import type { PropertyName } from '../check/executor.types.ts'
import { divergingStep } from '../report/common.ts'
import type { Counterexample } from '../report/types.ts'

/** What each property's failure means, in one phrase. */
export const PROPERTY_GLOSS: Record<PropertyName, string> = {
  conformance: 'the kernel implementation does not do what the model does (the code is not the design)',
  'dma-continuity': "a device's DMA translation breaks where it must not",
  'dma-safety': 'a device can reach memory that is no longer its owner’s',
  ownership: 'DMA ownership moves without the token',
  isolation: 'live domains are not isolated from each other',
  atomicity: 'a failed op changed the state',
  recoverability: 'the documented recovery does not complete',
}

type FdInfo = { kind: 'cdev' | 'iommufd' | 'memfd' | 'liveupdate' | 'session' | 'unknown'; bdf?: string; name?: string; retrieved: boolean; boot: number }

const RECOVERY_AT = /^during the documented recovery after KEXEC, at ([A-Z_0-9]+)\([^)]*\): /
const RECOVERY_FAILS = /^the documented recovery fails after KEXEC: /
const RECOVERY_LEAKS = /^after the documented recovery: /

const outOf = (r: Result): unknown => (r.ok && 'out' in r ? (r as { out?: unknown }).out : undefined)

/** Follow fds and object ids through the trace, so the diverging step can name what it used. */
class Provenance {
  boot = 0
  fds = new Map<number, FdInfo>()
  /** token → what was preserved with it */
  tokens = new Map<string, FdInfo>()
  /** `${iommufd}:${id}` → what the object is */
  objects = new Map<string, string>()
  /** cdev fd → iommufd fd it is bound to */
  bound = new Map<number, number>()
  /** cdev fd → what it is attached to */
  attached = new Map<number, string>()

  fd(n: unknown): FdInfo {
    return this.fds.get(Number(n)) ?? { kind: 'unknown', retrieved: false, boot: this.boot }
  }

  /** `the retrieved cdev of 0000:00:02.0`, `a fresh iommufd`, `memfd 5`. */
  fdText(n: unknown): string {
    const f = this.fd(n)
    const what = f.kind === 'cdev' ? `cdev of ${f.bdf}` : f.kind === 'session' ? `session "${f.name}"` : f.kind === 'unknown' ? `fd ${String(n)}` : f.kind
    if (f.retrieved) return `the retrieved ${what}`
    if (this.boot > 0 && f.boot === this.boot && (f.kind === 'iommufd' || f.kind === 'cdev')) return `a fresh ${what}`
    return f.kind === 'unknown' ? what : `the ${what}`
  }

  objectText(iommufd: unknown, id: unknown): string {
    return this.objects.get(`${String(iommufd)}:${String(id)}`) ?? `object ${String(id)}`
  }

  ptOfCdev(cdev: unknown, pt: unknown): string {
    const ifd = this.bound.get(Number(cdev))
    return ifd === undefined ? `pt ${String(pt)}` : this.objectText(ifd, pt)
  }

  /** Record what a step did (successful steps only change anything). */
  apply(op: string, a: Record<string, unknown>, r: Result): void {
    if (!r.ok) return
    const out = outOf(r)
    const mk = (kind: FdInfo['kind'], extra: Partial<FdInfo> = {}) => {
      if (typeof out === 'number') this.fds.set(out, { kind, retrieved: false, boot: this.boot, ...extra })
    }
    switch (op) {
      case 'KEXEC':
        this.boot++
        // nothing but what LUO preserved crosses a kexec; fds and ids start again
        this.fds.clear()
        this.objects.clear()
        this.bound.clear()
        this.attached.clear()
        return
      case 'MEMFD_CREATE':
        return mk('memfd')
      case 'IOMMUFD_OPEN':
        return mk('iommufd')
      case 'VFIO_CDEV_OPEN':
        return mk('cdev', { bdf: String(a.bdf) })
      case 'LIVEUPDATE_OPEN':
        return mk('liveupdate')
      case 'LIVEUPDATE_IOCTL_CREATE_SESSION':
        return mk('session', { name: String(a.name) })
      case 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION':
        return mk('session', { name: String(a.name), retrieved: true })
      case 'LIVEUPDATE_SESSION_PRESERVE_FD':
        this.tokens.set(String(a.token), this.fd(a.fd))
        return
      case 'LIVEUPDATE_SESSION_RETRIEVE_FD': {
        const was = this.tokens.get(String(a.token))
        if (typeof out === 'number') this.fds.set(out, { kind: was?.kind ?? 'unknown', ...(was?.bdf && { bdf: was.bdf }), retrieved: true, boot: this.boot })
        return
      }
      case 'IOMMU_IOAS_ALLOC':
        this.objects.set(`${String(a.iommufd)}:${String(out)}`, 'an IOAS')
        return
      case 'IOMMU_HWPT_ALLOC':
        this.objects.set(`${String(a.iommufd)}:${String(out)}`, this.boot > 0 ? 'a new HWPT' : `HWPT ${String(out)}`)
        return
      case 'IOMMU_HWPT_LU_RESTORE':
        this.objects.set(`${String(a.iommufd)}:${String(out)}`, 'the restored HWPT')
        return
      case 'VFIO_DEVICE_BIND_IOMMUFD':
        this.bound.set(Number(a.cdev), Number(a.iommufd))
        return
      case 'VFIO_DEVICE_ATTACH_IOMMUFD_PT':
        if (a.pasid === undefined) this.attached.set(Number(a.cdev), this.ptOfCdev(a.cdev, a.pt_id))
        return
      case 'VFIO_DEVICE_DETACH_IOMMUFD_PT':
        if (a.pasid === undefined) this.attached.delete(Number(a.cdev))
        return
      case 'CLOSE':
        this.fds.delete(Number(a.fd))
        return
    }
  }

  /** The step in words, before it runs. */
  phrase(op: string, a: Record<string, unknown>): string {
    const pasid = a.pasid !== undefined ? ` pasid ${String(a.pasid)}` : ''
    switch (op) {
      case 'VFIO_DEVICE_BIND_IOMMUFD':
        return `bind of ${this.fdText(a.cdev)} to ${this.fdText(a.iommufd)}`
      case 'VFIO_DEVICE_ATTACH_IOMMUFD_PT': {
        const to = this.ptOfCdev(a.cdev, a.pt_id)
        const from = a.pasid === undefined ? this.attached.get(Number(a.cdev)) : undefined
        if (from === 'the restored HWPT' && to !== from) return `replace of the restored HWPT of ${this.fdText(a.cdev)} by ${to}`
        return `attach${pasid} of ${this.fdText(a.cdev)} to ${to}`
      }
      case 'VFIO_DEVICE_DETACH_IOMMUFD_PT':
        return `detach${pasid} of ${this.fdText(a.cdev)}`
      case 'DMA':
        return `DMA by ${String(a.bdf)}${pasid} at IOVA ${hex(a.iova as bigint)}`
      case 'KEXEC':
        return 'KEXEC'
      case 'LIVEUPDATE_SESSION_FINISH':
        return `FINISH of ${this.fdText(a.session)}`
      case 'IOMMU_DESTROY':
        return `destroy of ${this.objectText(a.iommufd, a.id)}`
      case 'IOMMU_HWPT_LU_RESTORE':
        return `restore of the HWPT preserved with token ${String(a.token)}`
      case 'LIVEUPDATE_SESSION_PRESERVE_FD':
        return `preserve of ${this.fdText(a.fd)} in ${this.fdText(a.session)}`
      case 'LIVEUPDATE_SESSION_RETRIEVE_FD':
        return `retrieve of token ${String(a.token)} from ${this.fdText(a.session)}`
      case 'CLOSE':
        return `close of ${this.fdText(a.fd)}`
      case 'DRIVER_BIND':
        return `probe of kernel driver ${String(a.driver)} on ${String(a.bdf)}`
      case 'MEMFD_TRUNCATE':
        return `truncate of ${this.fdText(a.fd)} to ${String(a.pages)} pages`
      case 'IOMMU_IOAS_MAP_FILE':
        return `map of ${this.fdText(a.memfd)} into ${this.objectText(a.iommufd, a.ioas)}`
      case 'IOMMU_IOAS_MAP':
        return `map of anonymous memory into ${this.objectText(a.iommufd, a.ioas)}`
      case 'IOMMU_IOAS_UNMAP':
        return `unmap from ${this.objectText(a.iommufd, a.ioas)}`
      case 'IOMMU_HWPT_ALLOC':
        return `allocation of an HWPT on ${this.objectText(a.iommufd, a.pt_id)}`
      default:
        if (op.startsWith('IOMMU_HWPT_LU') && op.endsWith('PRESERVE')) return `mark of ${this.objectText(a.iommufd, a.hwpt_id)} for preservation`
        return op
    }
  }
}

const outcomeText = (r: Result): string => ('errno' in r ? `returns -${r.errno}` : 'fault' in r ? 'faults' : 'succeeds')

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim()

/** The 0-based step (index into scenario.json `steps`) a counterexample fails at. */
export function failingStep(cx: Counterexample): number {
  return cx.steps.indexOf(divergingStep(cx))
}

/** One line saying what broke, where, and why, from the shrunk trace. */
export function explain(cx: Counterexample): string {
  const at = divergingStep(cx)
  const n = cx.steps.indexOf(at)
  const p = new Provenance()
  for (const s of cx.steps.slice(0, n)) p.apply(s.op.op, s.op.args as Record<string, unknown>, s.model)
  const args = at.op.args as Record<string, unknown>
  const gloss = PROPERTY_GLOSS[cx.property]
  const msg = cx.message
  const rec = RECOVERY_AT.exec(msg)
  if (rec) return oneLine(`the documented recovery after the KEXEC at step ${n}, at ${rec[1]}: ${gloss} (${msg.slice(rec[0].length)})`)
  if (RECOVERY_FAILS.test(msg)) return oneLine(`after the KEXEC at step ${n} ${gloss}: ${msg.replace(RECOVERY_FAILS, '')}`)
  if (at.op.op === 'KEXEC' && RECOVERY_LEAKS.test(msg))
    return oneLine(`after the KEXEC at step ${n} the documented recovery completes but leaves preserved state behind: ${msg.replace(RECOVERY_LEAKS, '')}`)
  const kexecs = cx.steps.slice(0, n).filter((s) => s.op.op === 'KEXEC' && s.model.ok).length
  const after = at.op.op === 'KEXEC' || kexecs === 0 ? '' : kexecs === 1 ? ' after KEXEC' : ` after ${kexecs} KEXECs`
  const result =
    cx.property === 'conformance' && at.kernel !== undefined && resultToString(at.kernel) !== resultToString(at.model)
      ? `${outcomeText(at.kernel)} in the kernel where the model ${outcomeText(at.model)}`
      : outcomeText(at.model)
  return oneLine(`${p.phrase(at.op.op, args)}${after} ${result} at step ${n}: ${gloss} (${msg})`)
}
