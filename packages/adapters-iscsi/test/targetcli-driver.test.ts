import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateChapSecret, isPStorageError } from '@pstorage/core'
import { runTargetDriverSuite } from '@pstorage/core/testing'
import { describe, expect, it } from 'vitest'
import { createTargetcliDriver } from '../src/targetcli-driver.js'
import { createLioFake, type LioDump } from './lio-fake.js'

// targetcli drives LIO, the kernel target: this kernel has neither LIO nor configfs, so the
// driver runs against `createLioFake`, a model of targetcli-fb/rtslib-fb answering the
// driver's commands (see its doc for what it reproduces). It is the package's only test
// double; the command sequence it records is checked against a reviewed transcript. The
// driver still needs a run on a LIO host before production (README).

const backingDir = '/srv/pstorage/luns'
const fixture = async () =>
  JSON.parse(
    await readFile(join(import.meta.dirname, 'fixtures', 'lio-saveconfig.json'), 'utf8'),
  ) as LioDump

const suiteHost = createLioFake({ backingDir, initial: await fixture() })

runTargetDriverSuite({
  name: 'targetcli (LIO model)',
  create: async () => createTargetcliDriver({ runner: suiteHost.runner(), backingDir }),
  portal: { address: '192.0.2.10', port: 3260 },
  backingFiles: {
    async size(name) {
      return suiteHost.files.get(`${backingDir}/${name}`) ?? null
    },
    async create(name, size) {
      suiteHost.files.set(`${backingDir}/${name}`, size)
    },
  },
})

const portal = { address: '192.0.2.10', port: 3260 }
const lun = {
  name: 'vol1',
  iqn: 'iqn.2025-01.local.pstorage:vol1',
  sizeBytes: 10 * 2 ** 30,
  backingFile: 'vol1.img',
  portal,
}
const alice = 'iqn.1993-08.org.debian:01:alice'
const bob = 'iqn.1993-08.org.debian:01:bob'

