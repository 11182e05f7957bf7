// repro.c: the counterexample as a kselftest a kernel developer drops into
// tools/testing/selftests/liveupdate/ (or iommu/) and builds with its Makefile. It uses the
// kernel's own harness (kselftest_harness.h: TEST, ASSERT_EQ, SKIP) and raw ioctls on the
// uapi structs of the profile's series version (series.ts), through small helpers defined
// in the file that return 0, an fd, or -errno, so every step is one ASSERT_EQ of the result
// the model (the spec) gives. The last step is the observable check: it fails on a kernel
// with the bug and passes on one without.
//
// A KEXEC splits the test into stages, as the upstream live-update selftests do
// (tools/testing/selftests/liveupdate/luo_test_utils.c, luo_test()): before the reboot the
// test records the next stage in a memfd preserved in a state session and forks a holder
// that keeps every session fd open (a session closes, and unpreserves, when its last fd
// does); after the reboot the same test retrieves the state session and runs the next stage.
// A DMA step needs a device that does DMA on command (the vfio selftest library's driver
// memcpy): the file marks it and SKIPs there.

import { hex, resultToString, type HwptAllocFlag, type Op, type Result, type Seal } from '../../models/ops.ts'
import { failNthOf } from '../../models/fault.ts'
import { bundleName } from './bucket.ts'
import { divergingStep, observingStep, outcome, resultsDiffer, SCENARIO_FILE, titleSentence } from './common.ts'
import { seriesOf, type SeriesUapi } from './series.ts'
import type { Counterexample, CounterexampleStep } from './types.ts'

const SEAL_C: Record<Seal, string> = { SEAL: 'F_SEAL_SEAL', SHRINK: 'F_SEAL_SHRINK', GROW: 'F_SEAL_GROW', WRITE: 'F_SEAL_WRITE' }
const FLAG_C: Record<HwptAllocFlag, string> = {
  NEST_PARENT: 'IOMMU_HWPT_ALLOC_NEST_PARENT',
  DIRTY_TRACKING: 'IOMMU_HWPT_ALLOC_DIRTY_TRACKING',
  PASID: 'IOMMU_HWPT_ALLOC_PASID',
}

