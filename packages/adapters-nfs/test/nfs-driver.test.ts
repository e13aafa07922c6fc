import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, lstat, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import {
  type BackendDriver,
  bytesSource,
  createAddressGuard,
  isPStorageError,
  readAllBytes,
  requireOp,
} from '@pstorage/core'
import { pseudoRandomBytes, runBackendDriverSuite, TRAVERSAL_CASES } from '@pstorage/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hint } from '../src/harness/ganesha-config.js'
import { findBinary } from '../src/harness/host.js'
import {
  createNfsBackendType,
  createNfsDriver,
  DRIVER_NAME,
  type NfsUserspaceOptions,
  nfsBackendType,
} from '../src/index.js'
import { NFS_PROGRAM, NFS_V3, STABLE_HOW } from '../src/nfs3/constants.js'
import { resolveUserspaceOptions } from '../src/options.js'
import { getPort } from '../src/rpc/portmap.js'
import { RpcError } from '../src/rpc/rpc-error.js'
import { type GaneshaServer, startGanesha } from '../src/testing.js'
import { openSession } from '../src/userspace/session.js'
import { TEMP_PREFIX } from '../src/userspace/temp-names.js'

// One ganesha for this file (they share rpcbind's registrations, see startGanesha); each test
// gets <export>/t<n>/root as the driver's export (MNT of a subdirectory) and a sibling
// <export>/t<n>/outside that must stay untouched.
const run = promisify(execFile)
const enc = new TextEncoder()
const dec = new TextDecoder()

let g: GaneshaServer
let n = 0
let base = '' // host path of t<n>
let root = '' // host path of the driver's export
let outside = ''

beforeAll(async () => {
  g = await startGanesha()
}, 60_000)
afterAll(async () => {
  await g?.stop()
})

/** Driver options for the current test's root. */
function optionsFor(extra: Partial<NfsUserspaceOptions> = {}): NfsUserspaceOptions {
  return {
    server: g.server,
    export: root,
    port: g.port,
    mountPort: g.mountPort,
    timeoutMs: 10_000,
    ...extra,
  }
}

/** An nfs:// URL for libnfs-utils (nfs-ls, nfs-cat, nfs-cp) with explicit ports. */
function url(path: string): string {
  return `nfs://127.0.0.1${path}?version=3&nfsport=${g.port}&mountport=${g.mountPort}`
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => (isPStorageError(e) ? e.code : String(e)),
  )
}