describe('targetcli driver', () => {
  it('sends the command sequence of iscsi.md (reviewed transcript)', async () => {
    const host = createLioFake({ backingDir })
    const driver = createTargetcliDriver({ runner: host.runner(), backingDir })
    await driver.createLun(lun)
    await driver.allowInitiator({ iqn: lun.iqn, initiatorIqn: alice })
    await driver.setChap({ iqn: lun.iqn, userid: 'alice', secret: 'Abc123Def456' })
    await driver.allowInitiator({ iqn: lun.iqn, initiatorIqn: bob })
    await driver.denyInitiator({ iqn: lun.iqn, initiatorIqn: alice })
    await driver.clearChap({ iqn: lun.iqn })
    await driver.deleteLun({ iqn: lun.iqn, backingFile: lun.backingFile })
    await driver.close()
    await expect(host.render()).toMatchFileSnapshot('./fixtures/targetcli-lifecycle.transcript')
  })

  it('leaves LIO as iscsi.md prescribes: write-through fileio, no default portal, ACL-mapped LUN 0, per-ACL CHAP', async () => {
    const host = createLioFake({ backingDir })
    const driver = createTargetcliDriver({ runner: host.runner(), backingDir })
    await driver.createLun(lun)
    await driver.allowInitiator({ iqn: lun.iqn, initiatorIqn: alice })
    await driver.setChap({ iqn: lun.iqn, userid: 'alice', secret: 'Abc123Def456' })
    await driver.allowInitiator({ iqn: lun.iqn, initiatorIqn: bob })
    const live = host.running()
    expect(live.storage_objects).toMatchObject([
      {
        name: 'vol1',
        plugin: 'fileio',
        dev: `${backingDir}/vol1.img`,
        size: lun.sizeBytes,
        write_back: false,
      },
    ])
    const tpg = live.targets[0]!.tpgs[0]!
    expect(tpg.portals).toEqual([
      { ip_address: '192.0.2.10', iser: false, offload: false, port: 3260 },
    ])
    expect(tpg.luns).toMatchObject([{ index: 0, storage_object: '/backstores/fileio/vol1' }])
    expect(tpg.attributes).toMatchObject({ authentication: 1, generate_node_acls: 0 })
    for (const acl of tpg.node_acls)
      expect(acl).toMatchObject({
        chap_userid: 'alice',
        chap_password: 'Abc123Def456',
        mapped_luns: [{ index: 0, tpg_lun: 0, write_protect: false }],
      })
    expect(tpg.node_acls.map((a) => a.node_wwn)).toEqual([alice, bob])
    // A sparse file was created before the backstore, and only one.
    expect([...host.files]).toEqual([[`${backingDir}/vol1.img`, lun.sizeBytes]])
  })

  it('keeps CHAP secrets off every command line: they go on stdin', async () => {
    const host = createLioFake({ backingDir })
    const driver = createTargetcliDriver({ runner: host.runner(), backingDir })
    const secret = generateChapSecret()
    await driver.createLun(lun)
    await driver.allowInitiator({ iqn: lun.iqn, initiatorIqn: alice })
    await driver.setChap({ iqn: lun.iqn, userid: 'alice', secret })
    await driver.allowInitiator({ iqn: lun.iqn, initiatorIqn: bob })
    expect(host.transcript.some((e) => e.stdin?.includes(secret))).toBe(true)
    expect(host.transcript.every((e) => !e.argv.join(' ').includes(secret))).toBe(true)
    expect(host.render()).not.toContain(secret)
  })

  it('reads state from saveconfig.json, foreign targets included, never their passwords', async () => {
    const host = createLioFake({ backingDir, initial: await fixture() })
    const driver = createTargetcliDriver({ runner: host.runner(), backingDir })
    const listed = await driver.list()
    expect(listed).toEqual([
      {
        iqn: 'iqn.2003-01.org.linux-iscsi.storage1.x8664:sn.1234abcd5678',
        name: null,
        luns: [{ lun: 0, backingPath: '/dev/vg0/legacy', backingFile: null, sizeBytes: null }],
        portals: [{ address: '0.0.0.0', port: 3260 }],
        initiators: ['iqn.1994-05.com.redhat:5b3c1d2e4f6a'],
        initiatorAddresses: [],
        chapUser: 'legacyuser',
      },
    ])
    expect(JSON.stringify(listed)).not.toContain('LegacyPass123')
    // Never `targetcli ls`: one read of the file, nothing else.
    expect(host.transcript.map((e) => e.argv[0])).toEqual(['stat', 'cat'])
    // Foreign targets are not PStorage's to change.
    const e = await driver
      .allowInitiator({ iqn: listed[0]!.iqn, initiatorIqn: alice })
      .catch((x: unknown) => x)
    expect(isPStorageError(e, 'conflict')).toBe(true)
  })

  it('reports demo mode (generate_node_acls=1) as the address ACL ALL', async () => {
    const initial = await fixture()
    initial.targets[0]!.tpgs[0]!.attributes.generate_node_acls = 1
    initial.targets[0]!.tpgs[0]!.attributes.authentication = 0
    const driver = createTargetcliDriver({
      runner: createLioFake({ backingDir, initial }).runner(),
      backingDir,
    })
    const [t] = await driver.list()
    expect(t).toMatchObject({ initiatorAddresses: ['ALL'], chapUser: null })
  })

  it('detects a change targetcli did not apply although it exited 0, and rolls back', async () => {
    const host = createLioFake({ backingDir })
    const driver = createTargetcliDriver({ runner: host.runner(), backingDir })
    host.swallowNext('/luns create')
    const e = await driver.createLun(lun).catch((x: unknown) => x)
    expect(isPStorageError(e, 'internal_error')).toBe(true)
    expect((e as Error).message).toMatch(/targetcli did not create the LUN/)
    expect(host.running().targets).toEqual([])
    expect(host.running().storage_objects).toEqual([])
    expect(host.files.size).toBe(0)
    // And nothing is half-done: the same call then succeeds.
    expect((await driver.createLun(lun)).luns).toHaveLength(1)
  })

  it('verifies CHAP landed on every ACL', async () => {
    const host = createLioFake({ backingDir })
    const driver = createTargetcliDriver({ runner: host.runner(), backingDir })
    await driver.createLun(lun)
    await driver.allowInitiator({ iqn: lun.iqn, initiatorIqn: alice })
    host.swallowNext((argv) => argv.length === 1) // the stdin session
    const e = await driver
      .setChap({ iqn: lun.iqn, userid: 'alice', secret: 'Abc123Def456' })
      .catch((x: unknown) => x)
    expect(isPStorageError(e, 'internal_error')).toBe(true)
    expect(
      JSON.stringify([(e as Error).message, (e as { details?: unknown }).details]),
    ).not.toContain('Abc123Def456')
  })

  it('works on kernels whose TPGs have no auth group: credentials live on the ACLs', async () => {
    const host = createLioFake({ backingDir, tpgAuth: false })
    const driver = createTargetcliDriver({ runner: host.runner(), backingDir })
    await driver.createLun(lun)
    await driver.allowInitiator({ iqn: lun.iqn, initiatorIqn: alice })
    await driver.setChap({ iqn: lun.iqn, userid: 'alice', secret: 'Abc123Def456' })
    await driver.allowInitiator({ iqn: lun.iqn, initiatorIqn: bob })
    const tpg = host.running().targets[0]!.tpgs[0]!
    expect(tpg.chap_userid).toBeUndefined()
    expect(tpg.node_acls.map((a) => [a.node_wwn, a.chap_userid, a.chap_password])).toEqual([
      [alice, 'alice', 'Abc123Def456'],
      [bob, 'alice', 'Abc123Def456'],
    ])
    expect((await driver.list())[0]?.chapUser).toBe('alice')
  })

  it('answers internal_error, without the content, for a saveconfig.json that is not JSON', async () => {
    const host = createLioFake({ backingDir })
    const runner = host.runner()
    const broken = {
      target: runner.target,
      close: () => runner.close(),
      run: async (argv: readonly string[], o?: { stdin?: string }) =>
        argv[0] === 'cat'
          ? { code: 0, stdout: '{"password": "Abc123Def456", ', stderr: '' }
          : runner.run(argv, o),
    }
    await createTargetcliDriver({ runner: host.runner(), backingDir }).save()
    const e = await createTargetcliDriver({ runner: broken, backingDir })
      .list()
      .catch((x: unknown) => x)
    expect(isPStorageError(e, 'internal_error')).toBe(true)
    expect((e as Error).message).not.toContain('Abc123')
  })

  it('uses the configured saveconfig path, or finds the distribution one', async () => {
    const rhel = createLioFake({ backingDir, saveconfigPath: '/etc/target/saveconfig.json' })
    const d1 = createTargetcliDriver({ runner: rhel.runner(), backingDir })
    await d1.createLun(lun)
    expect((await d1.list()).map((t) => t.iqn)).toEqual([lun.iqn])
    const d2 = createTargetcliDriver({
      runner: rhel.runner(),
      backingDir,
      saveconfigPath: '/etc/target/saveconfig.json',
    })
    expect((await d2.list()).map((t) => t.iqn)).toEqual([lun.iqn])
  })

  it('probes the targetcli version and the free space', async () => {
    const driver = createTargetcliDriver({
      runner: createLioFake({ backingDir }).runner(),
      backingDir,
    })
    expect(await driver.probe()).toEqual({
      manager: 'targetcli',
      version: '2.1.53',
      backingDir,
      freeBytes: 232214764 * 1024,
      totalBytes: 263671552 * 1024,
    })
  })
})