/** The helpers a reproducer may call, each a C function over the uapi structs. */
function helpers(s: SeriesUapi): Record<string, string> {
  const markBody = s.mark.preserveField
    ? `\tstruct ${s.mark.struct} cmd = {\n\t\t.size = sizeof(cmd),\n\t\t.hwpt_id = hwpt_id,\n\t\t.hwpt_token = token,\n\t\t.preserve = preserve,\n\t};\n`
    : `\tstruct ${s.mark.struct} cmd = {\n\t\t.size = sizeof(cmd),\n\t\t.hwpt_id = hwpt_id,\n\t\t.hwpt_token = token,\n\t};\n`
  const markSig = s.mark.preserveField
    ? `static int hwpt_mark(int iommufd, __u32 hwpt_id, __u${s.mark.tokenBits} token, __u32 preserve)`
    : `static int hwpt_mark(int iommufd, __u32 hwpt_id, __u${s.mark.tokenBits} token)`
  const ret = (call: string) => `\tif (${call})\n\t\treturn -errno;\n`
  return {
    sys_ret: `/* a syscall's result as 0 / fd or -errno */\nstatic int sys_ret(int ret)\n{\n\treturn ret < 0 ? -errno : ret;\n}\n`,
    memfd: `static int memfd(size_t pages, unsigned int flags)\n{\n\tint fd = memfd_create("luv", flags);\n\n\tif (fd < 0)\n\t\treturn -errno;\n\tif (ftruncate(fd, pages * PAGE_SIZE))\n\t\treturn -errno;\n\treturn fd;\n}\n`,
    ioas_alloc: `static int ioas_alloc(int iommufd, __u32 *ioas_id)\n{\n\tstruct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };\n\n${ret('ioctl(iommufd, IOMMU_IOAS_ALLOC, &cmd)')}\t*ioas_id = cmd.out_ioas_id;\n\treturn 0;\n}\n`,
    ioas_map_file: `static int ioas_map_file(int iommufd, __u32 ioas_id, int memfd, __u64 start,\n\t\t\t __u64 length, __u64 *iova, int fixed)\n{\n\tstruct iommu_ioas_map_file cmd = {\n\t\t.size = sizeof(cmd),\n\t\t.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |\n\t\t\t (fixed ? IOMMU_IOAS_MAP_FIXED_IOVA : 0),\n\t\t.ioas_id = ioas_id,\n\t\t.fd = memfd,\n\t\t.start = start,\n\t\t.length = length,\n\t\t.iova = *iova,\n\t};\n\n${ret('ioctl(iommufd, IOMMU_IOAS_MAP_FILE, &cmd)')}\t*iova = cmd.iova;\n\treturn 0;\n}\n`,
    ioas_map: `/* anonymous memory: IOMMU_IOAS_MAP of a fresh buffer */\nstatic int ioas_map(int iommufd, __u32 ioas_id, __u64 length, __u64 *iova, int fixed)\n{\n\tvoid *buf = mmap(NULL, length, PROT_READ | PROT_WRITE,\n\t\t\t MAP_SHARED | MAP_ANONYMOUS, -1, 0);\n\tstruct iommu_ioas_map cmd = {\n\t\t.size = sizeof(cmd),\n\t\t.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |\n\t\t\t (fixed ? IOMMU_IOAS_MAP_FIXED_IOVA : 0),\n\t\t.ioas_id = ioas_id,\n\t\t.user_va = (uintptr_t)buf,\n\t\t.length = length,\n\t\t.iova = *iova,\n\t};\n\n\tif (buf == MAP_FAILED)\n\t\treturn -errno;\n${ret('ioctl(iommufd, IOMMU_IOAS_MAP, &cmd)')}\t*iova = cmd.iova;\n\treturn 0;\n}\n`,
    ioas_unmap: `static int ioas_unmap(int iommufd, __u32 ioas_id, __u64 iova, __u64 length,\n\t\t      __u64 *unmapped)\n{\n\tstruct iommu_ioas_unmap cmd = {\n\t\t.size = sizeof(cmd),\n\t\t.ioas_id = ioas_id,\n\t\t.iova = iova,\n\t\t.length = length,\n\t};\n\n${ret('ioctl(iommufd, IOMMU_IOAS_UNMAP, &cmd)')}\t*unmapped = cmd.length;\n\treturn 0;\n}\n`,
    hwpt_alloc: `static int hwpt_alloc(int iommufd, __u32 dev_id, __u32 pt_id, __u32 flags,\n\t\t      __u32 *hwpt_id)\n{\n\tstruct iommu_hwpt_alloc cmd = {\n\t\t.size = sizeof(cmd),\n\t\t.flags = flags,\n\t\t.dev_id = dev_id,\n\t\t.pt_id = pt_id,\n\t};\n\n${ret('ioctl(iommufd, IOMMU_HWPT_ALLOC, &cmd)')}\t*hwpt_id = cmd.out_hwpt_id;\n\treturn 0;\n}\n`,
    destroy: `static int destroy(int iommufd, __u32 id)\n{\n\tstruct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };\n\n${ret('ioctl(iommufd, IOMMU_DESTROY, &cmd)')}\treturn 0;\n}\n`,
    hwpt_mark: `/* ${s.mark.ioctl} (${s.title}) */\n${markSig}\n{\n${markBody}\n${ret(`ioctl(iommufd, ${s.mark.ioctl}, &cmd)`)}\treturn 0;\n}\n`,
    hwpt_restore: `static int hwpt_restore(int iommufd, __u64 token, __u32 *hwpt_id)\n{\n\tstruct iommu_hwpt_lu_restore cmd = {\n\t\t.size = sizeof(cmd),\n\t\t.hwpt_token = token,\n\t};\n\n${ret('ioctl(iommufd, IOMMU_HWPT_LU_RESTORE, &cmd)')}\t*hwpt_id = cmd.out_hwpt_id;\n\treturn 0;\n}\n`,
    cdev_open: `/* the device's VFIO cdev: /dev/vfio/devices/vfioN, N from sysfs */\nstatic int cdev_open(const char *bdf)\n{\n\tchar path[PATH_MAX];\n\tstruct dirent *e;\n\tDIR *d;\n\tint fd = -ENOENT;\n\n\tsnprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);\n\td = opendir(path);\n\tif (!d)\n\t\treturn -errno;\n\twhile ((e = readdir(d)))\n\t\tif (!strncmp(e->d_name, "vfio", 4)) {\n\t\t\tsnprintf(path, sizeof(path), "/dev/vfio/devices/%s", e->d_name);\n\t\t\tfd = open(path, O_RDWR);\n\t\t\tif (fd < 0)\n\t\t\t\tfd = -errno;\n\t\t\tbreak;\n\t\t}\n\tclosedir(d);\n\treturn fd;\n}\n`,
    bind: `static int bind_iommufd(int cdev, int iommufd, __u32 *dev_id)\n{\n\tstruct vfio_device_bind_iommufd cmd = {\n\t\t.argsz = sizeof(cmd),\n\t\t.iommufd = iommufd,\n\t};\n\n${ret('ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &cmd)')}\t*dev_id = cmd.out_devid;\n\treturn 0;\n}\n`,
    attach: `/* attach (or replace); out_pt_id: the HWPT attached (an IOAS gets an auto domain) */\nstatic int attach_pt(int cdev, __u32 pt_id, __u32 *out_pt_id)\n{\n\tstruct vfio_device_attach_iommufd_pt cmd = {\n\t\t.argsz = sizeof(cmd),\n\t\t.pt_id = pt_id,\n\t};\n\n${ret('ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd)')}\t*out_pt_id = cmd.pt_id;\n\treturn 0;\n}\n`,
    attach_pasid: `/* VFIO_DEVICE_ATTACH_PASID: the v6.14 layout of vfio_device_attach_iommufd_pt */\n#ifndef VFIO_DEVICE_ATTACH_PASID\n#define VFIO_DEVICE_ATTACH_PASID (1 << 0)\n#endif\nstatic int attach_pt_pasid(int cdev, __u32 pasid, __u32 pt_id)\n{\n\tstruct { __u32 argsz, flags, pt_id, pasid; } cmd = {\n\t\t.argsz = sizeof(cmd),\n\t\t.flags = VFIO_DEVICE_ATTACH_PASID,\n\t\t.pt_id = pt_id,\n\t\t.pasid = pasid,\n\t};\n\n${ret('ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd)')}\treturn 0;\n}\n`,
    detach: `static int detach_pt(int cdev)\n{\n\tstruct vfio_device_detach_iommufd_pt cmd = { .argsz = sizeof(cmd) };\n\n${ret('ioctl(cdev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &cmd)')}\treturn 0;\n}\n`,
    detach_pasid: `#ifndef VFIO_DEVICE_DETACH_PASID\n#define VFIO_DEVICE_DETACH_PASID (1 << 0)\n#endif\nstatic int detach_pt_pasid(int cdev, __u32 pasid)\n{\n\tstruct { __u32 argsz, flags, pasid; } cmd = {\n\t\t.argsz = sizeof(cmd),\n\t\t.flags = VFIO_DEVICE_DETACH_PASID,\n\t\t.pasid = pasid,\n\t};\n\n${ret('ioctl(cdev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &cmd)')}\treturn 0;\n}\n`,
    set_irqs: `/* enable MSI-X vector 0 on an eventfd, or disable it (freeze fails while enabled) */\nstatic int set_irqs(int cdev, int enable)\n{\n\tstruct {\n\t\tstruct vfio_irq_set set;\n\t\t__s32 fd;\n\t} cmd = {\n\t\t.set.argsz = sizeof(cmd),\n\t\t.set.index = VFIO_PCI_MSIX_IRQ_INDEX,\n\t\t.set.count = enable ? 1 : 0,\n\t\t.set.flags = VFIO_IRQ_SET_ACTION_TRIGGER |\n\t\t\t     (enable ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE),\n\t\t.fd = enable ? eventfd(0, 0) : -1,\n\t};\n\n${ret('ioctl(cdev, VFIO_DEVICE_SET_IRQS, &cmd)')}\treturn 0;\n}\n`,
    driver_bind: `/* a kernel driver probing the device: driver_override, then bind */\nstatic int driver_bind(const char *bdf, const char *driver)\n{\n\tchar path[PATH_MAX];\n\tint fd;\n\n\tsnprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);\n\tfd = open(path, O_WRONLY);\n\tif (fd < 0 || write(fd, driver, strlen(driver)) < 0)\n\t\treturn -errno;\n\tclose(fd);\n\tsnprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);\n\tfd = open(path, O_WRONLY);\n\tif (fd < 0)\n\t\treturn -errno;\n\tif (write(fd, bdf, strlen(bdf)) < 0) {\n\t\tclose(fd);\n\t\treturn -errno;\n\t}\n\tclose(fd);\n\treturn 0;\n}\n`,
    create_session: `static int create_session(int luo_fd, const char *name)\n{\n\tstruct liveupdate_ioctl_create_session cmd = { .size = sizeof(cmd) };\n\n\tsnprintf((char *)cmd.name, sizeof(cmd.name), "%s", name);\n${ret('ioctl(luo_fd, LIVEUPDATE_IOCTL_CREATE_SESSION, &cmd)')}\treturn cmd.fd;\n}\n`,
    retrieve_session: `static int retrieve_session(int luo_fd, const char *name)\n{\n\tstruct liveupdate_ioctl_retrieve_session cmd = { .size = sizeof(cmd) };\n\n\tsnprintf((char *)cmd.name, sizeof(cmd.name), "%s", name);\n${ret('ioctl(luo_fd, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, &cmd)')}\treturn cmd.fd;\n}\n`,
    preserve_fd: `static int preserve_fd(int session, int fd, __u64 token)\n{\n\tstruct liveupdate_session_preserve_fd cmd = {\n\t\t.size = sizeof(cmd),\n\t\t.fd = fd,\n\t\t.token = token,\n\t};\n\n${ret('ioctl(session, LIVEUPDATE_SESSION_PRESERVE_FD, &cmd)')}\treturn 0;\n}\n`,
    retrieve_fd: `static int retrieve_fd(int session, __u64 token)\n{\n\tstruct liveupdate_session_retrieve_fd cmd = {\n\t\t.size = sizeof(cmd),\n\t\t.token = token,\n\t};\n\n${ret('ioctl(session, LIVEUPDATE_SESSION_RETRIEVE_FD, &cmd)')}\treturn cmd.fd;\n}\n`,
    get_name: `/* LIVEUPDATE_SESSION_GET_NAME: the name is checked by the caller */\nstatic int session_get_name(int session, __u32 reserved, char *name, size_t len)\n{\n\tstruct liveupdate_session_get_name cmd = {\n\t\t.size = sizeof(cmd),\n\t\t.reserved = reserved,\n\t};\n\n${ret('ioctl(session, LIVEUPDATE_SESSION_GET_NAME, &cmd)')}\tsnprintf(name, len, "%s", (char *)cmd.name);\n\treturn 0;\n}\n`,
    finish: `static int finish(int session)\n{\n\tstruct liveupdate_session_finish cmd = { .size = sizeof(cmd) };\n\n${ret('ioctl(session, LIVEUPDATE_SESSION_FINISH, &cmd)')}\treturn 0;\n}\n`,
    stages: STAGES,
    // issue 13: last, so a reproducer without a faulted step lists its helpers as before
    fail_nth: `/* fail-nth as iommufd_fail_nth.c drives it: n > 0 fails this task's n-th fault-injectable\n * allocation from now on (CONFIG_FAULT_INJECTION, CONFIG_FAULT_INJECTION_DEBUG_FS), 0 disarms.\n * 0 or -errno. */\nstatic int fail_nth(unsigned int n)\n{\n\tstatic int fd = -1;\n\tchar buf[32];\n\tint len;\n\n\tif (fd < 0) {\n\t\tsnprintf(buf, sizeof(buf), "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));\n\t\tfd = open(buf, O_RDWR);\n\t\tif (fd < 0)\n\t\t\treturn -errno;\n\t}\n\tlen = snprintf(buf, sizeof(buf), "%u", n);\n\tif (pwrite(fd, buf, len, 0) != len)\n\t\treturn -errno;\n\treturn 0;\n}\n`,
  }
}