runBackendDriverSuite({
  name: 'nfs (userspace)',
  async create() {
    base = join(g.dir, `t${++n}`)
    root = join(base, 'root')
    outside = join(base, 'outside')
    await mkdir(root, { recursive: true })
    await mkdir(outside)
    await writeFile(join(outside, 'secret.txt'), 'outside')
    return createNfsDriver(optionsFor())
  },
  // Leave t<n> to ganesha's temp dir, removed by stop(): removing it here while the server
  // may still hold handles to it only risks noise in its log.
  extra(get) {
    const write = (p: string, text: string, overwrite = false) =>
      requireOp(get(), 'write')(p, bytesSource(enc.encode(text)), { overwrite })
    const names = async (p: string) => (await get().list(p)).items.map((i) => i.name)

    describe('nfs: cross-checked with libnfs-utils', () => {
      it('writes a file nfs-cat reads byte-exact', async () => {
        const data = pseudoRandomBytes(3 * 1024 * 1024 + 17, 7)
        await requireOp(get(), 'write')('/dir/big.bin', bytesSource(data, 100_000))
        const { stdout } = await run('nfs-cat', [url(`${root}/dir/big.bin`)], {
          encoding: 'buffer',
          maxBuffer: 8 * 1024 * 1024,
        })
        expect(stdout.length).toBe(data.length)
        expect(createHash('sha256').update(stdout).digest('hex')).toBe(
          createHash('sha256').update(data).digest('hex'),
        )
        // And the host sees the same bytes: nothing was cached or reordered on the way.
        expect((await readFile(join(root, 'dir/big.bin'))).equals(data)).toBe(true)
      })

      it('reads a file nfs-cp placed', async () => {
        const data = pseudoRandomBytes(2 * 1024 * 1024 + 5, 8)
        const local = join(tmpdir(), `pstorage-nfs-cp-${process.pid}-${n}.bin`)
        await writeFile(local, data)
        try {
          await run('nfs-cp', [local, url(`${root}/placed.bin`)])
        } finally {
          await rm(local, { force: true })
        }
        const got = await readAllBytes((await get().read('/placed.bin')).stream)
        expect(Buffer.from(got).equals(data)).toBe(true)
        const part = await readAllBytes(
          (await get().read('/placed.bin', { offset: 1_000_000, length: 70_000 })).stream,
        )
        expect(Buffer.from(part).equals(data.subarray(1_000_000, 1_070_000))).toBe(true)
      })

      it('creates what nfs-ls lists, and no temp file', async () => {
        await requireOp(get(), 'mkdir')('/folder')
        await write('/folder/a.txt', 'a')
        await write('/top.txt', 'top')
        const { stdout } = await run('nfs-ls', [url(root)])
        const listed = stdout
          .trim()
          .split('\n')
          .map((line) => line.split(/\s+/).at(-1))
          .sort()
        expect(listed).toEqual(['folder', 'top.txt'])
        const inner = await run('nfs-ls', [url(`${root}/folder`)])
        expect(inner.stdout).toMatch(/\s1\s+a\.txt$/m)
      })
    })

    describe('nfs: containment', () => {
      it('creates nothing outside the root for any traversal case', async () => {
        for (const c of TRAVERSAL_CASES) {
          await codeOf(write(c.path, 'x', true))
          await codeOf(requireOp(get(), 'mkdir')(c.path))
          await codeOf(requireOp(get(), 'move')('/nope', c.path))
        }
        expect((await readdir(base)).sort()).toEqual(['outside', 'root'])
        expect(await readdir(outside)).toEqual(['secret.txt'])
        expect(await readdir(root)).toEqual([])
        expect(
          (await readdir(g.dir)).every((name) => /^(t\d+|harness|procs|handler)$/.test(name)),
        ).toBe(true)
      })

      it('never lists, reads, writes or deletes through a symlink made on the host', async () => {
        await symlink('/etc', join(root, 'etc-link'))
        await symlink(outside, join(root, 'escape'))
        await symlink(join(outside, 'secret.txt'), join(root, 'secret-link'))
        await write('/a.txt', 'a')
        const d = get()
        expect(await names('/')).toEqual(['a.txt'])
        expect((await d.stat('/')).item_count).toBe(1)
        for (const p of ['/etc-link', '/etc-link/passwd', '/escape/secret.txt', '/secret-link']) {
          expect(await codeOf(d.stat(p)), p).toBe('forbidden')
          expect(await codeOf(d.read(p)), p).toBe('forbidden')
        }
        expect(await codeOf(d.list('/etc-link'))).toBe('forbidden')
        // A missing name behind the link is forbidden too: no oracle for files outside.
        expect(await codeOf(d.stat('/escape/no-such-file'))).toBe('forbidden')
        expect(await codeOf(write('/escape/new.txt', 'x'))).toBe('forbidden')
        expect(await codeOf(write('/escape/sub/new.txt', 'x'))).toBe('forbidden')
        expect(await codeOf(write('/secret-link', 'pwned', true))).toBe('forbidden')
        expect(await codeOf(requireOp(d, 'mkdir')('/escape/dir'))).toBe('forbidden')
        expect(await codeOf(requireOp(d, 'move')('/a.txt', '/escape/a.txt'))).toBe('forbidden')
        expect(await codeOf(requireOp(d, 'move')('/escape/secret.txt', '/stolen'))).toBe(
          'forbidden',
        )
        const del = await requireOp(d, 'delete')(['/escape/secret.txt', '/escape'])
        expect(del.map((r) => r.error?.code)).toEqual(['forbidden', 'forbidden'])
        expect(await readdir(outside)).toEqual(['secret.txt'])
        expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('outside')
        expect((await lstat(join(root, 'escape'))).isSymbolicLink()).toBe(true)
        expect((await requireOp(d, 'stats')()).file_count).toBe(1)
      })

      it('deletes a tree holding a symlink without following it', async () => {
        await write('/d/keep-out/x.txt', 'x')
        await symlink(outside, join(root, 'd', 'link-out'))
        const [r] = await requireOp(get(), 'delete')(['/d'])
        expect(r).toEqual({ path: '/d', deleted: true })
        expect(await readdir(root)).toEqual([])
        expect(await readdir(outside)).toEqual(['secret.txt'])
      })

      it('hides temp files and special files, refuses reserved names, leaves no temp', async () => {
        await writeFile(join(root, `${TEMP_PREFIX}stale`), 'partial')
        await run('mkfifo', [join(root, 'pipe')])
        await writeFile(join(root, 'cafe\u0301.txt'), 'nfd') // NFD name made outside the API
        await writeFile(Buffer.from([...Buffer.from(`${root}/bad-`), 0xff, 0xfe]), 'not utf-8')
        await write('/ok.txt', 'ok')
        expect(await names('/')).toEqual(['ok.txt'])
        expect((await get().stat('/')).item_count).toBe(1)
        expect(await codeOf(get().stat(`/${TEMP_PREFIX}stale`))).toBe('bad_request')
        expect(await codeOf(write(`/d/${TEMP_PREFIX}x`, 'x'))).toBe('bad_request')
        expect(await codeOf(get().read('/pipe'))).toBe('not_found')
        const onHost = (await readdir(root)).filter((f) => f.startsWith(TEMP_PREFIX))
        expect(onHost).toEqual([`${TEMP_PREFIX}stale`])
        expect((await requireOp(get(), 'stats')()).file_count).toBe(3) // ok, NFD, bad-utf8
      })

      it('keeps server paths out of error details', async () => {
        await symlink(outside, join(root, 'escape'))
        const errors = await Promise.all([
          get()
            .stat('/missing/x')
            .catch((e: Error) => e),
          get()
            .read('/escape/secret.txt')
            .catch((e: Error) => e),
          write('/escape/x', 'x').catch((e: Error) => e),
        ])
        for (const e of errors) {
          expect(isPStorageError(e)).toBe(true)
          expect((e as Error).message).not.toContain(g.dir)
          expect((e as Error).message).toMatch(/^\[pstorage\] \[nfs\] /)
        }
      })
    })

    describe('nfs: protocol options', () => {
      it('moves data intact with tiny, unpipelined transfers', async () => {
        const d = createNfsDriver(optionsFor({ ioSize: 4096, ioDepth: 1 }))
        try {
          const data = pseudoRandomBytes(100_003, 3)
          await requireOp(d, 'write')('/small-io.bin', bytesSource(data, 999))
          expect((await readFile(join(root, 'small-io.bin'))).equals(data)).toBe(true)
          const got = await readAllBytes((await d.read('/small-io.bin', { offset: 4095 })).stream)
          expect(Buffer.from(got).equals(data.subarray(4095))).toBe(true)
        } finally {
          await d.close()
        }
      })

      it('sends AUTH_SYS uid/gid: the server enforces them', async () => {
        const d = createNfsDriver(optionsFor({ uid: 4321, gid: 4321 }))
        try {
          expect(
            await codeOf(requireOp(d, 'write')('/denied.txt', bytesSource(enc.encode('x')))),
          ).toBe('forbidden')
          await chmod(root, 0o777)
          await requireOp(d, 'write')('/mine.txt', bytesSource(enc.encode('mine')))
          const st = await lstat(join(root, 'mine.txt'))
          expect([st.uid, st.gid]).toEqual([4321, 4321])
          await write('/root-only', 'secret') // as root, through the suite's driver
          await chmod(join(root, 'root-only'), 0o600)
          const read = await d.read('/root-only') // LOOKUP is allowed; READ is not
          expect(await codeOf(readAllBytes(read.stream))).toBe('forbidden')
        } finally {
          await d.close()
        }
      })

      it('connects from a reserved port when asked (knfsd `secure`)', async () => {
        const d = createNfsDriver(optionsFor({ privilegedPort: true }))
        try {
          await write('/p.txt', 'p')
          expect(await names('/')).toEqual(['p.txt'])
          expect((await d.list('/')).items.map((i) => i.name)).toEqual(['p.txt'])
        } finally {
          await d.close()
        }
      })

      it('pages READDIRPLUS with cookies through a large directory', async () => {
        // 8 KiB replies hold ~40 entries: 600 files take ~15 READDIRPLUS calls.
        const want = Array.from({ length: 600 }, (_, i) => `file-${String(i).padStart(4, '0')}.txt`)
        await Promise.all(want.map((f) => writeFile(join(root, f), f)))
        const d = createNfsDriver(optionsFor({ ioSize: 4096 }))
        try {
          const seen: string[] = []
          let cursor: string | undefined
          do {
            const page = await d.list(
              '/',
              cursor === undefined ? { limit: 250 } : { limit: 250, cursor },
            )
            seen.push(...page.items.map((i) => i.name))
            cursor = page.next_cursor
          } while (cursor !== undefined)
          expect(seen).toEqual(want)
          expect((await d.stat('/')).item_count).toBe(600)
          expect((await requireOp(d, 'stats')()).file_count).toBe(600)
        } finally {
          await d.close()
        }
      })

      it('bounds the stats walk and says it truncated', async () => {
        for (let i = 0; i < 5; i++) await write(`/s/f${i}.iso`, 'x')
        const d = createNfsDriver(optionsFor({ statsMaxEntries: 3 }))
        try {
          const stats = await requireOp(d, 'stats')()
          expect(stats.truncated).toBe(true)
          expect(stats.file_count).toBeLessThanOrEqual(3)
        } finally {
          await d.close()
        }
      })
    })
  },
})

