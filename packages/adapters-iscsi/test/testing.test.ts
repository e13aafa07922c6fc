import { describe, expect, it } from 'vitest'
import { startTargetHost } from '../src/testing.js'

describe('startTargetHost', () => {
  it('names the Debian package of a missing program instead of skipping', async () => {
    await expect(startTargetHost({ binaries: { tgtd: '/nonexistent/tgtd' } })).rejects.toThrow(
      /\/nonexistent\/tgtd is missing.*apt-get install tgt/,
    )
    await expect(startTargetHost({ binaries: { sshd: '/nonexistent/sshd' } })).rejects.toThrow(
      /apt-get install openssh-server/,
    )
  })

  it('starts hosts that do not collide, and cleans up after itself', async () => {
    const [a, b] = await Promise.all([startTargetHost(), startTargetHost()])
    try {
      expect(a.controlPort).not.toBe(b.controlPort)
      expect(a.tgtdPort).not.toBe(b.tgtdPort)
      expect(a.ssh.port).not.toBe(b.ssh.port)
      expect(a.ssh.hostKeyFingerprint).not.toBe(b.ssh.hostKeyFingerprint)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
    const { access } = await import('node:fs/promises')
    await expect(access(a.backingDir)).rejects.toThrow()
    await expect(access(`/var/run/tgtd/socket.${a.controlPort}`)).rejects.toThrow()
  })
})
