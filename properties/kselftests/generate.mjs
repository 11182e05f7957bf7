#!/usr/bin/env node
// Writes the kselftest translations in this folder (properties/kselftests/*.json): one scenario
// file per test of the kernel's live-update selftests, steps in the order the C test runs them,
// loops unrolled. The JSON files are committed; this script is how they were made, so a
// re-translation (a new version of a selftest) is an edit here and `node generate.mjs`.
// README.md says which source each file comes from and what had to be left out.
//
//   node properties/kselftests/generate.mjs          # rewrite every file
//   node properties/kselftests/generate.mjs --check  # exit 1 if a committed file differs

import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const DIR = dirname(fileURLToPath(import.meta.url))

// ---- sources (owner/repo path @ commit, as read) -------------------------------------------

const T = 'torvalds/linux tools/testing/selftests/liveupdate'
const SRC = {
  liveupdate: `${T}/liveupdate.c @ 2f3f53a3735a7e67bbe9e580cb49372bf9261967`,
  utils: `${T}/luo_test_utils.c @ 2f3f53a3735a7e67bbe9e580cb49372bf9261967 (lib/lu_utils.c @ 67f8bc848ee3 is the same code)`,
  kexecSimple: `${T}/luo_kexec_simple.c @ 7b24dd46a70e94d8db83b50a04d46690fac216d0`,
  multiSession: `${T}/luo_multi_session.c @ 7b24dd46a70e94d8db83b50a04d46690fac216d0`,
  stressSessions: `${T}/luo_stress_sessions.c @ 7b24dd46a70e94d8db83b50a04d46690fac216d0`,
  stressFiles: `${T}/luo_stress_files.c @ 637315cb400eed1dbe721954fea437a61a2d65b2`,
  // the LUO-6.19 texts (fixed session/file arrays; no GET_NAME, no name checks)
  liveupdate619: `${T}/liveupdate.c @ cc4adab164b772a34b3340d644b7c4728498581e`,
  utils619: `${T}/luo_test_utils.c @ 5add3c3c280a35f7e258e9cef7607db5a2e56fdc`,
  kexecSimple619: `${T}/luo_kexec_simple.c @ ec496f77b4c11036cc835d6f045fb5e5ef1e6530`,
  multiSession619: `${T}/luo_multi_session.c @ ec496f77b4c11036cc835d6f045fb5e5ef1e6530`,
}

/** The tests in the LUO-6.19 text of liveupdate.c (cc4adab): the first eight of the newest. */
const LU_619 = new Set([
  'basic_open_close',
  'exclusive_open',
  'create_duplicate_session',
  'create_distinct_sessions',
  'preserve_memfd',
  'preserve_multiple_memfds',
  'preserve_complex_scenario',
  'preserve_unsupported_fd',
])
/** The profile on the LUO-6.19 text: phase1 (the Feb 2026 series is on that LUO; rfc-v2 has
 *  the same LUO axis values, luoCapacity=fixed-arrays). */
const LU_619_PROFILE = 'phase1'

// Kernel functions the errnos were read from (LUO-2026 unless said otherwise).
const WHY = {
  ebusyOpen: 'luo_open: atomic_cmpxchg(&ldev->in_use, 0, 1) -> -EBUSY (kernel/liveupdate/luo_core.c)',
  eexist: 'luo_session_insert: a session of that name in the outgoing list -> -EEXIST (kernel/liveupdate/luo_session.c)',
  einvalName: 'luo_session_create: len == 0 || len > LIVEUPDATE_SESSION_NAME_LENGTH - 1 -> -EINVAL (LUO-2026 kernel/liveupdate/luo_session.c)',
  enoentHandler: 'luo_preserve_file: no registered handler whose can_preserve accepts the file -> -ENOENT (kernel/liveupdate/luo_file.c)',
  ebusyTwice: 'luo_preserve_file: xa_insert(&luo_preserved_files, get_id(file)) fails -> -EBUSY (kernel/liveupdate/luo_file.c)',
  enoentState: 'luo_session_retrieve: no incoming session of that name -> -ENOENT (kernel/liveupdate/luo_session.c); luo_test() takes -ENOENT to mean "stage 1"',
}

// ---- a step builder --------------------------------------------------------------------------