describe('nfs: connection test and portmapper', () => {
  let d: BackendDriver | undefined
  const make = (o: Partial<NfsUserspaceOptions>) => {
    d = createNfsDriver({ server: g.server, export: g.export, timeoutMs: 5000, ...o })
    return d
  }
  afterAll(async () => {
    await d?.close()
  })

  it('finds NFS and MOUNT through the portmapper, as rpcinfo does', async () => {
    const port = await getPort('127.0.0.1', NFS_PROGRAM, NFS_V3, { timeoutMs: 5000 })
    const { stdout } = await run('rpcinfo', ['-p', '127.0.0.1'])
    const line = stdout.split('\n').find((l) => /^\s*100003\s+3\s+tcp\s/.test(l))
    expect(line?.trim().split(/\s+/)[3]).toBe(String(port))
    // Only this file's ganesha runs in this package, so the registration is ours.
    expect(port).toBe(g.port)
    const err = await getPort('127.0.0.1', 100099, 1, { timeoutMs: 5000 }).catch((e) => e)
    expect(err).toBeInstanceOf(RpcError)
    expect((err as RpcError).failure).toBe('rejected')
  })

  it('answers test() ok through the portmapper, with latency and details', async () => {
    const result = await make({}).test()
    expect(result).toMatchObject({ ok: true, message: 'Connected' })
    expect(result.latency_ms).toBeGreaterThanOrEqual(0)
    expect(result.details).toMatchObject({
      nfs_port: g.port,
      mount_port: g.mountPort,
      writable: true,
    })
    expect(result.details?.total_bytes).toBeGreaterThan(0)
    await d?.close()
  })

  it('answers ok: false for a wrong export, without naming it', async () => {
    for (const path of ['/no/such/export', `${g.export}/no-such-subdirectory`]) {
      const driver = make({ export: path, port: g.port, mountPort: g.mountPort })
      const result = await driver.test()
      expect(result.ok).toBe(false)
      expect(result.message).toMatch(/does not export this path/)
      expect(result.message).not.toContain(path)
      expect(await codeOf(driver.list('/'))).toBe('service_unavailable')
      await driver.close()
    }
  })

  it('answers ok: false for a closed port', async () => {
    const driver = make({ port: 1, mountPort: 1 })
    const result = await driver.test()
    expect(result).toMatchObject({ ok: false })
    expect(result.message).toMatch(/refused/i)
    expect(await codeOf(driver.stat('/'))).toBe('service_unavailable')
    await driver.close()
  })

  it('answers ok: false for an unknown host', async () => {
    const driver = make({ server: 'no-such-host.invalid' })
    const result = await driver.test()
    expect(result.ok).toBe(false)
    expect(result.message).toMatch(/resolve|connect|timed out/i)
    await driver.close()
  })

  it('refuses a bad config with bad_request', () => {
    for (const bad of [
      { server: '-oops', export: '/x' },
      { server: 'ok', export: 'relative' },
      { server: 'ok', export: '/a/../b' },
      { server: 'ok', export: '/x', port: 70000 },
      { server: 'ok', export: '/x', mountpoint: '/typo' },
      { server: 'ok', export: '/x', mode: 'fuse' },
    ])
      expect(
        () => createNfsDriver(bad as unknown as NfsUserspaceOptions),
        JSON.stringify(bad),
      ).toThrow(expect.objectContaining({ code: 'bad_request' }))
    expect(DRIVER_NAME).toBe('nfs')
  })
})

