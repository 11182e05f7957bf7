// deviceAcrossKexec (fidelity-audit M-K1/M-K2): today's vfio_pci_liveupdate_freeze resets the
// device (vfio_pci_core_try_reset + pci_restore_state) and VFIO has no .unfreeze, so a reboot()
// that fails after the freeze leaves the old kernel running with an idle device; the target
// (keeps-running) leaves it doing DMA. KEXEC {khoFinalizeFails} is the failure after every
// file froze (luo_core.c liveupdate_reboot: kho_finalize -> -EAGAIN).

import { describe, expect, it } from 'vitest'
import { DEV, DEV2, Model, preserved, vmSetup } from './harness.ts'

describe('deviceAcrossKexec', () => {
  it('reset-at-freeze: reboot() fails in kho_finalize (EAGAIN) and the preserved device stays reset', () => {
    const m = new Model({ deviceAcrossKexec: 'reset-at-freeze' })
    preserved(m)
    const pa = m.dma(DEV, 0x100000n)
    expect(pa).not.toBe('fault')
    expect(m.do('KEXEC', { khoFinalizeFails: true })).toEqual({ ok: false, errno: 'EAGAIN' })
    expect(m.s.boot).toBe(0) // the old kernel runs on
    expect(m.do('DMA', { bdf: DEV, iova: 0x100000n })).toEqual({ ok: false, fault: 'device-reset' })
    expect(m.props()).toEqual(expect.arrayContaining(['atomicity', 'dma-continuity']))
  })

  it('keeps-running: the same failed reboot() changes nothing; DMA reaches the same page', () => {
    const m = new Model({ deviceAcrossKexec: 'keeps-running' })
    preserved(m)
    const pa = m.dma(DEV, 0x100000n)
    const before = m.s
    expect(m.errno('KEXEC', { khoFinalizeFails: true })).toBe('EAGAIN')
    expect(m.s).toBe(before)
    expect(m.dma(DEV, 0x100000n)).toBe(pa)
    expect(m.props()).toEqual([])
  })

  it('a later file whose freeze fails (interrupts on: EINVAL) leaves the devices frozen before it reset, not itself', () => {
    const m = new Model({ deviceAcrossKexec: 'reset-at-freeze' })
    const a = vmSetup(m)
    const b = vmSetup(m, { bdf: DEV2 })
    m.out('LIVEUPDATE_OPEN')
    const session = m.out('LIVEUPDATE_IOCTL_CREATE_SESSION', { name: 'vm0' })
    let token = 1n
    for (const fd of [a.memfd, a.ifd, a.cdev, b.memfd, b.ifd, b.cdev]) m.out('LIVEUPDATE_SESSION_PRESERVE_FD', { session, fd, token: token++ })
    m.out('VFIO_DEVICE_SET_IRQS', { cdev: b.cdev, enabled: true })
    expect(m.errno('KEXEC')).toBe('EINVAL')
    expect(m.dma(DEV, 0x100000n)).toBe('fault')
    expect(m.dma(DEV2, 0x100000n)).not.toBe('fault')
    expect(m.props()).toContain('atomicity')
  })

  it('a successful KEXEC is unchanged: the next kernel probes fresh devices (the reset is not carried)', () => {
    const m = new Model({ deviceAcrossKexec: 'reset-at-freeze' })
    preserved(m)
    const pa = m.dma(DEV, 0x100000n)
    expect(m.errno('KEXEC')).toBe('ok')
    expect(m.dma(DEV, 0x100000n)).toBe(pa)
    expect(m.props()).toEqual([])
  })

  it('every posted profile resets at freeze; lpc2025 (the target) keeps the device running', () => {
    expect(new Model({}, 'rfc-v2').s.design.deviceAcrossKexec).toBe('reset-at-freeze')
    expect(new Model({}, 'phase1').s.design.deviceAcrossKexec).toBe('reset-at-freeze')
    expect(new Model({}, 'v3').s.design.deviceAcrossKexec).toBe('reset-at-freeze')
    expect(new Model({}, 'lpc2025').s.design.deviceAcrossKexec).toBe('keeps-running')
  })
})