class Steps {
  /** closeChecked: the test asserts close() == 0 (liveupdate.c's ASSERT_EQ(close(fd), 0)); the
   *  kexec tests and the iommufd/VFIO tests do not check close(), so those steps have no expect. */
  constructor({ closeChecked = false } = {}) {
    this.list = []
    this.closeChecked = closeChecked
  }
  add(op, args, opts = {}) {
    const s = { op }
    if (args && Object.keys(args).length) s.args = args
    if (opts.as) s.as = opts.as
    if (opts.expect !== undefined) s.expect = opts.expect
    this.list.push(s)
    return this
  }
  // LUO
  open(as, expect = 'ok') {
    return this.add('LIVEUPDATE_OPEN', {}, { as, expect })
  }
  create(name, as, expect = 'ok') {
    return this.add('LIVEUPDATE_IOCTL_CREATE_SESSION', { name }, { as, expect })
  }
  retrieveSession(name, as, expect = 'ok') {
    return this.add('LIVEUPDATE_IOCTL_RETRIEVE_SESSION', { name }, { as, expect })
  }
  preserve(session, fd, token, expect = 'ok') {
    return this.add('LIVEUPDATE_SESSION_PRESERVE_FD', { session: `$${session}`, fd: `$${fd}`, token: tok(token) }, { expect })
  }
  retrieveFd(session, token, as, expect = 'ok') {
    return this.add('LIVEUPDATE_SESSION_RETRIEVE_FD', { session: `$${session}`, token: tok(token) }, { as, expect })
  }
  finish(session, expect) {
    return this.add('LIVEUPDATE_SESSION_FINISH', { session: `$${session}` }, { expect })
  }
  getName(session, name) {
    return this.add('LIVEUPDATE_SESSION_GET_NAME', { session: `$${session}` }, { expect: { out: name } })
  }
  close(fd) {
    return this.add('CLOSE', { fd: `$${fd}` }, { expect: this.closeChecked ? 'ok' : undefined })
  }
  /** a close() the test does not check, even where close() is otherwise asserted */
  closeUnchecked(fd) {
    return this.add('CLOSE', { fd: `$${fd}` })
  }
  kexec() {
    return this.add('KEXEC', {}, { expect: 'ok' })
  }
  // memory: memfd_create(name, flags) (+ ftruncate/fallocate/write to `pages` pages)
  memfd(pages, as, { allowSealing }) {
    return this.add('MEMFD_CREATE', { pages, allowSealing }, { as, expect: 'ok' })
  }
  seal(fd, seals, expect = 'ok') {
    return this.add('MEMFD_SEAL', { fd: `$${fd}`, seals }, { expect })
  }
  truncate(fd, pages, expect) {
    return this.add('MEMFD_TRUNCATE', { fd: `$${fd}`, pages }, { expect })
  }
  // iommufd / vfio
  iommufd(as) {
    return this.add('IOMMUFD_OPEN', {}, { as, expect: 'ok' })
  }
  ioas(ifd, as) {
    return this.add('IOMMU_IOAS_ALLOC', { iommufd: `$${ifd}` }, { as, expect: 'ok' })
  }
  hwptAlloc(ifd, dev, pt, as) {
    return this.add('IOMMU_HWPT_ALLOC', { iommufd: `$${ifd}`, dev_id: `$${dev}`, pt_id: `$${pt}` }, { as, expect: 'ok' })
  }
  mapFile(ifd, ioas, memfd, start, length, iova) {
    const args = { iommufd: `$${ifd}`, ioas: `$${ioas}`, memfd: `$${memfd}`, start: hex(start), length: hex(length) }
    if (iova !== undefined) args.iova = hex(iova)
    return this.add('IOMMU_IOAS_MAP_FILE', args, { expect: iova === undefined ? 'ok' : { out: hex(iova) } })
  }
  unmap(ifd, ioas, iova, length, expect) {
    return this.add('IOMMU_IOAS_UNMAP', { iommufd: `$${ifd}`, ioas: `$${ioas}`, iova: hex(iova), length: hex(length) }, { expect })
  }
  destroy(ifd, id, expect = 'ok') {
    return this.add('IOMMU_DESTROY', { iommufd: `$${ifd}`, id: `$${id}` }, { expect })
  }
  cdevOpen(bdf, as, expect = 'ok') {
    return this.add('VFIO_CDEV_OPEN', { bdf }, { as, expect })
  }
  bind(cdev, ifd, as, expect = 'ok') {
    return this.add('VFIO_DEVICE_BIND_IOMMUFD', { cdev: `$${cdev}`, iommufd: `$${ifd}` }, { as, expect })
  }
  attach(cdev, pt, as, expect = 'ok') {
    return this.add('VFIO_DEVICE_ATTACH_IOMMUFD_PT', { cdev: `$${cdev}`, pt_id: `$${pt}` }, { as, expect })
  }
  irqs(cdev, enabled) {
    return this.add('VFIO_DEVICE_SET_IRQS', { cdev: `$${cdev}`, enabled }, { expect: 'ok' })
  }
  dma(bdf, iova, write, as, expect) {
    const args = { bdf, iova: hex(iova) }
    if (write) args.write = true
    return this.add('DMA', args, { as, expect })
  }

  // ---- luo_test_utils.c helpers ----
  /** create_and_preserve_memfd(): memfd_create(name, 0), ftruncate(page), preserve, close. */
  createAndPreserveMemfd(session, token, as) {
    return this.memfd(1, as, { allowSealing: false }).preserve(session, as, token).close(as)
  }
  /** luo_test() at stage 1: open /dev/liveupdate, the state session is not there yet. */
  stage1Prologue(stateName) {
    return this.open('luo').retrieveSession(stateName, 'state_probe', 'ENOENT')
  }
  /** create_state_file(): a session holding a memfd with the next stage number; its fd stays open. */
  createStateFile(stateName, token) {
    return this.create(stateName, 'state').createAndPreserveMemfd('state', token, 'state_mfd')
  }
  /** luo_test() at stage 2: the state session is there; restore_and_read_stage() reads it. */
  stage2Prologue(stateName, token) {
    return this.open('luo2').retrieveSession(stateName, 'state2').retrieveFd('state2', token, 'state2_mfd').close('state2_mfd')
  }
}

const tok = (t) => (typeof t === 'string' ? t : Number.isSafeInteger(t) && t < 0x10000 ? t : hex(t))
const hex = (v) => '0x' + BigInt(v).toString(16)

// ---- platforms -------------------------------------------------------------------------------

/** No device: the LUO tests touch only /dev/liveupdate and memfds. */
const luoPlatform = (memoryPages) => ({ memoryPages, tablePages: 64, units: [{ name: 'dmar0', dids: 16 }], devices: [] })
/** One VT-d unit and one vfio-pci device in a singleton group (the cdev the test is given). */
const BDF = '0000:01:00.0'
const devPlatform = (memoryPages, devices = [{ bdf: BDF, unit: 'dmar0' }]) => ({
  memoryPages,
  tablePages: 256,
  units: [{ name: 'dmar0', dids: 16 }],
  devices,
})

// ---- the files -------------------------------------------------------------------------------

const files = []
const scenario = (file, body) => files.push({ file, body })

// ======== torvalds/linux tools/testing/selftests/liveupdate/liveupdate.c (LUO-2026) ============
// Every TEST_F opens /dev/liveupdate first (FIXTURE_SETUP only sets fds to -1) and the teardown
// closes what is still open; a skip on ENOENT cannot happen in luv (the device exists).

