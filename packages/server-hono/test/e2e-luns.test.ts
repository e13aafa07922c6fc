import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { startTargetHost, type TargetHost } from '@pstorage/adapters-iscsi/testing'
import type { PStorageClient } from '@pstorage/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminClient, apiError, type ServerProcess, startServerProcess } from './server-process.js'

/**
 * iSCSI LUNs end to end (issue 7): the server manages a real tgtd over a real sshd (this host
 * over loopback), through the HTTP API and the generated client; what it did is checked with
 * the real initiator tools of libiscsi-bin, never with the server's own word for it.
 */
const run = promisify(execFile)
let server: ServerProcess
let client: PStorageClient
let host: TargetHost
let backendId = ''
const GiB = 1024 ** 3
const NODE1 = 'iqn.2026-01.lab.example:node1'
const NODE2 = 'iqn.2026-01.lab.example:node2'

/** An initiator tool's answer; a failed login is a result, not an exception. */
async function tool(program: string, args: string[]) {
  try {
    const { stdout, stderr } = await run(program, args, { timeout: 30_000 })
    return { code: 0, out: stdout + stderr }
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string }
    return { code: err.code ?? -1, out: (err.stdout ?? '') + (err.stderr ?? '') }
  }
}
const url = (iqn: string, chap?: { userid: string; secret: string }) =>
  `iscsi://${chap ? `${chap.userid}%${chap.secret}@` : ''}127.0.0.1:${host.tgtdPort}/${iqn}/1`
/** `iscsi-readcapacity16` as initiator `name`: the size in bytes, or null if refused. */
async function capacity(iqn: string, name: string, chap?: { userid: string; secret: string }) {
  const r = await tool('iscsi-readcapacity16', ['-i', name, url(iqn, chap)])
  const size = /Total size:(\d+)/.exec(r.out)?.[1]
  return size === undefined ? null : Number(size)
}
/** The target names tgtd itself serves (`tgtadm --op show`), independent of PStorage. */
async function targetsOnHost(): Promise<string> {
  const shown = await tool(host.tgtadm[0]!, [
    ...host.tgtadm.slice(1),
    ...['--lld', 'iscsi', '--op', 'show', '--mode', 'target'],
  ])
  expect(shown.code, shown.out).toBe(0)
  return shown.out
}
async function settled(id: string) {
  let lun = await client.getLun(id)
  for (let i = 0; i < 200 && (lun.status === 'creating' || lun.status === 'deleting'); i++) {
    await new Promise((r) => setTimeout(r, 100))
    lun = await client.getLun(id).catch(() => ({ ...lun, status: 'gone' as never }))
  }
  return lun
}

beforeAll(async () => {
  host = await startTargetHost()
  server = await startServerProcess({ env: { PSTORAGE_ALLOW_PRIVATE_ADDRESSES: 'true' } })
  client = await adminClient(server.url)
  const backend = await client.createBackend({
    name: 'san',
    type: 'iscsi',
    config: {
      host: host.ssh.host,
      ssh_port: host.ssh.port,
      username: host.ssh.username,
      private_key: host.ssh.privateKey,
      host_key_fingerprint: host.ssh.hostKeyFingerprint,
      target_manager: 'tgt',
      backing_dir: host.backingDir,
      portal_address: '127.0.0.1',
      portal_port: host.tgtdPort,
      tgt_control_port: host.controlPort,
      tgt_config_dir: host.configDir,
    },
  })
  backendId = backend.id
}, 120_000)
afterAll(async () => {
  await server?.stop()
  await host?.stop()
  // The restarted server reused the first one's data directory, which stop() then keeps.
  await rm(server?.dataDir ?? '', { recursive: true, force: true })
})

describe('iscsi backend', () => {
  it('logs in over SSH and reports the tool, free space and host key it saw', async () => {
    const result = await client.testBackend(backendId)
    expect(result, result.message).toMatchObject({ ok: true, status: 'online' })
    expect(result.details).toMatchObject({
      host_key_fingerprint: host.ssh.hostKeyFingerprint,
      manager: 'tgt',
    })
    expect(JSON.stringify(await client.getBackend(backendId))).not.toContain('PRIVATE KEY')
  })

  it('refuses to connect when the pinned host key does not match, showing the one it saw', async () => {
    const wrong = await client.createBackend({
      name: 'san-wrong-key',
      type: 'iscsi',
      config: {
        host: host.ssh.host,
        ssh_port: host.ssh.port,
        username: 'root',
        private_key: host.ssh.privateKey,
        host_key_fingerprint: `SHA256:${'A'.repeat(43)}`,
        target_manager: 'tgt',
        backing_dir: host.backingDir,
        portal_address: '127.0.0.1',
      },
    })
    const result = await client.testBackend(wrong.id)
    expect(result.ok).toBe(false)
    expect(result.details?.host_key_fingerprint).toBe(host.ssh.hostKeyFingerprint)
    await client.deleteBackend(wrong.id)
  })
})

