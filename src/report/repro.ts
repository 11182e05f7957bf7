// repro.c: the counterexample as kselftest-shaped pseudo-C, one line per step, in the
// vocabulary of tools/testing/selftests/iommu/iommufd_utils.h (test_cmd_* / test_ioctl_* on
// success, test_err_*(ERRNO, ...) on failure) and of the liveupdate selftests (luo_* helpers
// that return an fd or -errno). Unlike the selftest macros, every call spells out the fd it
// acts on, so each line stands alone in a mail. Fds and object ids become variables named
// after what they hold (self->iommufd1, ioas1); the expected results are the model's.

import { hex, resultToString, type HwptAllocFlag, type Op, type Result, type Seal } from '../../models/ops.ts'
import { bundleName } from './bucket.ts'
import { divergingStep, resultsDiffer, SCENARIO_FILE, seedText, titleSentence } from './common.ts'
import type { Counterexample, CounterexampleStep } from './types.ts'

const SEAL_C: Record<Seal, string> = {
  SEAL: 'F_SEAL_SEAL',
  SHRINK: 'F_SEAL_SHRINK',
  GROW: 'F_SEAL_GROW',
  WRITE: 'F_SEAL_WRITE',
}
const FLAG_C: Record<HwptAllocFlag, string> = {
  NEST_PARENT: 'IOMMU_HWPT_ALLOC_NEST_PARENT',
  DIRTY_TRACKING: 'IOMMU_HWPT_ALLOC_DIRTY_TRACKING',
  PASID: 'IOMMU_HWPT_ALLOC_PASID',
}

/**
 * How a step's call reports its result:
 * test: iommufd_utils.h macro pair test_cmd_X / test_err_X (output through a pointer);
 * ret:  a helper returning an fd, 0 or -errno (luo_* style);
 * sys:  a syscall returning -1 and setting errno (EXPECT_ERRNO).
 */
interface Call {
  style: 'test' | 'ret' | 'sys'
  fn: string
  args: string[]
  /** the variable kind the output is bound to ('mfd', 'ioas', ...), fds are fixture fields */
  out?: { kind: string; fd: boolean; type?: string }
}

/** Names the trace's fds and object ids as it goes: the same walk as the model's state. */
class Names {
  private counters = new Map<string, number>()
  private fdVar = new Map<number, string>()
  private fdKind = new Map<number, string>()
  private objVar = new Map<string, string>()
  private cdevIommufd = new Map<number, number>()
  private tokenKind = new Map<bigint, string>()
  /** the luo device fd of this boot (the last LIVEUPDATE_OPEN) */
  luo: string | undefined
  readonly fixture: string[] = []
  readonly locals: { type: string; name: string }[] = []

  fresh(kind: string, fd: boolean, type = '__u32'): string {
    const n = (this.counters.get(kind) ?? 0) + 1
    this.counters.set(kind, n)
    const name = `${kind}${n}`
    if (fd) this.fixture.push(name)
    else this.locals.push({ type, name })
    return fd ? `self->${name}` : name
  }
  fd(n: number): string {
    return this.fdVar.get(n) ?? String(n)
  }
  bindFd(n: number, v: string, kind: string): void {
    this.fdVar.set(n, v)
    this.fdKind.set(n, kind)
  }
  obj(iommufd: number, id: number): string {
    return this.objVar.get(`${iommufd}:${id}`) ?? String(id)
  }
  bindObj(iommufd: number, id: number, v: string): void {
    this.objVar.set(`${iommufd}:${id}`, v)
  }
  dropObj(iommufd: number, id: number): void {
    this.objVar.delete(`${iommufd}:${id}`)
  }
  close(fd: number): void {
    this.fdVar.delete(fd)
    this.fdKind.delete(fd)
    this.cdevIommufd.delete(fd)
    for (const k of [...this.objVar.keys()]) if (k.startsWith(`${fd}:`)) this.objVar.delete(k)
  }
  /** A new kernel, a new process: fds and ids of the old one mean nothing. Tokens survive. */
  kexec(): void {
    this.fdVar.clear()
    this.fdKind.clear()
    this.objVar.clear()
    this.cdevIommufd.clear()
    this.luo = undefined
  }
  bound(cdev: number, iommufd: number): void {
    this.cdevIommufd.set(cdev, iommufd)
  }
  iommufdOf(cdev: number): number | undefined {
    return this.cdevIommufd.get(cdev)
  }
  preserve(fd: number, token: bigint): void {
    this.tokenKind.set(token, this.fdKind.get(fd) ?? 'fd')
  }
  kindOfToken(token: bigint): string {
    return this.tokenKind.get(token) ?? 'fd'
  }
}