const LU_PROFILE = 'v3' // the profile on the 2026 LUO (PINNED.md)
function luTest(test, what, memoryPages, build, extra = '') {
  const s = new Steps({ closeChecked: true })
  build(s)
  scenario(`liveupdate.${test}.json`, {
    name: `liveupdate-${test}`,
    description:
      `${SRC.liveupdate}, TEST_F(liveupdate_device, ${test}); helpers from ${SRC.utils}. ${what}` +
      (extra ? ` ${extra}` : '') +
      ' Profile v3: this liveupdate.c is the LUO-2026 text (GET_NAME, the name checks, 2000 sessions).',
    platform: luoPlatform(memoryPages),
    design: { profile: LU_PROFILE },
    steps: s.list,
  })
  if (!LU_619.has(test)) return
  scenario(`liveupdate.${test}-luo-6.19.json`, {
    name: `liveupdate-${test}-luo-6.19`,
    description:
      `${SRC.liveupdate619}, TEST_F(liveupdate_device, ${test}); the file's own create_session()/preserve_fd() helpers (strncpy of the name, the same ioctls). ${what}` +
      (extra ? ` ${extra}` : '') +
      ` The LUO-6.19 text of the test (the same steps as the newest), run under ${LU_619_PROFILE}, a profile on that LUO (luoCapacity=fixed-arrays).`,
    platform: luoPlatform(memoryPages),
    design: { profile: LU_619_PROFILE },
    steps: s.list,
  })
}

const NOREAD = 'The write()/read() of the memfd contents is not translated (luv has no file I/O op).'

luTest('basic_open_close', 'open(/dev/liveupdate) succeeds and close() returns 0.', 16, (s) => s.open('luo').close('luo'))

luTest('exclusive_open', `A second open of /dev/liveupdate fails with EBUSY (${WHY.ebusyOpen}).`, 16, (s) =>
  s.open('luo').open('luo_again', 'EBUSY'),
)

luTest('create_duplicate_session', `Creating a second session of the same name fails with EEXIST (${WHY.eexist}).`, 16, (s) =>
  s.open('luo').create('duplicate-session-test', 's1').create('duplicate-session-test', 's2', 'EEXIST').close('s1'),
)

luTest('create_distinct_sessions', 'Two sessions with different names are both created.', 16, (s) =>
  s.open('luo').create('distinct-session-1', 's1').create('distinct-session-2', 's2').close('s1').close('s2'),
)

luTest('preserve_memfd', `A memfd created with flags 0 and written (one page) is preserved with token 0x1234. ${NOREAD}`, 16, (s) =>
  s
    .open('luo')
    .create('preserve-memfd-test', 's')
    .memfd(1, 'mfd', { allowSealing: false })
    .preserve('s', 'mfd', 0x1234)
    .close('s')
    .close('mfd'),
)

luTest('preserve_multiple_memfds', `Two memfds are preserved in one session with tokens 0xAAAA and 0xBBBB. ${NOREAD}`, 16, (s) =>
  s
    .open('luo')
    .create('preserve-multi-memfd-test', 's')
    .memfd(1, 'mfd1', { allowSealing: false })
    .memfd(1, 'mfd2', { allowSealing: false })
    .preserve('s', 'mfd1', 0xaaaa)
    .preserve('s', 'mfd2', 0xbbbb)
    .close('mfd1')
    .close('mfd2')
    .close('s'),
)

luTest(
  'preserve_complex_scenario',
  `Two sessions, each with a written memfd (one page) and an empty one (no pages). ${NOREAD}`,
  16,
  (s) =>
    s
      .open('luo')
      .create('complex-session-1', 's1')
      .create('complex-session-2', 's2')
      .memfd(1, 'data1', { allowSealing: false })
      .memfd(0, 'empty1', { allowSealing: false })
      .memfd(1, 'data2', { allowSealing: false })
      .memfd(0, 'empty2', { allowSealing: false })
      .preserve('s1', 'data1', 0x1111)
      .preserve('s1', 'empty1', 0x2222)
      .preserve('s2', 'data2', 0x3333)
      .preserve('s2', 'empty2', 0x4444)
      .close('data1')
      .close('empty1')
      .close('data2')
      .close('empty2')
      .close('s1')
      .close('s2'),
)

luTest(
  'preserve_unsupported_fd',
  `Preserving a file no LUO handler accepts fails with ENOENT (${WHY.enoentHandler}).`,
  16,
  (s) => s.open('luo').create('unsupported-fd-test', 's').preserve('s', 'luo', 0xdead, 'ENOENT').close('s'),
  'The test uses open("/dev/null"); luv has no /dev/null, so the /dev/liveupdate fd stands in: it is also a character device with no LUO file handler, and luo_preserve_file takes the same path for both. The final close(unsupported_fd) is dropped with it.',
)

luTest(
  'prevent_double_preservation',
  `A memfd preserved in one session cannot be preserved again, in another session or in the same one with another token: EBUSY both times (${WHY.ebusyTwice}).`,
  16,
  (s) =>
    s
      .open('luo')
      .create('double-preserve-session-1', 's1')
      .create('double-preserve-session-2', 's2')
      .memfd(0, 'mfd', { allowSealing: false })
      .preserve('s1', 'mfd', 0x1111)
      .preserve('s2', 'mfd', 0x2222, 'EBUSY')
      .preserve('s1', 'mfd', 0x3333, 'EBUSY')
      .close('mfd')
      .close('s1')
      .close('s2'),
)

luTest(
  'create_session_no_null_termination',
  `A name filling all 64 bytes of the name field (no NUL) is refused with EINVAL (${WHY.einvalName}: strnlen of a 64-byte field without a NUL is 64 > 63).`,
  16,
  (s) => s.open('luo').create('X'.repeat(64), 's', 'EINVAL'),
  'luv passes the name as a string; 64 "X" stands for the 64-byte field with no terminator.',
)

luTest('create_session_empty_name', `An empty name is refused with EINVAL (${WHY.einvalName}).`, 16, (s) =>
  s.open('luo').create('', 's', 'EINVAL'),
)

luTest(
  'get_session_name',
  'LIVEUPDATE_SESSION_GET_NAME returns the name the session was created with (LUO-2026 luo_session_get_name).',
  16,
  (s) => s.open('luo').create('get-name-test-session', 's').getName('s', 'get-name-test-session').close('s'),
)

luTest(
  'get_session_name_max_length',
  'A name of LIVEUPDATE_SESSION_NAME_LENGTH - 1 = 63 bytes is accepted and returned whole by LIVEUPDATE_SESSION_GET_NAME.',
  16,
  (s) => s.open('luo').create('A'.repeat(63), 's').getName('s', 'A'.repeat(63)).close('s'),
)