/** The luo_test() stage machinery, inside one harness TEST. */
const STAGES = `/*
 * Stages across kexec, as luo_test() does (tools/testing/selftests/liveupdate/
 * luo_test_utils.c): the stage to run next is kept in a memfd preserved in the
 * state session; no state session means stage 1.
 */
#define STATE_SESSION "luv-repro-state"
#define STATE_TOKEN 0x6c7576ULL

static int stage_of(struct __test_metadata *_metadata, int luo_fd)
{
	char buf[16] = { 0 };
	int session, mfd;

	session = retrieve_session(luo_fd, STATE_SESSION);
	if (session == -ENOENT)
		return 1;
	ASSERT_LE(0, session);
	mfd = retrieve_fd(session, STATE_TOKEN);
	ASSERT_LE(0, mfd);
	ASSERT_LT(0, pread(mfd, buf, sizeof(buf) - 1, 0));
	close(mfd);
	ASSERT_EQ(0, finish(session));
	close(session);
	return atoi(buf);
}

/*
 * End this stage: record the next one, then leave a holder process with every fd
 * open (closing a session unpreserves it) and end the test. Reboot with kexec now
 * (kexec -l <kernel> --reuse-cmdline && kexec -e), then run this test again.
 */
static void next_stage(struct __test_metadata *_metadata, int luo_fd, int stage)
{
	char buf[16];
	int session, mfd;
	pid_t pid;

	session = create_session(luo_fd, STATE_SESSION);
	ASSERT_LE(0, session);
	mfd = memfd_create("luv-state", 0);
	ASSERT_LE(0, mfd);
	snprintf(buf, sizeof(buf), "%d", stage);
	ASSERT_EQ((ssize_t)strlen(buf), pwrite(mfd, buf, strlen(buf), 0));
	ASSERT_EQ(0, preserve_fd(session, mfd, STATE_TOKEN));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		setsid();
		for (;;)
			pause();
	}
	TH_LOG("stage %d is set up: kexec into the next kernel, then run again", stage - 1);
}
`