const str = (s: string): string => JSON.stringify(s)
const token = (t: bigint): string => (t < 1n << 31n ? t.toString() : `${t}ULL`)
const outNum = (r: Result): number | undefined => (r.ok && r.out !== undefined ? Number(r.out) : undefined)

/** The call a step makes, with its arguments named. */
function callOf(o: Op, n: Names): Call {
  switch (o.op) {
    case 'MEMFD_CREATE':
      // fidelity (issue 8): allowSealing false = memfd_create(name, 0)
      return {
        style: 'ret',
        fn: o.args.allowSealing === false ? 'create_memfd_unsealable' : 'create_memfd',
        args: [hex(BigInt(o.args.pages) << 12n)],
        out: { kind: 'mfd', fd: true },
      }
    case 'MEMFD_SEAL':
      return {
        style: 'sys',
        fn: 'fcntl',
        args: [n.fd(o.args.fd), 'F_ADD_SEALS', o.args.seals.length ? o.args.seals.map((s) => SEAL_C[s]).join(' | ') : '0'],
      }
    case 'MEMFD_TRUNCATE':
      return { style: 'sys', fn: 'ftruncate', args: [n.fd(o.args.fd), hex(BigInt(o.args.pages) << 12n)] }
    case 'IOMMUFD_OPEN':
      return { style: 'sys', fn: 'open', args: [str('/dev/iommu'), 'O_RDWR'], out: { kind: 'iommufd', fd: true } }
    case 'IOMMU_IOAS_ALLOC':
      return { style: 'test', fn: 'test_ioctl_ioas_alloc', args: [n.fd(o.args.iommufd)], out: { kind: 'ioas', fd: false } }
    case 'IOMMU_IOAS_MAP_FILE': {
      const a = o.args
      const base = [n.fd(a.iommufd), n.obj(a.iommufd, a.ioas), n.fd(a.memfd), hex(a.start), hex(a.length)]
      return a.iova === undefined
        ? { style: 'test', fn: 'test_ioctl_ioas_map_file', args: base, out: { kind: 'iova', fd: false, type: '__u64' } }
        : { style: 'test', fn: 'test_ioctl_ioas_map_fixed_file', args: [...base, hex(a.iova)] }
    }
    case 'IOMMU_IOAS_MAP': {
      const a = o.args
      const base = [n.fd(a.iommufd), n.obj(a.iommufd, a.ioas), 'buffer', hex(a.length)]
      return a.iova === undefined
        ? { style: 'test', fn: 'test_ioctl_ioas_map', args: base, out: { kind: 'iova', fd: false, type: '__u64' } }
        : { style: 'test', fn: 'test_ioctl_ioas_map_fixed', args: [...base, hex(a.iova)] }
    }
    case 'IOMMU_IOAS_UNMAP': {
      const a = o.args
      return {
        style: 'test',
        fn: 'test_ioctl_ioas_unmap',
        args: [n.fd(a.iommufd), n.obj(a.iommufd, a.ioas), hex(a.iova), hex(a.length)],
      }
    }
    case 'IOMMU_HWPT_ALLOC': {
      const a = o.args
      const flags = a.flags?.length ? a.flags.map((f) => FLAG_C[f]).join(' | ') : '0'
      return {
        style: 'test',
        fn: 'test_cmd_hwpt_alloc',
        args: [n.fd(a.iommufd), n.obj(a.iommufd, a.dev_id), n.obj(a.iommufd, a.pt_id), flags],
        out: { kind: 'hwpt', fd: false },
      }
    }
    case 'IOMMU_DESTROY':
      return { style: 'test', fn: 'test_ioctl_destroy', args: [n.fd(o.args.iommufd), n.obj(o.args.iommufd, o.args.id)] }
    case 'IOMMU_HWPT_LU_SET_PRESERVE': {
      const a = o.args
      const fn = a.preserve === false ? 'test_cmd_hwpt_lu_unset_preserve' : 'test_cmd_hwpt_lu_set_preserve'
      return { style: 'test', fn, args: [n.fd(a.iommufd), n.obj(a.iommufd, a.hwpt_id), token(a.token)] }
    }
    case 'IOMMU_HWPT_LU_MARK_PRESERVE':
    case 'IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE': {
      // fidelity (issue 8): the newer names of the mark ioctl
      const a = o.args
      return { style: 'test', fn: 'test_cmd_hwpt_lu_mark_preserve', args: [n.fd(a.iommufd), n.obj(a.iommufd, a.hwpt_id), token(a.token)] }
    }
    case 'IOMMU_HWPT_LU_RESTORE':
      return {
        style: 'test',
        fn: 'test_cmd_hwpt_lu_restore',
        args: [n.fd(o.args.iommufd), token(o.args.token)],
        out: { kind: 'hwpt', fd: false },
      }
    case 'VFIO_CDEV_OPEN':
      return { style: 'ret', fn: 'vfio_cdev_open', args: [str(o.args.bdf)], out: { kind: 'cdev', fd: true } }
    case 'VFIO_DEVICE_BIND_IOMMUFD':
      return {
        style: 'test',
        fn: 'test_cmd_vfio_device_bind_iommufd',
        args: [n.fd(o.args.cdev), n.fd(o.args.iommufd)],
        out: { kind: 'dev_id', fd: false },
      }
    case 'VFIO_DEVICE_ATTACH_IOMMUFD_PT': {
      const a = o.args
      const ifd = n.iommufdOf(a.cdev)
      const pt = ifd === undefined ? String(a.pt_id) : n.obj(ifd, a.pt_id)
      return a.pasid === undefined
        ? { style: 'test', fn: 'test_cmd_vfio_device_attach_pt', args: [n.fd(a.cdev), pt] }
        : { style: 'test', fn: 'test_cmd_vfio_device_pasid_attach_pt', args: [n.fd(a.cdev), String(a.pasid), pt] }
    }
    case 'VFIO_DEVICE_DETACH_IOMMUFD_PT': {
      const a = o.args
      return a.pasid === undefined
        ? { style: 'test', fn: 'test_cmd_vfio_device_detach_pt', args: [n.fd(a.cdev)] }
        : { style: 'test', fn: 'test_cmd_vfio_device_pasid_detach_pt', args: [n.fd(a.cdev), String(a.pasid)] }
    }
    case 'VFIO_DEVICE_SET_IRQS':
      return { style: 'test', fn: 'test_cmd_vfio_device_set_irqs', args: [n.fd(o.args.cdev), String(o.args.enabled)] }
    case 'DRIVER_BIND':
      return { style: 'ret', fn: 'driver_bind', args: [str(o.args.bdf), str(o.args.driver)] }
    case 'LIVEUPDATE_OPEN':
      return { style: 'ret', fn: 'luo_open_device', args: [], out: { kind: 'luo', fd: true } }
    case 'LIVEUPDATE_IOCTL_CREATE_SESSION':
      return { style: 'ret', fn: 'luo_create_session', args: [luoFd(n), str(o.args.name)], out: { kind: 'session', fd: true } }
    case 'LIVEUPDATE_SESSION_PRESERVE_FD':
      return {
        style: 'ret',
        fn: 'luo_session_preserve_fd',
        args: [n.fd(o.args.session), n.fd(o.args.fd), token(o.args.token)],
      }
    case 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION':
      return { style: 'ret', fn: 'luo_retrieve_session', args: [luoFd(n), str(o.args.name)], out: { kind: 'session', fd: true } }
    case 'LIVEUPDATE_SESSION_RETRIEVE_FD':
      return {
        style: 'ret',
        fn: 'luo_session_retrieve_fd',
        args: [n.fd(o.args.session), token(o.args.token)],
        out: { kind: n.kindOfToken(o.args.token), fd: true },
      }
    case 'LIVEUPDATE_SESSION_FINISH':
      return { style: 'ret', fn: 'luo_session_finish', args: [n.fd(o.args.session)] }
    case 'LIVEUPDATE_SESSION_GET_NAME':
      // fidelity (issue 8)
      return { style: 'ret', fn: 'luo_session_get_name', args: [n.fd(o.args.session), String(o.args.reserved ?? 0)] }
    case 'CLOSE':
      return { style: 'sys', fn: 'close', args: [n.fd(o.args.fd)] }
    case 'KEXEC':
    case 'DMA':
      throw new Error(`luv internal error: ${o.op} has no call form`)
  }
}