luTest(
  'preserve_many_sessions',
  'MANY_SESSIONS = 2000 sessions are created ("many-session-%d") and then closed, unrolled. LUO-2026 grows its session set (kho_block_set_grow in luo_session_insert), so no ENOMEM at 744.',
  16,
  (s) => {
    s.open('luo')
    for (let i = 0; i < 2000; i++) s.create(`many-session-${i}`, `s${i}`)
    for (let i = 0; i < 2000; i++) s.close(`s${i}`)
  },
  'luo_ensure_nofile_limit() (setrlimit) has no luv counterpart: luv has no fd limit.',
)

luTest(
  'preserve_many_files',
  'MANY_FILES = 500 memfds (flags 0, empty) are preserved in one session with tokens 0..499, unrolled, then closed. LUO-2026 grows the file set ("[PATCH v6 10/13] liveupdate: Remove limit on the number of files per session"), so no ENOSPC at 128.',
  16,
  (s) => {
    s.open('luo').create('many-files-test', 's')
    for (let i = 0; i < 500; i++) s.memfd(0, `m${i}`, { allowSealing: false }).preserve('s', `m${i}`, i)
    for (let i = 0; i < 500; i++) s.close(`m${i}`)
    s.close('s')
  },
  'luo_ensure_nofile_limit() (setrlimit) has no luv counterpart: luv has no fd limit.',
)

// ======== torvalds/linux liveupdate kexec tests (luo_test(): stage 1, kexec, stage 2) ==========

function kexecTest(stem, src, what, memoryPages, build, v619) {
  kexecScenario(stem, src, SRC.utils, what, memoryPages, build, LU_PROFILE, 'Profile v3: the LUO-2026 text.')
  if (v619)
    kexecScenario(`${stem}-luo-6.19`, v619, SRC.utils619, what, memoryPages, build, LU_619_PROFILE,
      `The LUO-6.19 text of the test (the same steps as the newest), run under ${LU_619_PROFILE}, a profile on that LUO.`)
}

function kexecScenario(stem, src, utils, what, memoryPages, build, profile, version) {
  const s = new Steps()
  build(s)
  scenario(`${stem.replace('-luo-6.19', '.luo-6.19')}.json`, {
    name: stem,
    description:
      `${src}, run_stage_1() then (kexec) run_stage_2() through luo_test(); helpers from ${utils}. ${what} ` +
      'Stage 1 ends in daemonize_and_wait(): a child keeps the session fds open across the kexec, so no session fd is closed before KEXEC (the memfds are: create_and_preserve_memfd() closes its fd, the session holds the file). close() results are not checked by these tests, so CLOSE steps carry no expect. ' +
      `The first RETRIEVE_SESSION of the state session is luo_test() detecting stage 1 (${WHY.enoentState}). ` +
      `The memfd contents written and compared (snprintf into the mmap, strcmp in restore_and_verify_memfd, the stage number) are not translated: luv has no file I/O op. ${version}`,
    platform: luoPlatform(memoryPages),
    design: { profile },
    steps: s.list,
  })
}

kexecTest(
  'luo_kexec_simple',
  SRC.kexecSimple,
  'One session "test-session" with one memfd (token 0x1A) survives a kexec, is retrieved and finished; then the state session is finished.',
  32,
  (s) => {
    s.stage1Prologue('kexec_simple_state')
      .createStateFile('kexec_simple_state', 999)
      .create('test-session', 'ts')
      .createAndPreserveMemfd('ts', 0x1a, 'mfd')
      .close('luo')
      .kexec()
      .stage2Prologue('kexec_simple_state', 999)
      .retrieveSession('test-session', 'ts2')
      .retrieveFd('ts2', 0x1a, 'mfd2')
      .close('mfd2')
      .finish('ts2', 'ok')
      .close('ts2')
      .finish('state2', 'ok')
      .close('state2')
  },
  SRC.kexecSimple619,
)

kexecTest(
  'luo_multi_session',
  SRC.multiSession,
  'Two empty sessions, one with one memfd and one with two survive a kexec; all are retrieved, their memfds restored, and every session finished.',
  32,
  (s) => {
    s.stage1Prologue('kexec_multi_state')
      .createStateFile('kexec_multi_state', 998)
      .create('multi-test-empty-1', 'e1')
      .create('multi-test-empty-2', 'e2')
      .create('multi-test-files-1', 'f1')
      .createAndPreserveMemfd('f1', 0x1001, 'm1')
      .create('multi-test-files-2', 'f2')
      .createAndPreserveMemfd('f2', 0x2002, 'm2')
      .createAndPreserveMemfd('f2', 0x3003, 'm3')
      .close('luo')
      .kexec()
      .stage2Prologue('kexec_multi_state', 998)
      .retrieveSession('multi-test-empty-1', 'e1b')
      .retrieveSession('multi-test-empty-2', 'e2b')
      .retrieveSession('multi-test-files-1', 'f1b')
      .retrieveSession('multi-test-files-2', 'f2b')
      .retrieveFd('f1b', 0x1001, 'm1b')
      .close('m1b')
      .retrieveFd('f2b', 0x2002, 'm2b')
      .close('m2b')
      .retrieveFd('f2b', 0x3003, 'm3b')
      .close('m3b')
    for (const x of ['e1b', 'e2b', 'f1b', 'f2b']) s.finish(x, 'ok').close(x)
    s.finish('state2', 'ok').close('state2')
  },
  SRC.multiSession619,
)

kexecTest(
  'luo_stress_sessions',
  SRC.stressSessions,
  'NUM_SESSIONS = 2000 empty sessions ("many-test-%d") survive a kexec; each is retrieved, finished and closed (loops unrolled). LUO-2026 has no 744-session cap (kho_block_set_grow in luo_session_insert).',
  32,
  (s) => {
    s.stage1Prologue('kexec_many_state').createStateFile('kexec_many_state', 999)
    for (let i = 0; i < 2000; i++) s.create(`many-test-${i}`, `s${i}`)
    s.close('luo').kexec().stage2Prologue('kexec_many_state', 999)
    for (let i = 0; i < 2000; i++) s.retrieveSession(`many-test-${i}`, `r${i}`).finish(`r${i}`, 'ok').close(`r${i}`)
    s.finish('state2', 'ok').close('state2')
  },
)

