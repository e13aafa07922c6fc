import { lstat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isPStorageError, type TargetDriver } from '@pstorage/core'
import { runTargetDriverSuite } from '@pstorage/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withCommandAudit } from '../src/command-audit.js'
import { createSshCommandRunner } from '../src/ssh-runner.js'
import { startTargetHost, type TargetHost } from '../src/testing.js'
import { createTgtDriver } from '../src/tgt-driver.js'

// The tgt driver against a real tgtd, reached through a real sshd as root (no sudo).
let host: TargetHost

beforeAll(async () => {
  host = await startTargetHost()
})
afterAll(async () => {
  await host?.stop()
})

function driver(): TargetDriver {
  return createTgtDriver({
    runner: createSshCommandRunner({ ...host.ssh }),
    backingDir: host.backingDir,
    controlPort: host.controlPort,
    configDir: host.configDir,
  })
}

runTargetDriverSuite({
  name: 'tgt over ssh (real sshd + tgtd)',
  create: async () => driver(),
  get portal() {
    return { address: '127.0.0.1', port: host.tgtdPort }
  },
  backingFiles: {
    async size(name) {
      const st = await lstat(join(host.backingDir, name)).catch(() => null)
      return st?.isFile() ? st.size : null
    },
    async create(name, size) {
      const path = join(host.backingDir, name)
      await writeFile(path, '')
      await truncate(path, size)
    },
  },
})

/** A tgtd control port no tgtd listens on: its socket does not exist. */
async function unusedControlPort(): Promise<number> {
  for (let port = 1; ; port++)
    if (!(await lstat(`/var/run/tgtd/socket.${port}`).catch(() => null))) return port
}

describe('tgt driver: beyond the suite', () => {
  it('refuses hostile values without running a single command', async () => {
    const commands: string[][] = []
    const d = createTgtDriver({
      runner: withCommandAudit(createSshCommandRunner({ ...host.ssh }), (e) =>
        commands.push([...e.argv]),
      ),
      backingDir: host.backingDir,
      controlPort: host.controlPort,
      configDir: host.configDir,
    })
    const iqn = 'iqn.2025-01.test.pstorage:hostile'
    const portal = { address: '127.0.0.1', port: host.tgtdPort }
    const hostile = ["x'y", 'x;reboot', '$(reboot)', '`reboot`', 'x\nreboot', 'x y', '../..']
    const calls: (() => Promise<unknown>)[] = []
    for (const h of hostile) {
      const lun = { name: 'ok', iqn, sizeBytes: 1 << 20, backingFile: 'ok.img', portal }
      calls.push(
        () => d.createLun({ ...lun, name: h }),
        () => d.createLun({ ...lun, iqn: `${iqn}${h}` }),
        () => d.createLun({ ...lun, backingFile: h }),
        () => d.createLun({ ...lun, portal: { address: h, port: 3260 } }),
        () => d.deleteLun({ iqn, backingFile: h }),
        () => d.deleteLun({ iqn: h, backingFile: 'ok.img' }),
        () => d.setChap({ iqn, userid: h, secret: 'Abc123Def456' }),
        () => d.setChap({ iqn, userid: 'u', secret: `Abc123Def4${h}`.slice(0, 14) }),
        () => d.setChap({ iqn: h, userid: 'u', secret: 'Abc123Def456' }),
        () => d.clearChap({ iqn: h }),
        () => d.allowInitiator({ iqn, initiatorIqn: `iqn.2025-01.a.b:${h}` }),
        () => d.denyInitiator({ iqn, initiatorIqn: h }),
      )
    }
    for (const call of calls) {
      const e = await call().catch((x: unknown) => x)
      expect(isPStorageError(e, 'bad_request'), String(e)).toBe(true)
    }
    expect(commands).toEqual([])
    await d.close()
  })

  it('refuses unsafe options at construction', () => {
    const runner = createSshCommandRunner({ ...host.ssh })
    for (const backingDir of ['relative', '/srv/../etc', '/srv/a b', "/srv/x'", '/', '/srv/'])
      expect(() => createTgtDriver({ runner, backingDir }), backingDir).toThrow(/backingDir/)
    expect(() => createTgtDriver({ runner, backingDir: '/srv', controlPort: 40_000 })).toThrow(
      /controlPort/,
    )
    expect(() =>
      createTgtDriver({ runner, backingDir: '/srv', configDir: '/etc/tgt/../x' }),
    ).toThrow(/configDir/)
  })

  it('lists a target made by hand, and refuses to change it', async () => {
    const foreign = 'iqn.2024-06.lab.example:by-hand'
    const file = join(host.configDir, '..', 'by-hand.img')
    await writeFile(file, '')
    await truncate(file, 1 << 20)
    const admin = [...host.tgtadm.slice(1), '--lld', 'iscsi']
    const { tool } = await import('./initiator.js')
    await tool(host.tgtadm[0]!, [
      ...admin,
      '--op',
      'new',
      '--mode',
      'target',
      '--tid',
      '900',
      '--targetname',
      foreign,
    ])
    await tool(host.tgtadm[0]!, [
      ...admin,
      '--op',
      'new',
      '--mode',
      'logicalunit',
      '--tid',
      '900',
      '--lun',
      '1',
      '--backing-store',
      file,
    ])
    await tool(host.tgtadm[0]!, [
      ...admin,
      '--op',
      'bind',
      '--mode',
      'target',
      '--tid',
      '900',
      '--initiator-address',
      'ALL',
    ])
    const d = driver()
    try {
      const found = (await d.list()).find((t) => t.iqn === foreign)
      expect(found).toEqual({
        iqn: foreign,
        name: null,
        luns: [{ lun: 1, backingPath: file, backingFile: null, sizeBytes: 1 << 20 }],
        portals: [{ address: '127.0.0.1', port: host.tgtdPort }],
        initiators: [],
        initiatorAddresses: ['ALL'],
        chapUser: null,
      })
      const e = await d
        .allowInitiator({ iqn: foreign, initiatorIqn: 'iqn.2025-01.test.pstorage:x' })
        .catch((x) => x)
      expect(isPStorageError(e, 'conflict')).toBe(true)
      expect(isPStorageError(await d.clearChap({ iqn: foreign }).catch((x) => x), 'conflict')).toBe(
        true,
      )
    } finally {
      await tool(host.tgtadm[0]!, [...admin, '--op', 'delete', '--mode', 'target', '--tid', '900'])
      await d.close()
    }
  })

  it('keeps the CHAP secret out of every error', async () => {
    const d = driver()
    const secret = 'Zz9-Secret.+12'
    try {
      // A target PStorage does not manage: the error names it, not the secret.
      const e = await d
        .setChap({ iqn: 'iqn.2025-01.test.pstorage:nope', userid: 'u', secret })
        .catch((x) => x)
      expect(isPStorageError(e, 'not_found')).toBe(true)
      expect(JSON.stringify([e.message, e.details])).not.toContain(secret)
    } finally {
      await d.close()
    }
  })

  it('reports a stopped tgtd as service_unavailable in probe()', async () => {
    const d = createTgtDriver({
      runner: createSshCommandRunner({ ...host.ssh }),
      backingDir: host.backingDir,
      controlPort: await unusedControlPort(),
      configDir: host.configDir,
    })
    try {
      const e = await d.probe().catch((x) => x)
      expect(isPStorageError(e, 'service_unavailable')).toBe(true)
      expect(e.message).toMatch(/tgtd is not answering/)
    } finally {
      await d.close()
    }
  })
})