const luoFd = (n: Names): string => n.luo ?? '-1 /* no LIVEUPDATE_OPEN */'

function statement(c: Call, r: Result, outVar: string | undefined): string {
  const call = (args: string[]) => `${c.fn}(${args.join(', ')})`
  if ('fault' in r) return `${call(c.args)}; /* model: fault (${r.fault}) */`
  const errno = 'errno' in r ? r.errno : undefined
  switch (c.style) {
    case 'test': {
      if (errno === undefined) return `${call(outVar ? [...c.args, `&${outVar}`] : c.args)};`
      const name = c.fn.startsWith('test_ioctl_') ? c.fn.replace('test_ioctl_', 'test_err_ioctl_') : c.fn.replace('test_cmd_', 'test_err_')
      return `${name}(${[errno, ...c.args, ...(c.out ? ['NULL'] : [])].join(', ')});`
    }
    case 'ret':
      if (errno !== undefined) return `ASSERT_EQ(-${errno}, ${call(c.args)});`
      return outVar ? `ASSERT_LE(0, ${outVar} = ${call(c.args)});` : `ASSERT_EQ(0, ${call(c.args)});`
    case 'sys':
      if (errno !== undefined) return `EXPECT_ERRNO(${errno}, ${call(c.args)});`
      return outVar ? `ASSERT_LE(0, ${outVar} = ${call(c.args)});` : `ASSERT_EQ(0, ${call(c.args)});`
  }
}

