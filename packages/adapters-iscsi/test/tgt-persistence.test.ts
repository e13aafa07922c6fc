import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateChapSecret, generateIqn, isPStorageError } from '@pstorage/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSshCommandRunner } from '../src/ssh-runner.js'
import { startTargetHost, type TargetHost } from '../src/testing.js'
import { configFileName, DENY_ALL_ADDRESS } from '../src/tgt-config.js'
import { createTgtDriver } from '../src/tgt-driver.js'
import { capacity, type Initiator, tool } from './initiator.js'

// tgt keeps targets in memory: these tests "reboot" the target host (a fresh tgtd) and
// replay the driver's config files the way tgt's boot unit does (`tgt-admin -e`).
let host: TargetHost
const MiB = 1024 * 1024
const alice: Initiator = { name: 'iqn.2025-01.test.pstorage:alice' }
const bob: Initiator = { name: 'iqn.2025-01.test.pstorage:bob' }
const mallory: Initiator = { name: 'iqn.2025-01.test.pstorage:mallory' }

const newDriver = () =>
  createTgtDriver({
    runner: createSshCommandRunner({ ...host.ssh }),
    backingDir: host.backingDir,
    controlPort: host.controlPort,
    configDir: host.configDir,
  })

beforeAll(async () => {
  host = await startTargetHost()
})
afterAll(async () => {
  await host?.stop()
})

/** What tgt.service does at boot: targets.conf includes conf.d/*.conf. */
async function bootReplay() {
  const top = join(host.configDir, '..', 'targets.conf')
  await writeFile(top, `include ${host.configDir}/*.conf\n`)
  const r = await tool('tgt-admin', ['-C', String(host.controlPort), '-e', '-c', top])
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
}

async function lun(driver: ReturnType<typeof newDriver>, name: string) {
  const iqn = generateIqn({ createdAt: new Date(), name })
  await driver.createLun({
    name,
    iqn,
    sizeBytes: 8 * MiB,
    backingFile: `${name}.img`,
    portal: { address: '127.0.0.1', port: host.tgtdPort },
  })
  return iqn
}

describe('tgt persistence across a target host reboot', () => {
  it('restores targets, ACLs and CHAP exactly, closed to everyone else', async () => {
    const driver = newDriver()
    const secured = await lun(driver, 'boot-secured')
    const closed = await lun(driver, 'boot-closed')
    const open = await lun(driver, 'boot-open')
    await driver.allowInitiator({ iqn: secured, initiatorIqn: alice.name })
    await driver.allowInitiator({ iqn: secured, initiatorIqn: bob.name })
    const chap = { userid: 'boot-chap', secret: generateChapSecret() }
    await driver.setChap({ iqn: secured, ...chap })
    await driver.allowInitiator({ iqn: open, initiatorIqn: alice.name })
    const before = await driver.list()
    await driver.close()

    const file = join(host.configDir, configFileName(secured))
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(await readFile(file, 'utf8')).toContain(`initiator-address ${DENY_ALL_ADDRESS}`)

    await host.restartTgtd()
    const after = newDriver()
    try {
      expect(await after.list()).toEqual([])
      await bootReplay()
      expect(await after.list()).toEqual(before)

      // Access after the reboot is what it was before.
      expect((await capacity(host.tgtdPort, secured, { ...alice, chap })).size).toBe(8 * MiB)
      expect((await capacity(host.tgtdPort, secured, { ...bob, chap })).size).toBe(8 * MiB)
      expect((await capacity(host.tgtdPort, secured, alice)).size).toBeNull()
      expect((await capacity(host.tgtdPort, secured, { ...mallory, chap })).size).toBeNull()
      expect((await capacity(host.tgtdPort, open, alice)).size).toBe(8 * MiB)
      // Without the deny line tgt-admin would have bound ALL: anyone could log in.
      expect((await capacity(host.tgtdPort, open, mallory)).size).toBeNull()
      expect((await capacity(host.tgtdPort, closed, alice)).size).toBeNull()

      // A new driver instance (PStorage restarted) still knows the secret from its file.
      await after.allowInitiator({ iqn: secured, initiatorIqn: mallory.name })
      expect(await readFile(file, 'utf8')).toContain(`incominguser ${chap.userid} ${chap.secret}`)
      await after.save()

      for (const t of await after.list())
        await after.deleteLun({ iqn: t.iqn, backingFile: t.luns[0]!.backingFile! })
      const { stdout } = await tool('ls', [host.configDir])
      expect(stdout).toBe('')
    } finally {
      await after.close()
    }
  }, 180_000)

  it('refuses to save a CHAP secret it never knew, and says which target', async () => {
    const driver = newDriver()
    try {
      const iqn = await lun(driver, 'foreign-chap')
      // CHAP set behind PStorage's back: tgt will not show the password.
      const admin = [...host.tgtadm.slice(1), '--lld', 'iscsi']
      await tool(host.tgtadm[0]!, [
        ...admin,
        '--op',
        'new',
        '--mode',
        'account',
        '--user',
        'x1',
        '--password',
        'Abc123Def456',
      ])
      const shown = await tool(host.tgtadm[0]!, [...admin, '--op', 'show', '--mode', 'target'])
      const tid = new RegExp(`Target (\\d+): ${iqn}\n`).exec(shown.stdout)![1]!
      await tool(host.tgtadm[0]!, [
        ...admin,
        '--op',
        'bind',
        '--mode',
        'account',
        '--tid',
        tid,
        '--user',
        'x1',
      ])

      const e = await driver.save().catch((x) => x)
      expect(isPStorageError(e, 'conflict')).toBe(true)
      expect(e.details).toEqual({ iqns: [iqn] })
      expect(JSON.stringify([e.message, e.details])).not.toContain('Abc123Def456')
      // Setting CHAP through PStorage makes it savable again.
      await driver.setChap({ iqn, userid: 'x1', secret: generateChapSecret() })
      await driver.save()
      await driver.deleteLun({ iqn, backingFile: 'foreign-chap.img' })
    } finally {
      await driver.close()
    }
  }, 60_000)
})