describe('nfs: the backend type handler of core', () => {
  const config = (o: Record<string, unknown> = {}) =>
    ({ server: '127.0.0.1', export: g.export, mode: 'userspace', ...o }) as never
  const ctx = (allowPrivate: boolean) => ({
    id: '6f1c1a52-6f0e-4c55-9d2b-2f3f7f0c9a11',
    guard: createAddressGuard({ allowPrivate }),
    localRoots: [],
  })

  it('checks the address policy before connecting, then serves the export', async () => {
    await mkdir(join(g.dir, 'handler'), { recursive: true })
    const refused = await nfsBackendType.open!(config(), ctx(false))
    expect(await codeOf(refused.list('/'))).toBe('forbidden')
    expect((await refused.test()).ok).toBe(false)
    await refused.close()
    const driver = await nfsBackendType.open!(
      config({ export: `${g.export}/handler`, port: g.port }),
      ctx(true),
    )
    try {
      expect(await driver.list('/')).toEqual({ items: [] })
    } finally {
      await driver.close()
    }
  })

  it('refuses mount mode unless the host configured a mount root', async () => {
    const mount = config({ mode: 'mount', mount_options: ['vers=3', 'tcp'] })
    expect(await codeOf(nfsBackendType.validate!(mount, ctx(true)))).toBe('not_applicable')
    const withRoot = createNfsBackendType({ mountRoot: join(tmpdir(), 'pstorage-nfs-mounts') })
    await withRoot.validate!(mount, ctx(true))
    expect(
      await codeOf(
        withRoot.validate!(config({ mode: 'mount', mount_options: ['exec'] }), ctx(true)),
      ),
    ).toBe('bad_request')
  })
})

