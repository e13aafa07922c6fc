import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesSource, isPStorageError, PStorageError, requireOp } from '@pstorage/core'
import { runBackendDriverSuite, TRAVERSAL_CASES } from '@pstorage/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { type CommandResult, type CommandRunner, createNfsDriver } from '../src/index.js'

// Mount mode needs a kernel NFS client, which these machines lack (see README). Here the
// runner only records the commands and "mounts" nothing: the mount point is a plain temp
// directory. What this proves is the mode's own logic: it mounts once on first use, before
// nothing else, never after a refused path, delegates every method to core's local driver
// over the mount point, and unmounts once on close.

interface Recorder extends CommandRunner {
  readonly calls: string[][]
}

function recorder(answer: (argv: readonly string[]) => CommandResult = () => ok): Recorder {
  const calls: string[][] = []
  return {
    calls,
    async run(argv) {
      calls.push([...argv])
      return answer(argv)
    },
  }
}
const ok: CommandResult = { code: 0, stdout: '', stderr: '' }

let mountPoint = ''
const dirs: string[] = []
async function freshMountPoint(): Promise<string> {
  mountPoint = await mkdtemp(join(tmpdir(), 'pstorage-nfs-mnt-'))
  dirs.push(mountPoint)
  return mountPoint
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

runBackendDriverSuite({
  name: 'nfs (mount mode over a simulated mount)',
  async create() {
    return createNfsDriver({
      mode: 'mount',
      server: 'nas.lan',
      export: '/srv/templates',
      mountPoint: await freshMountPoint(),
      runner: recorder(),
    })
  },
})

describe('nfs mount mode', () => {
  it('mounts once on first use with the validated argv, and unmounts once on close', async () => {
    const runner = recorder()
    const mp = await freshMountPoint()
    const driver = createNfsDriver({
      mode: 'mount',
      server: '10.0.0.5',
      export: '/srv/iso/',
      mountPoint: mp,
      mountOptions: ['vers=4.2', 'hard', 'timeo=600'],
      runner,
    })
    expect(runner.calls).toEqual([]) // nothing runs at creation
    await Promise.all([driver.list('/'), driver.stat('/'), driver.test()])
    await requireOp(driver, 'write')('/a.txt', bytesSource(new TextEncoder().encode('a')))
    expect(await readdir(mp)).toEqual(['a.txt'])
    await driver.close()
    await driver.close()
    expect(runner.calls).toEqual([
      ['mount', '-t', 'nfs', '-o', 'nosuid,nodev,vers=4.2,hard,timeo=600', '10.0.0.5:/srv/iso', mp],
      ['umount', mp],
    ])
    expect(await driver.list('/').catch((e) => e.code)).toBe('service_unavailable')
  })

  it('refuses bad paths before mounting, and bad options at creation', async () => {
    const runner = recorder()
    const driver = createNfsDriver({
      mode: 'mount',
      server: 'nas',
      export: '/e',
      mountPoint: await freshMountPoint(),
      runner,
    })
    for (const c of TRAVERSAL_CASES) {
      expect(await driver.stat(c.path).catch((e) => e.code)).toBe('bad_request')
      expect(await requireOp(driver, 'delete')([c.path]).catch((e) => e.code)).toBe('bad_request')
    }
    expect(runner.calls).toEqual([])
    await driver.close()
    expect(runner.calls).toEqual([]) // never mounted, so never unmounted
    const bad = () =>
      createNfsDriver({
        mode: 'mount',
        server: 'nas',
        export: '/e',
        mountPoint: '/mnt/x',
        mountOptions: ['exec'],
        runner,
      })
    expect(bad).toThrow(expect.objectContaining({ code: 'bad_request' }))
    expect(runner.calls).toEqual([])
  })

  it('reports a failed mount as ok: false / service_unavailable and retries next call', async () => {
    let fail = true
    const runner = recorder(() =>
      fail ? { code: 32, stdout: '', stderr: 'mount.nfs: access denied by server' } : ok,
    )
    const driver = createNfsDriver({
      mode: 'mount',
      server: 'nas',
      export: '/e',
      mountPoint: await freshMountPoint(),
      runner,
    })
    const result = await driver.test()
    expect(result).toMatchObject({ ok: false, message: 'Mounting the NFS export failed' })
    const error = await driver.list('/').catch((e) => e)
    expect(isPStorageError(error, 'service_unavailable')).toBe(true)
    expect(String(error.cause)).toMatch(/access denied by server/)
    fail = false
    expect((await driver.list('/')).items).toEqual([])
    expect(runner.calls.filter((c) => c[0] === 'mount')).toHaveLength(3)
    await driver.close()
  })

  it('runs checkHost before mounting: a refused server is never mounted', async () => {
    const runner = recorder()
    const checked: string[] = []
    const driver = createNfsDriver({
      mode: 'mount',
      server: '169.254.169.254',
      export: '/e',
      mountPoint: await freshMountPoint(),
      runner,
      checkHost: async (host) => {
        checked.push(host)
        throw new PStorageError('forbidden', `${host} is refused`)
      },
    })
    expect(await driver.list('/').catch((e) => e.code)).toBe('forbidden')
    expect((await driver.test()).ok).toBe(false)
    expect(checked).toEqual(['169.254.169.254', '169.254.169.254'])
    expect(runner.calls).toEqual([])
    await driver.close()
  })

  it('reports a failed unmount from close', async () => {
    const runner = recorder((argv) =>
      argv[0] === 'umount' ? { code: 32, stdout: '', stderr: 'target is busy' } : ok,
    )
    const driver = createNfsDriver({
      mode: 'mount',
      server: 'nas',
      export: '/e',
      mountPoint: await freshMountPoint(),
      runner,
    })
    await driver.list('/')
    expect(await driver.close().catch((e) => e.code)).toBe('service_unavailable')
    await driver.close() // idempotent after a failure too
  })
})