/** How a step reads in C, and which helpers it needs. */
interface CStep {
  lines: string[]
  uses: string[]
}

/** Names the trace's fds and object ids as it goes, per boot. */
class Names {
  private counters = new Map<string, number>()
  private fdVar = new Map<number, string>()
  private objVar = new Map<string, string>()
  private cdevIommufd = new Map<number, number>()
  readonly vars: { type: string; name: string }[] = []
  /** a new variable; `suffix` declares an array (`[64]`) */
  fresh(kind: string, type: string, suffix = ''): string {
    const n = (this.counters.get(kind) ?? 0) + 1
    this.counters.set(kind, n)
    const name = `${kind}${n}`
    this.vars.push({ type, name: name + suffix })
    return name
  }
  fd(n: number): string {
    return this.fdVar.get(n) ?? `${n} /* no fd ${n} in this boot */`
  }
  bindFd(n: number, v: string): void {
    this.fdVar.set(n, v)
  }
  obj(iommufd: number, id: number): string {
    return this.objVar.get(`${iommufd}:${id}`) ?? String(id)
  }
  bindObj(iommufd: number, id: number, v: string): void {
    this.objVar.set(`${iommufd}:${id}`, v)
  }
  close(fd: number): void {
    this.fdVar.delete(fd)
    for (const k of [...this.objVar.keys()]) if (k.startsWith(`${fd}:`)) this.objVar.delete(k)
  }
  kexec(): void {
    this.fdVar.clear()
    this.objVar.clear()
    this.cdevIommufd.clear()
  }
  bound(cdev: number, iommufd: number): void {
    this.cdevIommufd.set(cdev, iommufd)
  }
  iommufdOf(cdev: number): number | undefined {
    return this.cdevIommufd.get(cdev)
  }
  private tokenKind = new Map<bigint, string>()
  preserved(fd: number, token: bigint): void {
    const v = this.fdVar.get(fd)
    if (v) this.tokenKind.set(token, v.replace(/[0-9]+$/, ''))
  }
  kindOfToken(token: bigint): string {
    return this.tokenKind.get(token) ?? 'fd'
  }
  /** an object id named through the iommufd a cdev is bound to */
  ptOf(cdev: number, id: number): string {
    const ifd = this.cdevIommufd.get(cdev)
    return ifd === undefined ? String(id) : this.obj(ifd, id)
  }
}

const str = (s: string): string => JSON.stringify(s)
const u64 = (v: bigint): string => (v < 1n << 31n ? (v < 10n ? v.toString() : hex(v)) : `${hex(v)}ULL`)
const outNum = (r: Result): number | undefined => (r.ok && r.out !== undefined ? Number(r.out) : undefined)
/** The value a helper returns for the model's result: 0 (or an fd: "fd"), or -ERRNO. */
const expected = (r: Result): string | undefined => ('errno' in r ? `-${r.errno}` : r.ok ? '0' : undefined)