/** One step as one line of C (without indent), updating the names for later steps. */
function stepLine(s: CounterexampleStep, n: Names): string {
  const o = s.op
  const r = s.model
  if (o.op === 'KEXEC') {
    if (!r.ok) return `/* kexec: ${resultToString(r)}, the test stays in this kernel */`
    n.kexec()
    return '/* ---- kexec: the test continues in the next kernel ---- */'
  }
  if (o.op === 'DMA') {
    const a = o.args
    const rw = a.write ? 'write' : 'read'
    const call =
      a.pasid === undefined
        ? `device_dma_${rw}(${str(a.bdf)}, ${hex(a.iova)})`
        : `device_dma_${rw}_pasid(${str(a.bdf)}, ${a.pasid}, ${hex(a.iova)})`
    if ('fault' in r) return `ASSERT_EQ(DMA_FAULT, ${call});`
    if ('errno' in r) return `ASSERT_EQ(-${r.errno}, ${call});`
    return r.out === undefined ? `${call};` : `ASSERT_EQ(${hex(r.out)}, ${call});`
  }
  const c = callOf(o, n)
  const out = outNum(r)
  let outVar: string | undefined
  if (c.out && r.ok) outVar = n.fresh(c.out.kind, c.out.fd, c.out.type)
  const line = statement(c, r, outVar)
  // bind what the step created, as the model says it did
  if (r.ok) {
    switch (o.op) {
      case 'MEMFD_CREATE':
      case 'IOMMUFD_OPEN':
      case 'VFIO_CDEV_OPEN':
      case 'LIVEUPDATE_IOCTL_CREATE_SESSION':
      case 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION':
      case 'LIVEUPDATE_SESSION_RETRIEVE_FD':
        if (out !== undefined && outVar) n.bindFd(out, outVar, c.out!.kind)
        break
      case 'LIVEUPDATE_OPEN':
        if (out !== undefined && outVar) n.bindFd(out, outVar, 'luo')
        n.luo = outVar
        break
      case 'IOMMU_IOAS_ALLOC':
      case 'IOMMU_HWPT_ALLOC':
      case 'IOMMU_HWPT_LU_RESTORE':
        if (out !== undefined && outVar) n.bindObj(o.args.iommufd, out, outVar)
        break
      case 'VFIO_DEVICE_BIND_IOMMUFD':
        n.bound(o.args.cdev, o.args.iommufd)
        if (out !== undefined && outVar) n.bindObj(o.args.iommufd, out, outVar)
        break
      case 'IOMMU_DESTROY':
        n.dropObj(o.args.iommufd, o.args.id)
        break
      case 'LIVEUPDATE_SESSION_PRESERVE_FD':
        n.preserve(o.args.fd, o.args.token)
        break
      case 'CLOSE':
        n.close(o.args.fd)
        break
      default:
        break
    }
  }
  return line
}

const cIdent = (s: string): string => s.replace(/[^A-Za-z0-9_]/g, '_')