describe('nfs: NFSv3 procedures the driver does not use on its own path', () => {
  it('creates exclusively, truncates with SETATTR and commits', async () => {
    await mkdir(join(g.dir, 'procs'))
    const s = await openSession(
      resolveUserspaceOptions({
        server: g.server,
        export: `${g.export}/procs`,
        port: g.port,
        mountPort: g.mountPort,
      }),
    )
    try {
      const verf = Buffer.from('pstorage')
      const name = Buffer.from('excl.bin')
      const made = await s.nfs.create(s.root, name, { mode: 'exclusive', verf })
      expect(made?.fh).toBeDefined()
      // A retransmitted EXCLUSIVE CREATE with the same verifier succeeds (RFC 1813 §3.3.8).
      await s.nfs.create(s.root, name, { mode: 'exclusive', verf })
      const other = await s.nfs
        .create(s.root, name, { mode: 'exclusive', verf: Buffer.from('someone!') })
        .catch((e) => e)
      expect(other).toMatchObject({ nfsStatusName: 'NFS3ERR_EXIST', code: 'conflict' })
      const fh = made!.fh
      const w = await s.nfs.write(fh, 0, Buffer.from('0123456789'), STABLE_HOW.UNSTABLE)
      expect(w.count).toBe(10)
      expect((await s.nfs.commit(fh)).equals(w.verf)).toBe(true)
      await s.nfs.setattr(fh, { size: 4, mode: 0o600 })
      const attrs = await s.nfs.getattr(fh)
      expect([attrs.size, attrs.mode & 0o777]).toEqual([4, 0o600])
      expect(await readFile(join(g.dir, 'procs', 'excl.bin'), 'utf8')).toBe('0123')
      const read = await s.nfs.read(fh, 2, 100)
      expect([read.data.toString(), read.eof]).toEqual(['23', true])
      const info = await s.nfs.fsinfo(s.root)
      expect(info.rtmax).toBeGreaterThanOrEqual(s.ioSize)
    } finally {
      await s.close()
    }
  })
})

describe('harness', () => {
  it('names the Debian package of a missing binary', async () => {
    await expect(findBinary('no-such-daemon-xyz', 'some-package')).rejects.toThrow(
      /install the Debian package some-package/,
    )
    expect(hint('load_fsal :CRIT : Failed to load FSAL (VFS) because: No such file')).toMatch(
      /nfs-ganesha-vfs/,
    )
  })
})

it('harness: the exported directory is the host directory', async () => {
  await mkdir(join(g.dir, 'harness'))
  await writeFile(join(g.dir, 'harness', 'harness.txt'), 'from the host')
  const d = createNfsDriver({
    server: g.server,
    export: `${g.export}/harness`,
    port: g.port,
    mountPort: g.mountPort,
  })
  try {
    expect(dec.decode(await readAllBytes((await d.read('/harness.txt')).stream))).toBe(
      'from the host',
    )
  } finally {
    await d.close()
  }
})