describe('LUN lifecycle on a real target', () => {
  let lunId = ''
  let iqn = ''
  let node1 = ''
  let node2 = ''

  it('creates a LUN (202 creating → ready) that the initiator sees with the right size', async () => {
    const created = await client.createLun({
      name: 'node1-boot',
      size_gb: 2,
      target_id: backendId,
      purpose: 'boot_from_san',
    })
    expect(created).toMatchObject({ status: 'creating', target_name: 'san', chap_enabled: false })
    expect(created.iqn).toMatch(/^iqn\.\d{4}-\d{2}\.local\.pstorage:node1-boot$/)
    lunId = created.id
    iqn = created.iqn
    const lun = await settled(lunId)
    expect(lun, lun.status_message ?? '').toMatchObject({ status: 'ready' })
    // Unassigned, no initiator may even discover it: ask tgtd itself.
    expect(await targetsOnHost()).toContain(iqn)
    expect(
      (await tool('iscsi-ls', ['-i', NODE1, `iscsi://127.0.0.1:${host.tgtdPort}`])).out,
    ).not.toContain(iqn)
    // The backing file is sparse: 2 GiB long, (almost) nothing allocated.
    const file = await stat(join(host.backingDir, 'node1-boot.img'))
    expect(file.size).toBe(2 * GiB)
    expect(file.blocks * 512).toBeLessThan(1024 * 1024)
  })

  it('admits only assigned machines: node1 logs in after assignment, node2 never', async () => {
    const m1 = await client.createMachine({
      name: 'node1',
      mac_address: '00:11:22:33:44:01',
      initiator_iqn: NODE1,
    })
    const m2 = await client.createMachine({
      name: 'node2',
      mac_address: '00:11:22:33:44:02',
      initiator_iqn: NODE2,
    })
    node1 = m1.id
    node2 = m2.id
    expect(await capacity(iqn, NODE1)).toBeNull()
    const assigned = await client.assignLun(lunId, { node_id: node1 })
    expect(assigned).toMatchObject({
      status: 'active',
      assigned_node_id: node1,
      assigned_node_name: 'node1',
    })
    expect(await capacity(iqn, NODE1)).toBe(2 * GiB)
    expect(await capacity(iqn, NODE2)).toBeNull()
    const seen = await tool('iscsi-ls', ['-i', NODE1, `iscsi://127.0.0.1:${host.tgtdPort}`])
    expect(seen.out).toContain(iqn)
    // Data written by the initiator (qemu's iSCSI client) lands in the backing file.
    const data = randomBytes(3 * 1024 * 1024)
    const source = join(await mkdtemp(join(tmpdir(), 'pstorage-lun-')), 'data.raw')
    await writeFile(source, data)
    const opts = [
      'driver=raw,file.driver=iscsi,file.transport=tcp',
      `file.portal=127.0.0.1:${host.tgtdPort},file.target=${iqn},file.lun=1`,
      `file.initiator-name=${NODE1}`,
    ].join(',')
    const written = await tool('qemu-img', [
      ...['convert', '-n', '-f', 'raw', source, '--target-image-opts', opts],
    ])
    expect(written.code, written.out).toBe(0)
    const file = await open(join(host.backingDir, 'node1-boot.img'))
    const head = Buffer.alloc(data.length)
    await file.read(head, 0, data.length, 0)
    await file.close()
    expect(Buffer.compare(head, data)).toBe(0)
    await rm(dirname(source), { recursive: true, force: true })
    const taken = await apiError(client.assignLun(lunId, { node_id: node2 }))
    expect(taken).toMatchObject({ status: 409, error: 'conflict' })
    expect(await capacity(iqn, NODE2)).toBeNull()
    expect((await apiError(client.deleteMachine(node1))).status).toBe(409)
  })

  it('enforces CHAP once enabled: with the revealed credentials only', async () => {
    const updated = await client.updateLun(lunId, { chap_enabled: true })
    expect(updated).toMatchObject({ chap_enabled: true, chap_user: 'node1-boot' })
    expect(JSON.stringify(updated)).not.toMatch(/secret/)
    const chap = await client.revealLunChap(lunId)
    expect(chap.secret).toMatch(/^[A-Za-z0-9._+-]{12,16}$/)
    expect(await capacity(iqn, NODE1)).toBeNull()
    expect(
      await capacity(iqn, NODE1, { userid: chap.userid, secret: 'wrong-secret-123' }),
    ).toBeNull()
    expect(await capacity(iqn, NODE1, chap)).toBe(2 * GiB)
    await client.updateLun(lunId, { chap_enabled: false })
    expect(await capacity(iqn, NODE1)).toBe(2 * GiB)
    expect((await apiError(client.revealLunChap(lunId))).status).toBe(409)
  })

  it('reconciles: in sync, then reports an orphan target made by hand, without deleting it', async () => {
    const clean = await client.reconcileBackend(backendId)
    expect(clean).toMatchObject({ in_sync: true, orphans: [], missing: [], mismatched: [] })
    const orphan = 'iqn.2026-01.lab.example:by-hand'
    const made = await tool(host.tgtadm[0]!, [
      ...host.tgtadm.slice(1),
      '--lld',
      'iscsi',
      '--op',
      'new',
      '--mode',
      'target',
      '--tid',
      '99',
      '--targetname',
      orphan,
    ])
    expect(made.code, made.out).toBe(0)
    const report = await client.reconcileBackend(backendId)
    expect(report.in_sync).toBe(false)
    expect(report.orphans.map((o) => o.iqn)).toEqual([orphan])
    const again = await client.reconcileBackend(backendId)
    expect(again.orphans.map((o) => o.iqn)).toEqual([orphan])
  })

  it('refuses bad input with 4xx and changes nothing on the host', async () => {
    const before = await readdir(host.backingDir)
    const bad: [unknown, number][] = [
      [{ name: 'Bad Name', size_gb: 1, target_id: backendId }, 422],
      [{ name: 'x;rm -rf /', size_gb: 1, target_id: backendId }, 422],
      [{ name: 'zero', size_gb: 0, target_id: backendId }, 422],
      [{ name: 'huge', size_gb: 10_000_000, target_id: backendId }, 422],
      [{ name: 'nobackend', size_gb: 1, target_id: 'nope' }, 404],
      [{ name: 'node1-boot', size_gb: 1, target_id: backendId }, 409],
    ]
    for (const [body, status] of bad) {
      expect((await apiError(client.createLun(body as never))).status, JSON.stringify(body)).toBe(
        status,
      )
    }
    // Two creates on one host run one after the other: the second is surely still
    // `creating` when its delete arrives, and the delete is refused.
    const first = await client.createLun({ name: 'queued-1', size_gb: 1, target_id: backendId })
    const second = await client.createLun({ name: 'queued-2', size_gb: 1, target_id: backendId })
    const early = await apiError(client.deleteLun(second.id))
    expect(early).toMatchObject({ status: 409, error: 'conflict' })
    expect((await settled(second.id)).status).toBe('ready')
    for (const id of [first.id, second.id]) {
      await client.deleteLun(id)
      await settled(id)
    }
    expect((await apiError(client.getLun('nope'))).status).toBe(404)
    expect((await apiError(client.assignLun(lunId, { node_id: 'nope' }))).status).toBe(404)
    expect((await apiError(client.deleteLun(lunId))).status).toBe(409) // still assigned
    expect((await apiError(client.deleteBackend(backendId))).status).toBe(409) // has LUNs
    expect(await readdir(host.backingDir)).toEqual(before)
  })

  it('unassigns (the initiator is refused again), then deletes the LUN and its file', async () => {
    const un = await client.unassignLun(lunId, { node_id: node1 })
    expect(un).toMatchObject({ status: 'ready', assigned_node_id: null })
    expect(await capacity(iqn, NODE1)).toBeNull()
    const deleting = await client.deleteLun(lunId)
    expect(deleting.status).toBe('deleting')
    await settled(lunId)
    expect((await apiError(client.getLun(lunId))).status).toBe(404)
    expect(await targetsOnHost()).not.toContain(iqn)
    expect(await readdir(host.backingDir)).not.toContain('node1-boot.img')
    await client.deleteMachine(node1)
    await client.deleteMachine(node2)
  })
})

describe('durable LUN jobs', () => {
  it('resumes a create interrupted by a server stop', async () => {
    const created = await client.createLun({ name: 'resumed', size_gb: 1, target_id: backendId })
    // Stop at once (SIGKILL: no chance to finish), then start again on the same data.
    server.child.kill('SIGKILL')
    await new Promise((r) => server.child.once('exit', r))
    const dataDir = server.dataDir
    server = await startServerProcess({
      dataDir,
      env: { PSTORAGE_ALLOW_PRIVATE_ADDRESSES: 'true' },
    })
    client = await adminClient(server.url)
    const lun = await settled(created.id)
    expect(lun, lun.status_message ?? '').toMatchObject({ status: 'ready' })
    expect(await targetsOnHost()).toContain(lun.iqn)
    await client.deleteLun(created.id)
    await settled(created.id)
    expect(await readdir(host.backingDir)).not.toContain('resumed.img')
  })
})