/** Declarations as C lines of at most ~72 columns: `int a, b, c;`. */
function declare(type: string, names: string[], indent: string): string[] {
  const lines: string[] = []
  let cur: string[] = []
  const flush = () => {
    if (cur.length) lines.push(`${indent}${type} ${cur.join(', ')};`)
    cur = []
  }
  for (const nm of names) {
    if (cur.length && `${indent}${type} ${[...cur, nm].join(', ')};`.length > 72) flush()
    cur.push(nm)
  }
  flush()
  return lines
}

/** Wrap a comment's prose at 72 columns after " * ". */
function commentLines(text: string, width = 72): string[] {
  const out: string[] = []
  let line = ''
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (line && ` * ${line} ${w}`.length > width) {
      out.push(` * ${line}`)
      line = w
    } else line = line ? `${line} ${w}` : w
  }
  if (line) out.push(` * ${line}`)
  return out
}

/** repro.c. */
export function renderRepro(cx: Counterexample, opts: { bundleDir?: string } = {}): string {
  const dir = opts.bundleDir ?? '<bundle-dir>'
  const div = divergingStep(cx)
  const names = new Names()
  const body: string[] = []
  for (const s of cx.steps) {
    let line = stepLine(s, names)
    if (s.index === div.index || resultsDiffer(s)) {
      const what =
        s.kernel !== undefined
          ? `model=${resultToString(s.model)} kernel=${resultToString(s.kernel)}`
          : `model=${resultToString(s.model)}, ${cx.property} violated`
      line += ` /* step ${s.index}: ${what} */`
    }
    body.push(`\t${line}`)
  }

  const seed = cx.seed === undefined ? 'none' : seedText(cx.seed) + (cx.path === undefined ? '' : `, path ${cx.path}`)
  const header = [
    '// SPDX-License-Identifier: GPL-2.0-only',
    '/*',
    ` * generated by luv ${cx.versions.luv}, the Live Update Verifier`,
    ' * pseudo-C: may need adaptation',
    ' *',
    ` * property: ${cx.property}`,
    ` * design:   ${cx.designLabel}`,
    ` * seed:     ${seed}`,
    ...(cx.defect === undefined ? [] : [` * defect:   ${cx.defect}`]),
    ` * replay:   npx luv run ${dir}/${SCENARIO_FILE} --impl both${cx.defect ? ` --defect ${cx.defect}` : ''}`,
    ' *',
    ...commentLines(
      'One line per step, expecting what the reference model returns: test_cmd_*, test_ioctl_* and ' +
        'ASSERT_EQ(0, ...) expect success, test_err_*(E, ...), ASSERT_EQ(-E, ...) and EXPECT_ERRNO(E, ...) ' +
        'expect errno E. Unlike the iommufd_utils.h macros, these take the iommufd (or cdev) fd as their ' +
        'first argument. create_memfd(), vfio_cdev_open() and driver_bind() return an fd, 0 or -errno. ' +
        'device_dma_read(bdf, iova) stands for one DMA by the device (a read; device_dma_write() a ' +
        'write) and returns the PA it reached, or DMA_FAULT. A kexec line marks the reboot: the steps ' +
        'after it run in the next kernel, in a new process.',
    ),
    ' */',
    '#include "../kselftest_harness.h"',
    '#include "../iommu/iommufd_utils.h"',
    '#include "../liveupdate/luo_test_utils.h"',
    '',
  ]
  const fixture = ['FIXTURE(luv)', '{', ...declare('int', names.fixture, '\t'), '};', '']
  const setup = ['FIXTURE_SETUP(luv)', '{', '}', '', 'FIXTURE_TEARDOWN(luv)', '{', '}', '']
  const types = [...new Set(names.locals.map((l) => l.type))]
  const locals = types.flatMap((t) =>
    declare(
      t,
      names.locals.filter((l) => l.type === t).map((l) => l.name),
      '\t',
    ),
  )
  const test = [
    '/*',
    ...commentLines(`Test Case: ${titleSentence(cx)}`),
    ' *',
    ...commentLines(`Step ${div.index}: ${cx.message}`),
    ' */',
    `TEST_F(luv, ${cIdent(cx.property)}_${bundleName(cx)})`,
    '{',
    ...locals,
    ...(locals.length ? [''] : []),
    ...body,
    '}',
    '',
    'TEST_HARNESS_MAIN',
  ]
  return [...header, ...fixture, ...setup, ...test].join('\n') + '\n'
}