function stepC(s: CounterexampleStep, n: Names, series: SeriesUapi, luo: { fd: string; reused: boolean }, dma: { needed: boolean; skipped: boolean }): CStep {
  const o = s.op
  const r = s.model
  const e = expected(r)
  const eq = (call: string): string => `ASSERT_EQ(${e}, ${call});`
  // an fd-returning call: on success bind it, else assert the errno
  const fdCall = (call: string, kind: string, uses: string[]): CStep => {
    const out = outNum(r)
    if (r.ok && out !== undefined) {
      const v = n.fresh(kind, 'int')
      n.bindFd(out, v)
      return { lines: [`${v} = ${call};`, `ASSERT_LE(0, ${v});`], uses }
    }
    return { lines: [eq(call)], uses }
  }
  const objCall = (call: (out: string) => string, iommufd: number, kind: string, uses: string[], type = '__u32'): CStep => {
    const out = outNum(r)
    const v = n.fresh(kind, type)
    if (r.ok && out !== undefined) n.bindObj(iommufd, out, v)
    return { lines: [eq(call(`&${v}`))], uses }
  }
  switch (o.op) {
    case 'MEMFD_CREATE':
      // allowSealing false = memfd_create(name, 0): the memfd starts with F_SEAL_SEAL
      return fdCall(`memfd(${o.args.pages}, ${o.args.allowSealing === false ? '0' : 'MFD_ALLOW_SEALING'})`, 'mfd', ['memfd'])
    case 'MEMFD_SEAL': {
      const seals = o.args.seals.length ? o.args.seals.map((x) => SEAL_C[x]).join(' | ') : '0'
      return { lines: [eq(`sys_ret(fcntl(${n.fd(o.args.fd)}, F_ADD_SEALS, ${seals}))`)], uses: ['sys_ret'] }
    }
    case 'MEMFD_TRUNCATE':
      return { lines: [eq(`sys_ret(ftruncate(${n.fd(o.args.fd)}, ${o.args.pages} * PAGE_SIZE))`)], uses: ['sys_ret'] }
    case 'IOMMUFD_OPEN':
      return fdCall('sys_ret(open("/dev/iommu", O_RDWR))', 'iommufd', ['sys_ret'])
    case 'IOMMU_IOAS_ALLOC':
      return objCall((p) => `ioas_alloc(${n.fd(o.args.iommufd)}, ${p})`, o.args.iommufd, 'ioas', ['ioas_alloc'])
    case 'IOMMU_IOAS_MAP_FILE':
    case 'IOMMU_IOAS_MAP': {
      const a = o.args
      const v = n.fresh('iova', '__u64')
      const call =
        o.op === 'IOMMU_IOAS_MAP_FILE'
          ? `ioas_map_file(${n.fd(a.iommufd)}, ${n.obj(a.iommufd, a.ioas)}, ${n.fd(o.args.memfd)}, ${u64(o.args.start)}, ${u64(a.length)}, &${v}, ${a.iova === undefined ? 0 : 1})`
          : `ioas_map(${n.fd(a.iommufd)}, ${n.obj(a.iommufd, a.ioas)}, ${u64(a.length)}, &${v}, ${a.iova === undefined ? 0 : 1})`
      const lines = [`${v} = ${a.iova === undefined ? 0 : u64(a.iova)};`, eq(call)]
      if (r.ok && r.out !== undefined) lines.push(`ASSERT_EQ(${hex(BigInt(r.out))}ULL, ${v});`)
      return { lines, uses: [o.op === 'IOMMU_IOAS_MAP_FILE' ? 'ioas_map_file' : 'ioas_map'] }
    }
    case 'IOMMU_IOAS_UNMAP': {
      const a = o.args
      const v = n.fresh('unmapped', '__u64')
      const lines = [eq(`ioas_unmap(${n.fd(a.iommufd)}, ${n.obj(a.iommufd, a.ioas)}, ${u64(a.iova)}, ${u64(a.length)}, &${v})`)]
      if (r.ok && r.out !== undefined) lines.push(`ASSERT_EQ(${hex(BigInt(r.out))}ULL, ${v});`)
      return { lines, uses: ['ioas_unmap'] }
    }
    case 'IOMMU_HWPT_ALLOC': {
      const a = o.args
      const flags = a.flags?.length ? a.flags.map((f) => FLAG_C[f]).join(' | ') : '0'
      return objCall((p) => `hwpt_alloc(${n.fd(a.iommufd)}, ${n.obj(a.iommufd, a.dev_id)}, ${n.obj(a.iommufd, a.pt_id)}, ${flags}, ${p})`, a.iommufd, 'hwpt', ['hwpt_alloc'])
    }
    case 'IOMMU_DESTROY':
      return { lines: [eq(`destroy(${n.fd(o.args.iommufd)}, ${n.obj(o.args.iommufd, o.args.id)})`)], uses: ['destroy'] }
    case 'IOMMU_HWPT_LU_SET_PRESERVE':
    case 'IOMMU_HWPT_LU_MARK_PRESERVE':
    case 'IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE': {
      // every name of the mark ioctl renders as the one this series version has
      const a = o.args
      const args = [n.fd(a.iommufd), n.obj(a.iommufd, a.hwpt_id), u64(a.token)]
      if (series.mark.preserveField) args.push('preserve' in a && a.preserve === false ? '0' : '1')
      const lines = [eq(`hwpt_mark(${args.join(', ')})`)]
      if (series.mark.tokenBits === 32 && a.token >= 1n << 32n) lines.unshift(`/* the token does not fit the u32 hwpt_token of this uapi */`)
      return { lines, uses: ['hwpt_mark'] }
    }
    case 'IOMMU_HWPT_LU_RESTORE':
      if (!series.restore)
        return { lines: [`/* IOMMU_HWPT_LU_RESTORE is not in the uapi of ${series.title}; the model: ${resultToString(r)} */`], uses: [] }
      return objCall((p) => `hwpt_restore(${n.fd(o.args.iommufd)}, ${u64(o.args.token)}, ${p})`, o.args.iommufd, 'hwpt', ['hwpt_restore'])
    case 'VFIO_CDEV_OPEN':
      return fdCall(`cdev_open(${str(o.args.bdf)})`, 'cdev', ['cdev_open'])
    case 'VFIO_DEVICE_BIND_IOMMUFD':
      if (r.ok) n.bound(o.args.cdev, o.args.iommufd)
      return objCall((p) => `bind_iommufd(${n.fd(o.args.cdev)}, ${n.fd(o.args.iommufd)}, ${p})`, o.args.iommufd, 'dev_id', ['bind'])
    case 'VFIO_DEVICE_ATTACH_IOMMUFD_PT': {
      const a = o.args
      // the pt_id names an object of the iommufd the cdev is bound to: find its variable by id
      const pt = n.ptOf(a.cdev, a.pt_id)
      if (a.pasid === undefined) {
        const v = n.fresh('pt', '__u32')
        const out = outNum(r)
        const ifd = n.iommufdOf(a.cdev)
        if (r.ok && out !== undefined && ifd !== undefined) n.bindObj(ifd, out, v)
        const lines = [eq(`attach_pt(${n.fd(a.cdev)}, ${pt}, &${v})`)]
        return { lines, uses: ['attach'] }
      }
      return a.pasid === undefined
        ? { lines: [], uses: [] }
        : { lines: [eq(`attach_pt_pasid(${n.fd(a.cdev)}, ${a.pasid}, ${pt})`)], uses: ['attach_pasid'] }
    }
    case 'VFIO_DEVICE_DETACH_IOMMUFD_PT':
      return o.args.pasid === undefined
        ? { lines: [eq(`detach_pt(${n.fd(o.args.cdev)})`)], uses: ['detach'] }
        : { lines: [eq(`detach_pt_pasid(${n.fd(o.args.cdev)}, ${o.args.pasid})`)], uses: ['detach_pasid'] }
    case 'VFIO_DEVICE_SET_IRQS':
      return { lines: [eq(`set_irqs(${n.fd(o.args.cdev)}, ${o.args.enabled ? 1 : 0})`)], uses: ['set_irqs'] }
    case 'DRIVER_BIND':
      return { lines: [eq(`driver_bind(${str(o.args.bdf)}, ${str(o.args.driver)})`)], uses: ['driver_bind'] }
    case 'LIVEUPDATE_OPEN': {
      const out = outNum(r)
      if (r.ok && out !== undefined && !luo.reused) {
        // /dev/liveupdate is exclusive: the fd the stage machinery opened is this one
        luo.reused = true
        n.bindFd(out, luo.fd)
        return { lines: [`/* ${luo.fd}: opened at the start of the stage */`], uses: [] }
      }
      return fdCall('sys_ret(open("/dev/liveupdate", O_RDWR))', 'luo', ['sys_ret'])
    }
    case 'LIVEUPDATE_IOCTL_CREATE_SESSION':
      return fdCall(`create_session(${luo.fd}, ${str(o.args.name)})`, 'session', ['create_session'])
    case 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION':
      return fdCall(`retrieve_session(${luo.fd}, ${str(o.args.name)})`, 'session', ['retrieve_session'])
    case 'LIVEUPDATE_SESSION_PRESERVE_FD':
      if (r.ok) n.preserved(o.args.fd, o.args.token)
      return { lines: [eq(`preserve_fd(${n.fd(o.args.session)}, ${n.fd(o.args.fd)}, ${u64(o.args.token)})`)], uses: ['preserve_fd'] }
    case 'LIVEUPDATE_SESSION_RETRIEVE_FD':
      return fdCall(`retrieve_fd(${n.fd(o.args.session)}, ${u64(o.args.token)})`, n.kindOfToken(o.args.token), ['retrieve_fd'])
    case 'LIVEUPDATE_SESSION_FINISH':
      return { lines: [eq(`finish(${n.fd(o.args.session)})`)], uses: ['finish'] }
    case 'LIVEUPDATE_SESSION_GET_NAME': {
      const v = n.fresh('name', 'char', '[64]')
      const lines = [eq(`session_get_name(${n.fd(o.args.session)}, ${o.args.reserved ?? 0}, ${v}, sizeof(${v}))`)]
      if (r.ok && r.text !== undefined) lines.push(`ASSERT_STREQ(${str(r.text)}, ${v});`)
      return { lines, uses: ['get_name'] }
    }
    case 'CLOSE': {
      const line = eq(`sys_ret(close(${n.fd(o.args.fd)}))`)
      if (r.ok) n.close(o.args.fd)
      return { lines: [line], uses: ['sys_ret'] }
    }
    case 'DMA': {
      const a = o.args
      const who = `${a.bdf}${a.pasid === undefined ? '' : ` PASID ${a.pasid}`}`
      const what = 'fault' in r ? `faults (${r.fault})` : r.ok && r.out !== undefined ? `reaches PA ${hex(r.out)}` : resultToString(r)
      // the last check is an ioctl: a DMA changes no ioctl's result, so leave it out
      if (!dma.needed || dma.skipped)
        return {
          lines: [`/* DMA ${a.write ? 'write' : 'read'} by ${who} at IOVA ${hex(a.iova)}: the model says it ${what}${dma.skipped ? '' : "; left out (a DMA changes no ioctl's result)"} */`],
          uses: [],
        }
      dma.skipped = true
      return {
        lines: [
          `/*`,
          ` * DMA ${a.write ? 'write' : 'read'} by ${who} at IOVA ${hex(a.iova)}: the model says it ${what}.`,
          ` * From here on the test needs a DMA-capable test device: a vfio selftest`,
          ` * driver (ioat, dsa) doing vfio_pci_driver_memcpy() from this IOVA to a`,
          ` * scratch buffer shows where each DMA lands. Wire it in here and below.`,
          ` */`,
          `SKIP(return, "step ${s.index}: DMA needs a DMA-capable test device");`,
        ],
        uses: [],
      }
    }
    case 'KEXEC':
      return { lines: [], uses: [] }
    default:
      return { lines: [`/* ${(o as Op).op}: no C form in this luv version */`], uses: [] }
  }
}