kexecTest(
  'luo_stress_files',
  SRC.stressFiles,
  'NUM_FILES = 500 one-page memfds (tokens 0..499) in session "many_files_session" survive a kexec; each is retrieved and closed, then the session and the state session are finished (loops unrolled). LUO-2026 has no 128-file cap.',
  600,
  (s) => {
    s.stage1Prologue('kexec_many_files_state').createStateFile('kexec_many_files_state', 9999).create('many_files_session', 'fs')
    for (let i = 0; i < 500; i++) s.createAndPreserveMemfd('fs', i, `m${i}`)
    s.close('luo').kexec().stage2Prologue('kexec_many_files_state', 9999).retrieveSession('many_files_session', 'fs2')
    for (let i = 0; i < 500; i++) s.retrieveFd('fs2', i, `r${i}`).close(`r${i}`)
    s.finish('fs2', 'ok').close('fs2').finish('state2', 'ok').close('state2')
  },
)

// ======== samikhawaja/linux tools/testing/selftests/iommu/iommufd_liveupdate*.c ================

const S = 'samikhawaja/linux tools/testing/selftests/iommu'
const SZ_1M = 0x100000
const SZ_4G = 0x100000000

// ---- V1 (rfc-v2): the full-flow text with mmap + IOMMU_IOAS_MAP of a memfd ----
{
  const s = new Steps()
  s.open('luo')
    .retrieveSession('iommufd-test', 'probe', 'ENOENT')
    .create('iommufd-test', 's')
    .iommufd('ifd')
    .cdevOpen(BDF, 'cdev')
    .memfd(1, 'mfd', { allowSealing: false })
    // setup_iommufd()
    .bind('cdev', 'ifd', 'dev')
    .ioas('ifd', 'ioas')
    .hwptAlloc('ifd', 'dev', 'ioas', 'hwpt_unused')
    .attach('cdev', 'ioas', 'auto')
    .add('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: '$ifd', hwpt_id: '$auto', token: hex(0x789012), preserve: true }, { expect: 'ok' })
    .mapFile('ifd', 'ioas', 'mfd', 0, 0x1000, 0)
    .preserve('s', 'ifd', 0x123456)
    .preserve('s', 'cdev', 0x654321)
    .preserve('s', 'mfd', 0x210987)
    // verify_immutable(iommufd, memfd, &ioas_id)
    .unmap('ifd', 'ioas', 0, 0x1000, 'EBUSY')
    .truncate('mfd', 2, 'EPERM')
    .kexec()
    .open('luo2')
    .retrieveSession('iommufd-test', 's2')
    .finish('s2', 'EBUSY')
    .retrieveFd('s2', 0x123456, 'ifd2')
    .retrieveFd('s2', 0x654321, 'cdev2')
    .retrieveFd('s2', 0x210987, 'mfd2')
    .finish('s2', 'EBUSY')
    // restore_iommufd()
    .bind('cdev2', 'ifd2', 'dev2')
    .ioas('ifd2', 'ioas2')
    .add('IOMMU_HWPT_LU_RESTORE', { iommufd: '$ifd2', token: hex(0x789012) }, { as: 'restored', expect: 'ok' })
    .finish('s2', 'EBUSY')
    .hwptAlloc('ifd2', 'dev2', 'ioas2', 'hwpt2')
    .attach('cdev2', 'ioas2', 'auto2')
    .attach('cdev2', 'ioas2', 'auto2_again')
    // verify_immutable(iommufd, memfd, NULL)
    .truncate('mfd2', 2, 'EPERM')
    .finish('s2', 'ok')
  scenario('iommufd_liveupdate.rfc-v2.json', {
    name: 'iommufd_liveupdate-rfc-v2',
    description:
      `${S}/iommufd_liveupdate.c, the V1 (RFC, Dec 2025) full-flow text: IOMMU_HWPT_LU_SET_PRESERVED with .preserved = 1, IOMMU_HWPT_LU_RESTORE, a memfd mapped through mmap + IOMMU_IOAS_MAP (stored version id 63337440667; find_files lists this path at 96e9fd4, 12 versions), main() in its two runs (before and after the kexec). ` +
      'Before: bind, IOAS, HWPT_ALLOC (unused: the test attaches hwpt_alloc.pt_id, the IOAS, so the marked HWPT is the auto domain that attach returns), mark, map one page at IOVA 0, preserve iommufd, cdev, memfd (in that order: V1 iommufd_save_hwpts checks no mapping and no ordering), then verify_immutable(): UNMAP fails (EBUSY: V1 iommufd_save_hwpts sets iopt.lu_map_immutable, the flag iopt_unmap_iova_range refuses with -EBUSY as read in the V2 mail patch; V1 io_pagetable.c itself not read) and ftruncate fails (EPERM: memfd_luo_preserve -> shmem_freeze, shmem_setattr). ' +
      'After: FINISH fails before the iommufd is retrieved and again before the HWPT is reclaimed and while the restored HWPT is attached (EBUSY: luo_file_can_finish_one; V1 iommufd_liveupdate_can_finish checks !args->retrieved, !hwpt_lu->reclaimed, iommu_domain_has_attachments), LU_RESTORE, HWPT_ALLOC, two attaches of the new IOAS (again hwpt_alloc.pt_id), verify_immutable() on the retrieved memfd expects ftruncate to fail, FINISH succeeds. ' +
      'Changed: the mmap + IOMMU_IOAS_MAP of the memfd is IOMMU_IOAS_MAP_FILE of the memfd (luv IOMMU_IOAS_MAP maps fresh anonymous memory, audit M-I2). See README for the ftruncate after retrieve. ' +
      'Under rfc-v2 (replaceSwap=teardown-then-setup, inferred) the replace of the restored domain has a window where the running device faults: luv\'s dma-continuity finding for that design, declared in expectViolations (the selftest asserts nothing about it; its comment says the device is reset at freeze anyway).',
    platform: devPlatform(32),
    design: { profile: 'rfc-v2' },
    expectViolations: ['dma-continuity'],
    steps: s.list,
  })
}

// ---- V1 (rfc-v2): the earlier text without a memfd (commit 1a35e1a) ----
{
  const s = new Steps()
  s.open('luo')
    .retrieveSession('iommufd-test', 'probe', 'ENOENT')
    .create('iommufd-test', 's')
    .iommufd('ifd')
    .cdevOpen(BDF, 'cdev')
    .bind('cdev', 'ifd', 'dev')
    .ioas('ifd', 'ioas')
    .attach('cdev', 'ioas', 'auto')
    .add('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: '$ifd', hwpt_id: '$auto', token: hex(0x789012), preserve: true }, { expect: 'ok' })
    .preserve('s', 'ifd', 0x123456)
    .preserve('s', 'cdev', 0x654321)
    .kexec()
    .open('luo2')
    .retrieveSession('iommufd-test', 's2')
    .retrieveFd('s2', 0x123456, 'ifd2')
    .retrieveFd('s2', 0x654321, 'cdev2')
    .bind('cdev2', 'ifd2', 'dev2')
    .ioas('ifd2', 'ioas2')
    .add('IOMMU_HWPT_LU_RESTORE', { iommufd: '$ifd2', token: hex(0x789012) }, { as: 'restored', expect: 'ok' })
    .attach('cdev2', 'ioas2', 'auto2')
    .finish('s2')
  scenario('iommufd_liveupdate.rfc-v2-1a35e1a.json', {
    name: 'iommufd_liveupdate-rfc-v2-1a35e1a',
    description:
      `${S}/iommufd_liveupdate.c @ 1a35e1a8da08390d4b7aacdd900559acd8c6b2d7, main() (V1: IOMMU_HWPT_LU_SET_PRESERVED .preserved = 1, LU_RESTORE): an empty IOAS attached directly (auto domain), marked, iommufd and cdev preserved; after the kexec both are retrieved, the cdev re-bound, the HWPT restored and a new IOAS attached (replace). ` +
      'The final luo_session_finish() result is not checked by the test, so its step has no expect.',
    platform: devPlatform(16),
    design: { profile: 'rfc-v2' },
    steps: s.list,
  })
}

// ---- V2 (phase1): [PATCH 14/14] iommufd/selftest, 3 Feb 2026 ----
{
  const s = new Steps()
  s.open('luo')
    .retrieveSession('iommufd-test', 'probe', 'ENOENT')
    .create('iommufd-test', 's')
    .iommufd('ifd')
    .memfd(256, 'mfd', { allowSealing: true })
    .seal('mfd', ['GROW', 'SHRINK', 'SEAL'])
    .cdevOpen(BDF, 'cdev')
    .bind('cdev', 'ifd', 'dev')
    .ioas('ifd', 'ioas')
    .hwptAlloc('ifd', 'dev', 'ioas', 'hwpt')
    .attach('cdev', 'hwpt', 'attached', 'ok')
    .mapFile('ifd', 'ioas', 'mfd', 0, SZ_1M)
    .add('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: '$ifd', hwpt_id: '$hwpt', token: hex(0x789012) }, { expect: 'ok' })
    .preserve('s', 'cdev', 0x654321, 'ENOENT')
    .preserve('s', 'ifd', 0x123456, 'ENOENT')
    .preserve('s', 'mfd', 0x890123)
    .preserve('s', 'ifd', 0x123456)
    .preserve('s', 'cdev', 0x654321)
    .close('s')
    .create('iommufd-test', 's_again')
    .preserve('s_again', 'mfd', 0x890123)
    .preserve('s_again', 'ifd', 0x123456)
    .preserve('s_again', 'cdev', 0x654321)
    .kexec()
    .open('luo2')
    .retrieveSession('iommufd-test', 's2')
    .retrieveFd('s2', 0x654321, 'cdev2')
    .retrieveFd('s2', 0x123456, 'ifd_lu', 'EOPNOTSUPP')
    .iommufd('ifd2')
    .bind('cdev2', 'ifd2', 'dev2', 'EPERM')
    .finish('s2', 'EBUSY')
  scenario('iommufd_liveupdate.phase1.json', {
    name: 'iommufd_liveupdate-phase1',
    description:
      `${S}/iommufd_liveupdate.c as posted in "[PATCH 14/14] iommufd/selftest: Add test to verify iommufd preservation" (Samiullah Khawaja, 3 Feb 2026, Message-ID 20260203220948.2176157-15-skhawaja@google.com; the same text is stored as version id 66187473860), main() in its two runs. ` +
      'Before: a sealed 1 MiB memfd (MFD_ALLOW_SEALING; F_SEAL_GROW|SHRINK|SEAL) mapped without IOMMU_IOAS_MAP_FIXED_IOVA (the kernel picks the IOVA), the HWPT marked with IOMMU_HWPT_LU_SET_PRESERVE; preserving the cdev before the iommufd fails with ENOENT (V2 iommufd_device_preserve: hwpt_paging->lu_preserve is already set by the mark, then liveupdate_get_token_outgoing(s, idev->ictx->file) -> -ENOENT; mail patch adding iommufd_device_preserve), preserving the iommufd before the memfd fails with ENOENT (check_iopt_pages_preserved -> liveupdate_get_token_outgoing -> -ENOENT); memfd, iommufd, cdev then succeed; close(session) unpreserves them all and a new session of the same name preserves them again. ' +
      'After: the cdev is retrieved, the iommufd is not (EOPNOTSUPP: V2 iommufd_liveupdate_retrieve), binding the cdev to a new iommufd fails with EPERM (the test checks errno), FINISH fails (EBUSY: V2 iommufd_liveupdate_can_finish returns false, luo_file_can_finish_one -> -EBUSY). ' +
      'Phase 1 cannot complete a recovery, so the run declares the recoverability finding.',
    platform: devPlatform(300),
    design: { profile: 'phase1' },
    expectViolations: ['recoverability'],
    steps: s.list,
  })
}

// ---- V3 (v3): iommufd_liveupdate_kexec_test.c ----
{
  const s = new Steps()
  s.stage1Prologue('state-iommufd-cdev')
    .createStateFile('state-iommufd-cdev', 0)
    .create('iommufd-test-cdev', 's')
    .iommufd('ifd')
    .memfd(256, 'mfd', { allowSealing: true })
    .seal('mfd', ['GROW', 'SHRINK', 'SEAL'])
    .cdevOpen(BDF, 'cdev')
    .bind('cdev', 'ifd', 'dev')
    .ioas('ifd', 'ioas')
    .hwptAlloc('ifd', 'dev', 'ioas', 'hwpt')
    .attach('cdev', 'hwpt', 'attached', 'ok')
    .mapFile('ifd', 'ioas', 'mfd', 0, SZ_1M, SZ_4G)
    .add('IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE', { iommufd: '$ifd', hwpt_id: '$hwpt', token: hex(0x789012) }, { expect: 'ok' })
    .preserve('s', 'cdev', 0x654321, 'EINVAL')
    .preserve('s', 'ifd', 0x123456, 'ENOENT')
    .preserve('s', 'mfd', 0x890123)
    .preserve('s', 'ifd', 0x123456)
    .preserve('s', 'cdev', 0x654321)
    .close('s')
    .create('iommufd-test-cdev', 's_again')
    .preserve('s_again', 'mfd', 0x890123)
    .preserve('s_again', 'ifd', 0x123456)
    .preserve('s_again', 'cdev', 0x654321)
    .close('luo')
    .kexec()
    .stage2Prologue('state-iommufd-cdev', 0)
    .retrieveSession('iommufd-test-cdev', 's2')
    .retrieveFd('s2', 0x654321, 'cdev2')
    .retrieveFd('s2', 0x123456, 'ifd_lu', 'EOPNOTSUPP')
    .iommufd('ifd2')
    .bind('cdev2', 'ifd2', 'dev2', 'EPERM')
    .finish('s2', 'EBUSY')
    .close('ifd2')
    .close('cdev2')
  scenario('iommufd_liveupdate_kexec_test.json', {
    name: 'iommufd_liveupdate_kexec_test',
    description:
      `${S}/iommufd_liveupdate_kexec_test.c @ 9c4b9a32de53076949b57badd4f04871ba4b3e04 (6 versions; 1708f58 differs only in mapping without IOMMU_IOAS_MAP_FIXED_IOVA), before_kexec() then (kexec) after_kexec() through luo_test(), sessions "state-iommufd-cdev" (STATE_TOKEN 0) and "iommufd-test-cdev". ` +
      'Before: a sealed 1 MiB memfd mapped at IOVA 4 GiB (FIXED_IOVA), the HWPT marked with IOMMU_HWPT_LIVEUPDATE_MARK_PRESERVE (u64 token); preserving the cdev before the iommufd fails with EINVAL (V3 iommufd_device_preserve, samikhawaja/linux drivers/iommu/iommufd/device.c @ 027f82dc: !hwpt_paging->liveupdate_preserved -> -EINVAL; that flag is set only when the iommufd is preserved), preserving the iommufd before the memfd fails with ENOENT (iommufd_preserve_hwpt -> check_iopt_pages_preserved -> liveupdate_get_token_outgoing -> -ENOENT); memfd, iommufd, cdev then succeed; close(session) unpreserves them and a new session of the same name preserves them again. ' +
      'After: the cdev is retrieved, the iommufd is not (EOPNOTSUPP: V3 iommufd_liveupdate_retrieve), binding the cdev to a new iommufd fails with EPERM (errno checked), FINISH fails (EBUSY: iommufd_liveupdate_can_finish returns false; luo_file_can_finish_one -> -EBUSY); the new iommufd and the cdev are closed. ' +
      'V3 has no restore path, so the run declares the recoverability finding.',
    platform: devPlatform(300),
    design: { profile: 'v3' },
    expectViolations: ['recoverability'],
    steps: s.list,
  })
}

// ======== samikhawaja/linux tools/testing/selftests/vfio/vfio_pci_liveupdate_kexec_test.c (RFC v2)

{
  // MEMCPY_SIZE is SZ_1G in the test; scaled to 2 MiB (see README). DRIVER_SIZE stays 1 MiB.
  const MEMCPY = 0x200000
  const DRIVER = SZ_1M
  const PAGES = (MEMCPY + DRIVER) / 0x1000
  const half = MEMCPY / 2 // size = min(memcpy_region.size / 2, max_memcpy_size); dst = src + size
  const STATE = `state-${BDF}`
  const DEVICE = `device-${BDF}`
  const [STATE_TOKEN, DEVICE_TOKEN, MEMFD_TOKEN, IOMMUFD_TOKEN, HWPT_TOKEN] = [0, 1, 2, 3, 4]
  const s = new Steps()
  s.stage1Prologue(STATE)
    // iommu_init("iommufd") + vfio_pci_device_init(): open /dev/iommu, an IOAS, open, bind, attach the IOAS
    .iommufd('ifd')
    .ioas('ifd', 'ioas1')
    .cdevOpen(BDF, 'cdev')
    .bind('cdev', 'ifd', 'dev')
    .attach('cdev', 'ioas1', 'auto1')
    .createStateFile(STATE, STATE_TOKEN)
    // iommufd_iommu_init(iommu->iommufd, dev_id): (dup of the iommufd), an IOAS and a HWPT on it
    .ioas('ifd', 'ioas2')
    .hwptAlloc('ifd', 'dev', 'ioas2', 'hwpt')
    .attach('cdev', 'hwpt', 'replaced')
    // iommu_cleanup(iommu): destroy the first IOAS (its auto domain went with the replace)
    .destroy('ifd', 'ioas1')
    .create(DEVICE, 'session')
    // dma_memfd_setup(): memfd_create(name, 0), fallocate, preserve, then dma_memfd_map()
    .memfd(PAGES, 'mfd', { allowSealing: false })
    .preserve('session', 'mfd', MEMFD_TOKEN)
    .mapFile('ifd', 'ioas2', 'mfd', 0, MEMCPY, SZ_4G)
    .mapFile('ifd', 'ioas2', 'mfd', MEMCPY, DRIVER, SZ_4G + MEMCPY)
    .add('IOMMU_HWPT_LU_SET_PRESERVE', { iommufd: '$ifd', hwpt_id: '$hwpt', token: HWPT_TOKEN, preserve: true }, { expect: 'ok' })
    .preserve('session', 'ifd', IOMMUFD_TOKEN)
    .preserve('session', 'cdev', DEVICE_TOKEN)
    // device->driver.ops: vfio_pci_driver_init() (MSI-X on), dma_memcpy_start(), vfio_pci_msix_disable()
    .irqs('cdev', true)
    .dma(BDF, SZ_4G, false, 'src_pa')
    .dma(BDF, SZ_4G + half, true, 'dst_pa')
    .irqs('cdev', false)
    .close('luo')
    .kexec()
    .open('luo2')
    .retrieveSession(STATE, 'state2')
    // check_open_vfio_device_fails()
    .cdevOpen(BDF, 'cdev_busy', 'EBUSY')
    .retrieveFd('state2', STATE_TOKEN, 'state2_mfd')
    .close('state2_mfd')
    .retrieveSession(DEVICE, 's2')
    .retrieveFd('s2', MEMFD_TOKEN, 'mfd2')
    .finish('s2', 'EBUSY')
    .retrieveFd('s2', DEVICE_TOKEN, 'cdev2')
    .finish('s2', 'EBUSY')
    .retrieveFd('s2', IOMMUFD_TOKEN, 'ifd2')
    .bind('cdev2', 'ifd2', 'dev2')
    // iommufd_iommu_init(iommufd, dev_id)
    .ioas('ifd2', 'ioas3')
    .hwptAlloc('ifd2', 'dev2', 'ioas3', 'hwpt3')
    // dma_memfd_map(device, memfd)
    .mapFile('ifd2', 'ioas3', 'mfd2', 0, MEMCPY, SZ_4G)
    .mapFile('ifd2', 'ioas3', 'mfd2', MEMCPY, DRIVER, SZ_4G + MEMCPY)
    .add('IOMMU_HWPT_LU_RESTORE', { iommufd: '$ifd2', token: HWPT_TOKEN }, { as: 'restored', expect: 'ok' })
    // driver: vfio_pci_driver_init(), dma_memcpy_one() through the restored domain
    .irqs('cdev2', true)
    .dma(BDF, SZ_4G, false, undefined, { out: '$src_pa' })
    .dma(BDF, SZ_4G + half, true, undefined, { out: '$dst_pa' })
    // vfio_pci_device_attach_iommu(device, iommu): replace the restored HWPT
    .attach('cdev2', 'hwpt3', 'replaced2')
    .finish('s2', 'ok')
    .dma(BDF, SZ_4G, false, undefined, { out: '$src_pa' })
    .dma(BDF, SZ_4G + half, true, undefined, { out: '$dst_pa' })
    // vfio_pci_device_cleanup(device), iommu_cleanup(iommu)
    .irqs('cdev2', false)
    .close('cdev2')
    .destroy('ifd2', 'hwpt3')
    .destroy('ifd2', 'ioas3')
  scenario('vfio_pci_liveupdate_kexec_test.rfc-v2.json', {
    name: 'vfio_pci_liveupdate_kexec_test-rfc-v2',
    description:
      'samikhawaja/linux tools/testing/selftests/vfio/vfio_pci_liveupdate_kexec_test.c @ 28ee7853c9318aaaa71e8f7df8092daa9b20f220 (the RFC v2 text: struct iommu_hwpt_lu_set_preserve with .preserve = 1, IOMMU_HWPT_LU_RESTORE; 16 versions, the others are the VFIO base series without iommufd preservation, see README), before_kexec() then (kexec) after_kexec() through luo_test(); libvfio from tools/testing/selftests/vfio/lib/iommu.c @ 385c36822c18 (iommu_init, iommufd_iommu_init, iommu_cleanup). ' +
      'Before: the device is set up on an auto domain, moved to a dedicated HWPT (replace), the old IOAS destroyed; a 3 MiB memfd (flags 0) is preserved and mapped at 4 GiB (memcpy region) and right after it (driver region); the HWPT is marked, the iommufd and the device preserved; the selftests-driver branch starts a memcpy (DMA read of the source, write of the destination) and disables MSI-X so freeze() passes. ' +
      'After: opening the cdev fails with EBUSY (vfio_pci_liveupdate.c: a preserved device cannot be opened until retrieved); FINISH fails before the device is retrieved and again before it is bound (EBUSY: luo_file_can_finish_one; the iommufd is not retrieved yet, V1 iommufd_liveupdate_can_finish: !args->retrieved; vfio_pci_liveupdate_can_finish: retrieve_status <= 0 / liveupdate_incoming_state still set); the iommufd is retrieved, the device bound, a new IOAS and HWPT made and the memfd mapped again, LU_RESTORE; DMA reaches the same pages through the restored domain; attaching the new HWPT replaces it and FINISH succeeds with the restored HWPT still allocated; DMA again; cleanup. ' +
      'Changed: MEMCPY_SIZE SZ_1G is scaled to 2 MiB; the dup() of the iommufd in iommufd_iommu_init() is the same fd (luv has no dup), so iommu_cleanup()\'s close() of the original and of the dup are dropped; iommu_map() of the memfd\'s mmap is IOMMU_IOAS_MAP_FILE (audit M-I2); the memcpy is two DMA accesses, the data comparison is not translated. ' +
      'Under rfc-v2 (replaceSwap=teardown-then-setup, inferred) the replace of the restored domain has a window where the running device faults: luv\'s dma-continuity finding for that design, declared in expectViolations (the selftest asserts nothing about it; its comment says the device is reset at freeze anyway).',
    platform: devPlatform(1024),
    design: { profile: 'rfc-v2' },
    expectViolations: ['dma-continuity'],
    steps: s.list,
  })
}

// ---- write ----------------------------------------------------------------------------------

/** Top-level keys one per line, one step per line, like the scenarios in properties/scenarios/. */
function render(body) {
  const { steps, ...head } = body
  const keys = Object.entries(head).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
  const lines = steps.map((st) => '    ' + JSON.stringify(st))
  return `{\n${keys.join(',\n')},\n  "steps": [\n${lines.join(',\n')}\n  ]\n}\n`
}

const check = process.argv.includes('--check')
let stale = 0
for (const { file, body } of files) {
  const path = join(DIR, file)
  const text = render(body)
  if (check) {
    let old = ''
    try {
      old = readFileSync(path, 'utf8')
    } catch {}
    if (old !== text) {
      console.error(`stale: ${file}`)
      stale++
    }
  } else writeFileSync(path, text)
}
if (check && stale) process.exit(1)
if (!check) console.log(`wrote ${files.length} files to ${DIR}`)
