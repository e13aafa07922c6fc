import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateChapSecret, generateIqn, type TargetDriver } from '@pstorage/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSshCommandRunner } from '../src/ssh-runner.js'
import { startTargetHost, type TargetHost } from '../src/testing.js'
import { createTgtDriver } from '../src/tgt-driver.js'
import {
  capacity,
  discover,
  type Initiator,
  imageOpts,
  readThrough,
  tool,
  writeThrough,
} from './initiator.js'

// What a real initiator (libiscsi, qemu's iSCSI driver) sees of LUNs the tgt driver made,
// through a real sshd and tgtd: discovery, size, ACLs, CHAP and the data path.
let host: TargetHost
let driver: TargetDriver
const MiB = 1024 * 1024
const alice: Initiator = { name: 'iqn.2025-01.test.pstorage:alice' }
const mallory: Initiator = { name: 'iqn.2025-01.test.pstorage:mallory' }

beforeAll(async () => {
  host = await startTargetHost()
  driver = createTgtDriver({
    runner: createSshCommandRunner({ ...host.ssh }),
    backingDir: host.backingDir,
    controlPort: host.controlPort,
    configDir: host.configDir,
  })
})
afterAll(async () => {
  await driver?.close()
  await host?.stop()
})

let serial = 0
async function newLun(sizeBytes = 8 * MiB) {
  const name = `init-${++serial}`
  const iqn = generateIqn({ createdAt: new Date(), name })
  await driver.createLun({
    name,
    iqn,
    sizeBytes,
    backingFile: `${name}.img`,
    portal: { address: '127.0.0.1', port: host.tgtdPort },
  })
  return { name, iqn, path: join(host.backingDir, `${name}.img`) }
}

describe('tgt LUNs seen by a real initiator', () => {
  it('shows a new target only to allowed initiators, with the right size', async () => {
    const { iqn } = await newLun(24 * MiB)
    expect((await discover(host.tgtdPort, alice)).stdout).not.toContain(iqn)
    expect((await capacity(host.tgtdPort, iqn, alice)).size).toBeNull()

    await driver.allowInitiator({ iqn, initiatorIqn: alice.name })
    const seen = await discover(host.tgtdPort, alice)
    expect(seen.code).toBe(0)
    expect(seen.stdout).toContain(`Target:${iqn} Portal:127.0.0.1:${host.tgtdPort}`)
    expect(seen.stdout).toMatch(/Lun:1\s+Type:DIRECT_ACCESS/)
    expect((await capacity(host.tgtdPort, iqn, alice)).size).toBe(24 * MiB)

    const refused = await capacity(host.tgtdPort, iqn, mallory)
    expect(refused.size).toBeNull()
    expect(refused.stderr).toMatch(/Login Failed/)
    expect((await discover(host.tgtdPort, mallory)).stdout).not.toContain(iqn)

    await driver.denyInitiator({ iqn, initiatorIqn: alice.name })
    expect((await capacity(host.tgtdPort, iqn, alice)).size).toBeNull()
  })

  it('enforces CHAP once set, and stops once cleared', async () => {
    const { iqn } = await newLun()
    await driver.allowInitiator({ iqn, initiatorIqn: alice.name })
    const chap = { userid: 'alice-chap', secret: generateChapSecret() }
    await driver.setChap({ iqn, ...chap })

    expect((await capacity(host.tgtdPort, iqn, alice)).stderr).toMatch(/Login Failed/)
    expect((await capacity(host.tgtdPort, iqn, { ...alice, chap })).size).toBe(8 * MiB)
    const wrong = { ...chap, secret: generateChapSecret() }
    expect((await capacity(host.tgtdPort, iqn, { ...alice, chap: wrong })).size).toBeNull()
    // The right secret does not open the door to an initiator outside the ACL.
    expect((await capacity(host.tgtdPort, iqn, { ...mallory, chap })).size).toBeNull()

    const rotated = { userid: 'alice-chap', secret: generateChapSecret() }
    await driver.setChap({ iqn, ...rotated })
    expect((await capacity(host.tgtdPort, iqn, { ...alice, chap })).size).toBeNull()
    expect((await capacity(host.tgtdPort, iqn, { ...alice, chap: rotated })).size).toBe(8 * MiB)

    await driver.clearChap({ iqn })
    expect((await capacity(host.tgtdPort, iqn, alice)).size).toBe(8 * MiB)
  })

  it('lands bytes written through the initiator in the backing file, byte-exact', async () => {
    const { iqn, path } = await newLun(4 * MiB)
    await driver.allowInitiator({ iqn, initiatorIqn: alice.name })
    const chap = { userid: 'data-chap', secret: generateChapSecret() }
    await driver.setChap({ iqn, ...chap })
    const who = { ...alice, chap }

    const data = randomBytes(3 * MiB + 4096)
    const src = join(host.configDir, '..', 'write.bin')
    await writeFile(src, data)
    const wrote = await writeThrough(host.tgtdPort, iqn, who, src)
    expect(wrote.code, wrote.stderr).toBe(0)
    const onDisk = await readFile(path)
    expect(onDisk.length).toBe(4 * MiB)
    expect(onDisk.subarray(0, data.length).equals(data)).toBe(true)
    expect(onDisk.subarray(data.length).every((b) => b === 0)).toBe(true)

    // And the other way: bytes put into the file are what the initiator reads.
    const tail = randomBytes(64 * 1024)
    tail.copy(onDisk, 4 * MiB - tail.length)
    await writeFile(path, onDisk)
    const dst = join(host.configDir, '..', 'read.bin')
    const read = await readThrough(host.tgtdPort, iqn, who, dst)
    expect(read.code, read.stderr).toBe(0)
    expect((await readFile(dst)).equals(onDisk)).toBe(true)
  })

  it('deletes a target while an initiator is logged in, dropping the session', async () => {
    const { iqn, name } = await newLun()
    await driver.allowInitiator({ iqn, initiatorIqn: alice.name })
    const { object, opts } = imageOpts(host.tgtdPort, iqn, alice)
    const session = spawn('qemu-io', [...object, '--image-opts', opts, '-c', 'sleep 20000'], {
      stdio: 'ignore',
    })
    const exited = new Promise((r) => session.once('exit', r))
    try {
      // Wait for the session (an I_T nexus) to show on the target.
      let logged = false
      for (let i = 0; i < 100 && !logged; i++) {
        const show = [...host.tgtadm.slice(1), '--lld', 'iscsi', '--op', 'show', '--mode', 'target']
        logged = (await tool(host.tgtadm[0]!, show)).stdout.includes(`Initiator: ${alice.name}`)
        if (!logged) await new Promise((r) => setTimeout(r, 100))
      }
      expect(logged).toBe(true)
      await driver.deleteLun({ iqn, backingFile: `${name}.img` })
      expect((await driver.list()).some((t) => t.iqn === iqn)).toBe(false)
    } finally {
      session.kill('SIGKILL')
      await exited
    }
  })
})