/** repro.c. */
export function renderRepro(cx: Counterexample, opts: { bundleDir?: string } = {}): string {
  void opts
  const series = seriesOf(cx.profile)
  const div = divergingStep(cx)
  const obs = observingStep(cx)
  const names = new Names()
  const kexecs = cx.steps.filter((s) => s.op.op === 'KEXEC' && s.model.ok).length
  const staged = kexecs > 0
  const needsLuo = staged || cx.steps.some((s) => s.op.op.startsWith('LIVEUPDATE_'))
  const luo = { fd: 'luo_fd', reused: false }
  // a DMA as the last check: every DMA matters (an earlier one may fill the IOTLB it hits)
  const dma = { needed: obs.op.op === 'DMA' && cx.observable?.kind !== 'state-only', skipped: false }
  const uses = new Set<string>()
  if (needsLuo) uses.add('sys_ret')
  if (staged) ['stages', 'create_session', 'retrieve_session', 'retrieve_fd', 'preserve_fd', 'finish'].forEach((h) => uses.add(h))

  const body: string[] = []
  let stage = 1
  const ind = () => (staged ? '\t\t' : '\t')
  if (staged) body.push(`\tif (stage == 1) {`)
  for (const s of cx.steps) {
    const c = stepC(s, names, series, luo, dma)
    c.uses.forEach((u) => uses.add(u))
    const notes: string[] = []
    if (s.index === div.index && s.index !== obs.index) notes.push(`the state diverges here: ${cx.property}`)
    if (cx.observable?.kind === 'probe' && s.index === cx.observable.from) notes.push('the probe starts: the calls below make the difference observable')
    const kernelNote =
      s.kernel !== undefined && resultsDiffer(s) ? `; luv's kernel: ${resultToString(s.kernel)}` : ''
    const head = `/* step ${s.index}: ${s.op.op} = ${resultToString(s.model)}${kernelNote}${notes.length ? ` (${notes.join('; ')})` : ''} */`
    if (s.op.op === 'KEXEC') {
      if (!s.model.ok) {
        body.push(`${ind()}/* step ${s.index}: KEXEC fails in the model (${resultToString(s.model)}): reboot(LINUX_REBOOT_CMD_KEXEC) must fail */`)
        // no userspace call makes kho_finalize fail: the C says where it must (fault injection)
        if ((s.op.args as { khoFinalizeFails?: boolean }).khoFinalizeFails)
          body.push(`${ind()}/* KEXEC(khoFinalizeFails=true): kho_finalize must fail here, after every preserved file was frozen (liveupdate_reboot returns -EAGAIN); no userspace call does it, so arrange it with fault injection */`)
        body.push(`${ind()}ASSERT_EQ(-1, syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_KEXEC, NULL));`)
        continue
      }
      stage++
      names.kexec()
      luo.reused = false
      body.push(`${ind()}/* step ${s.index}: KEXEC: stage ${stage - 1} ends, the next kernel runs stage ${stage}${notes.length ? ` (${notes.join('; ')})` : ''} */`)
      body.push(`${ind()}next_stage(_metadata, luo_fd, ${stage});`, `${ind()}return;`, `\t}`, '', `\tif (stage == ${stage}) {`)
      continue
    }
    body.push(`${ind()}${head}`)
    // issue 13: a faulted step arms fail-nth around its call, as iommufd_fail_nth.c does
    const nth = failNthOf(s.op)
    if (nth !== undefined) {
      uses.add('fail_nth')
      const why =
        s.failNth?.reached === false
          ? `luv's kernel did not reach an allocation ${nth} in this call, so it ran as without it`
          : `luv's kernel fails its allocation ${nth} in this call; the op must give -ENOMEM and change nothing. The real kernel's allocation ${nth} may be another one: sweep n = 1, 2, ... as iommufd_fail_nth.c does if this does not fail`
      body.push(`${ind()}/* fail-nth ${nth}: ${why} */`, `${ind()}if (fail_nth(${nth}))`, `${ind()}\tSKIP(return, "no /proc/self/task/<tid>/fail-nth: CONFIG_FAULT_INJECTION is needed");`)
    }
    for (const l of c.lines) body.push(`${ind()}${l}`)
    if (nth !== undefined) body.push(`${ind()}ASSERT_EQ(0, fail_nth(0));`)
  }
  if (cx.observable?.kind === 'state-only') {
    body.push(`${ind()}/*`)
    for (const l of commentLines(`No call shows this failure as a result (the step above passes on a kernel with the bug too). Inspect instead: ${cx.observable.inspect.join('; ')}.`, 72))
      body.push(`${ind()}${l}`)
    body.push(`${ind()} */`)
  }
  if (staged) body.push('\t}')

  const helperText = helpers(series)
  const order = Object.keys(helperText).filter((h) => uses.has(h))
  const vars = names.vars
  const types = [...new Set(vars.map((v) => v.type))]
  const decls = types.map((t) => `\t${t} ${vars.filter((v) => v.type === t).map((v) => v.name).join(', ')};`)
  const stageDecl = staged ? ['\tint luo_fd, stage;'] : needsLuo ? ['\tint luo_fd;'] : []
  const prologue: string[] = []
  if (needsLuo) {
    prologue.push(
      '\tluo_fd = open("/dev/liveupdate", O_RDWR);',
      '\tif (luo_fd < 0)',
      '\t\tSKIP(return, "no /dev/liveupdate: a kernel with CONFIG_LIVEUPDATE is needed");',
    )
    if (staged) prologue.push('\tstage = stage_of(_metadata, luo_fd);', `\tTH_LOG("stage %d of ${stage}", stage);`)
    prologue.push('')
  }

  const kernelSays = obs.kernel !== undefined ? resultToString(obs.kernel) : undefined
  const ending =
    cx.observable?.kind === 'state-only'
      ? [
          `No call shows this failure as a result: ${cx.observable.reason}. ` +
            `Inspect instead: ${cx.observable.inspect.join('; ') || 'the state named in email.txt'}.`,
        ]
      : kernelSays !== undefined
        ? [
            `The last check (step ${obs.index}, ${obs.op.op}) expects what the model gives: it ${said(obs.model, obs.kernel!, obs.op.op === 'DMA')[0]}. ` +
              `luv's kernel-shaped implementation${cx.defect ? ` with the seeded defect ${cx.defect}` : ''} ${said(obs.model, obs.kernel!, obs.op.op === 'DMA')[1]} there, ` +
              (obs.op.op === 'DMA'
                ? 'so with a DMA-capable test device wired into its DMA steps the test fails at that line on a kernel with this bug; without one it SKIPs at the first DMA.'
                : 'so on a kernel with this bug the test fails at that line.'),
          ]
        : []
  const header = [
    '// SPDX-License-Identifier: GPL-2.0-only',
    '/*',
    ...commentLines(`luv reproducer: ${titleSentence(cx)}.`),
    ' *',
    ...commentLines(
      `Targets ${series.title} (luv profile ${cx.profile}${cx.designLabel === cx.profile ? '' : `, design ${cx.designLabel}`}), with ${series.mark.ioctl} ` +
        `(hwpt_token u${series.mark.tokenBits})${series.restore ? ' and IOMMU_HWPT_LU_RESTORE' : ''}. ` +
        'Every step asserts the result of luv\'s reference model of that version.',
    ),
    ' *',
    ...ending.flatMap((x) => commentLines(x)),
    ' *',
    ...commentLines(
      'Build: copy into tools/testing/selftests/liveupdate/ and add it to TEST_GEN_PROGS_EXTENDED in its Makefile ' +
        '(it needs the series\' uapi headers: make headers_install first).' +
        (staged
          ? ` Run it once per stage: it runs stage 1, keeps its sessions open in a holder process and tells you to kexec; ` +
            `after each reboot run it again (${stage} stages).`
          : ''),
    ),
    ...(cx.steps.some((s) => s.op.op === 'DMA') && !dma.needed
      ? [' *', ...commentLines("Its DMA steps are comments: a DMA changes no ioctl's result, and the last check is an ioctl.")]
      : []),
    ' *',
    ...commentLines(`Generated by luv ${cx.versions.luv}${cx.versions.gitRev ? ` (git ${cx.versions.gitRev})` : ''} from ${SCENARIO_FILE} of bundle ${bundleName(cx)}; step N is steps[N] there.`),
    ' */',
    '#define _GNU_SOURCE',
    '#include <dirent.h>',
    '#include <errno.h>',
    '#include <fcntl.h>',
    '#include <limits.h>',
    '#include <stdint.h>',
    '#include <stdio.h>',
    '#include <stdlib.h>',
    '#include <string.h>',
    '#include <unistd.h>',
    '#include <linux/reboot.h>',
    '#include <sys/eventfd.h>',
    '#include <sys/ioctl.h>',
    '#include <sys/mman.h>',
    '#include <sys/syscall.h>',
    '',
    '#include <linux/iommufd.h>',
    '#include <linux/liveupdate.h>',
    '#include <linux/vfio.h>',
    '',
    '#include "../kselftest_harness.h"',
    '',
    '#ifndef PAGE_SIZE',
    '#define PAGE_SIZE 4096',
    '#endif',
    '',
  ]
  const test = [
    `TEST(${cIdent(cx.property)}_${bundleName(cx)})`,
    '{',
    ...stageDecl,
    ...decls,
    '',
    ...prologue,
    ...body,
    '}',
    '',
    'TEST_HARNESS_MAIN',
  ]
  return [...header, ...order.map((h) => helperText[h]), ...test].join('\n') + '\n'
}

/** Model and kernel outcomes in words, precise enough to differ. */
function said(model: Result, kernel: Result, dma: boolean): [string, string] {
  const [m, k] = [outcome(model, dma), outcome(kernel, dma)]
  return m === k ? [`returns ${resultToString(model)}`, `returns ${resultToString(kernel)}`] : [m, k]
}

const cIdent = (s: string): string => s.replace(/[^A-Za-z0-9_]/g, '_')

/** Wrap a comment's prose at 75 columns after " * ". */
function commentLines(text: string, width = 75): string[] {
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
