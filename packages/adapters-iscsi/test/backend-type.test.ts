import { createAddressGuard, IscsiBackendConfigSchema } from '@pstorage/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIscsiBackendType, openTargetDriver } from '../src/backend-type.js'
import { startTargetHost, type TargetHost } from '../src/testing.js'

// The connection test of an `iscsi` backend, against the real sshd + tgtd.
let host: TargetHost
const ctx = (allowPrivate: boolean) => ({
  id: 'backend-1',
  guard: createAddressGuard({ allowPrivate }),
  localRoots: [],
})

beforeAll(async () => {
  host = await startTargetHost()
})
afterAll(async () => {
  await host?.stop()
})

function config(extra: Record<string, unknown> = {}) {
  return IscsiBackendConfigSchema.parse({
    host: host.ssh.host,
    ssh_port: host.ssh.port,
    username: 'root',
    private_key: host.ssh.privateKey,
    target_manager: 'tgt',
    backing_dir: host.backingDir,
    portal_address: '127.0.0.1',
    portal_port: host.tgtdPort,
    ...extra,
  })
}

describe('iscsi backend type: connection test', () => {
  const type = () =>
    createIscsiBackendType({ tgt: { controlPort: host.controlPort, configDir: host.configDir } })

  it('logs in, probes tgt and the backing directory, and shows the host key it saw', async () => {
    const result = await type().test!(config(), ctx(true))
    expect(result.ok).toBe(true)
    expect(result.message).toMatch(/^Connected: tgt 1\.0\.\d+, [\d.]+ GiB free in \//)
    expect(result.details).toMatchObject({
      host_key_fingerprint: host.ssh.hostKeyFingerprint,
      host_key_pinned: false,
      manager: 'tgt',
      backing_dir: host.backingDir,
    })
    expect(result.details?.free_bytes).toBeGreaterThan(0)
  })

  it('fails on a pinned fingerprint that does not match, showing the one seen', async () => {
    const wrong = 'SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
    const result = await type().test!(config({ host_key_fingerprint: wrong }), ctx(true))
    expect(result.ok).toBe(false)
    expect(result.message).toContain(`saw ${host.ssh.hostKeyFingerprint}`)
    expect(result.details).toEqual({ host_key_fingerprint: host.ssh.hostKeyFingerprint })
    const pinned = await type().test!(
      config({ host_key_fingerprint: host.ssh.hostKeyFingerprint }),
      ctx(true),
    )
    expect(pinned).toMatchObject({ ok: true, details: { host_key_pinned: true } })
  })

  it('answers ok: false for a missing backing directory or a stopped target manager', async () => {
    const missing = await type().test!(
      config({ backing_dir: `${host.backingDir}/nope` }),
      ctx(true),
    )
    expect(missing.ok).toBe(false)
    const noTgtd = await createIscsiBackendType({ tgt: { controlPort: 32_767 } }).test!(
      config(),
      ctx(true),
    )
    expect(noTgtd).toMatchObject({ ok: false })
    expect(noTgtd.message).toMatch(/tgtd is not answering/)
  })

  it('takes the tgtd control port and config directory from the stored config', async () => {
    const stored = config({ tgt_control_port: host.controlPort, tgt_config_dir: host.configDir })
    const result = await createIscsiBackendType().test!(stored, ctx(true))
    expect(result, result.message).toMatchObject({ ok: true })
  })

  it('opens the target driver the LUN service manages LUNs with', async () => {
    const driver = await type().openTarget!(config(), ctx(true))
    try {
      expect(driver.name).toBe('tgt')
      expect(await driver.list()).toEqual([])
      expect((await driver.probe()).backingDir).toBe(host.backingDir)
    } finally {
      await driver.close()
    }
    await expect(type().openTarget!(config(), ctx(false))).rejects.toMatchObject({
      code: 'forbidden',
    })
  })

  it('checks the address policy again on every reconnection', async () => {
    let allow = true
    const guard = {
      allowPrivate: true,
      async check() {
        if (!allow) throw Object.assign(new Error('refused'), { code: 'forbidden' })
      },
    }
    const { driver, runner } = openTargetDriver(
      config(),
      { tgt: { controlPort: host.controlPort, configDir: host.configDir } },
      { ...ctx(true), guard },
    )
    try {
      expect(await driver.list()).toEqual([])
      allow = false
      // Drop this connection: kill its own sshd session process (the parent of `timeout`).
      await runner.run(['sh', '-c', 'kill -9 $(ps -o ppid= -p $PPID)']).catch(() => undefined)
      await new Promise((r) => setTimeout(r, 300))
      await expect(driver.list()).rejects.toMatchObject({ code: 'forbidden' })
      allow = true
      expect(await driver.list()).toEqual([])
    } finally {
      await driver.close()
    }
  })

  it('honours the address policy before connecting', async () => {
    const result = await type().test!(config(), ctx(false))
    expect(result.ok).toBe(false)
    expect(result.details).toBeUndefined()
    await expect(type().validate!(config(), ctx(false))).rejects.toMatchObject({
      code: 'forbidden',
    })
  })
})
