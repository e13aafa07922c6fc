import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isPStorageError } from '../errors.js'
import type { BackendDriver } from '../ports/backend-driver.js'
import { createPStorage, type PStorage } from '../pstorage.js'
import { SECRET_MASK } from '../schemas/backend.js'
import { createAddressGuard } from './address-guard.js'
import { bytesSource, readAllBytes } from './driver-kit.js'

const enc = new TextEncoder()
const dec = new TextDecoder()

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => (isPStorageError(e) ? e.code : String(e)),
  )
}

let base = ''
let roots = ''
let pstorage: PStorage
/** Configs the `http` handler below was opened with (secrets in clear, as drivers get them). */
let opened: Record<string, unknown>[] = []

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'pstorage-backends-'))
  roots = join(base, 'roots')
  opened = []
  pstorage = await createPStorage({
    dataDir: join(base, 'data'),
    localBackendRoots: [roots],
    allowPrivateAddresses: false,
    backendHealthCheckIntervalMs: 0,
    env: {},
    // A recording handler for `http`: no server is needed to see what the service hands a
    // driver (the real HTTP driver is tested against nginx in adapters-http).
    backendTypes: {
      http: {
        async open(config) {
          opened.push({ ...config })
          return {
            name: 'recording',
            capabilities: { write: false, rangeRead: true, move: false, stats: false },
            test: async () => ({ ok: false, latency_ms: 1, message: 'Connection refused' }),
            list: async () => ({ items: [] }),
            stat: async () => {
              throw new Error('unused')
            },
            read: async () => {
              throw new Error('unused')
            },
            close: async () => {},
          } satisfies BackendDriver
        },
      },
    },
  })
})

afterEach(async () => {
  await pstorage.close()
  await rm(base, { recursive: true, force: true })
})

const local = (name = 'iso', path = join(roots, 'iso')) =>
  pstorage.backends.create({ name, type: 'local', config: { path } })

describe('storage backends: CRUD and validation', () => {
  it('creates a local backend inside a root, lists, gets, renames and deletes it', async () => {
    const created = await local()
    expect(created).toMatchObject({ name: 'iso', type: 'local', status: 'offline' })
    expect(created.config).toEqual({ path: join(roots, 'iso') })
    expect(created.stats).toMatchObject({ used_bytes: 0, file_count: 0, updated_at: null })
    expect((await pstorage.backends.list()).total).toBe(1)
    const renamed = await pstorage.backends.update(created.id, { name: 'isos' })
    expect(renamed.name).toBe('isos')
    expect((await pstorage.backends.get(created.id)).name).toBe('isos')
    await pstorage.backends.delete(created.id)
    expect(await codeOf(pstorage.backends.get(created.id))).toBe('not_found')
  })

  it('refuses local paths outside the roots, also through a symlink, and stores nothing', async () => {
    await mkdir(roots, { recursive: true })
    await symlink('/etc', join(roots, 'etc-link'))
    for (const path of ['/etc', join(roots, '..', 'elsewhere'), join(roots, 'etc-link')]) {
      expect(await codeOf(local('x', path)), path).toBe('forbidden')
    }
    expect(await codeOf(local('x', 'relative/path'))).toBe('validation_error')
    expect((await pstorage.backends.list()).total).toBe(0)
  })

  it('validates config per type strictly: unknown keys, missing fields, bad hosts → 422', async () => {
    const bad = [
      { name: 'a', type: 'local', config: { path: '/x', extra: 1 } },
      { name: 'a', type: 's3', config: { bucket: 'b' } },
      { name: 'a', type: 'nfs', config: { server: '-oProxyCommand=x', export: '/e' } },
      { name: 'a', type: 'nfs', config: { server: 'nas', export: '/e', mount_options: ['exec'] } },
      { name: 'a', type: 'http', config: { url: 'file:///etc/passwd' } },
      { name: 'a', type: 'http', config: { url: 'http://user:pw@host/' } },
      { name: 'a', type: 'ftp', config: {} },
      { name: 'a', type: 'local', config: { path: '/a/../b' } },
      {
        name: 'a',
        type: 'iscsi',
        config: { host: 'h', username: 'u', target_manager: 'tgt', backing_dir: '/l' },
      },
    ]
    for (const input of bad) {
      expect(await codeOf(pstorage.backends.create(input)), JSON.stringify(input)).toBe(
        'validation_error',
      )
    }
    expect((await pstorage.backends.list()).total).toBe(0)
  })

  it('refuses a duplicate name with a conflict', async () => {
    await local()
    expect(await codeOf(local('iso', join(roots, 'other')))).toBe('conflict')
  })

  it('refuses private and link-local hosts unless allowed', async () => {
    for (const url of ['http://127.0.0.1:8080/', 'http://169.254.169.254/', 'http://[::1]/']) {
      const created = pstorage.backends.create({ name: 'h', type: 'http', config: { url } })
      expect(await codeOf(created), url).toBe('forbidden')
    }
    const open = createAddressGuard({ allowPrivate: true })
    await expect(open.check('127.0.0.1')).resolves.toBeUndefined()
    await expect(open.check('0.0.0.0')).rejects.toThrow(/never a backend/)
    await expect(
      createAddressGuard({ resolve: async () => ['93.184.215.14', '10.0.0.8'] }).check('x.test'),
    ).rejects.toThrow(/10\.0\.0\.8/)
  })
})

describe('storage backends: secrets', () => {
  it('seals secrets, masks them in answers, keeps them across a masked PATCH', async () => {
    const guard = createAddressGuard({ allowPrivate: false })
    expect(guard.allowPrivate).toBe(false)
    const created = await pstorage.backends.create({
      name: 'mirror',
      type: 'http',
      config: { url: 'https://mirror.example.org/', username: 'u', password: 'hunter2-secret' },
    })
    expect(created.config).toEqual({
      url: 'https://mirror.example.org/',
      username: 'u',
      password: SECRET_MASK,
    })
    const row = await pstorage.store.db
      .selectFrom('storage_backends')
      .selectAll()
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow()
    expect(JSON.stringify(row)).not.toContain('hunter2-secret')
    await pstorage.backends.update(created.id, { config: { password: SECRET_MASK, username: 'v' } })
    await pstorage.backends.test(created.id)
    expect(opened.at(-1)).toMatchObject({ username: 'v', password: 'hunter2-secret' })
    await pstorage.backends.update(created.id, { config: { password: 'new-secret-2' } })
    await pstorage.backends.test(created.id)
    expect(opened.at(-1)).toMatchObject({ password: 'new-secret-2' })
    const listed = (await pstorage.backends.list()).backends[0]!
    expect(listed.config.password).toBe(SECRET_MASK)
    expect(await codeOf(pstorage.backends.update(created.id, { config: { nope: 1 } }))).toBe(
      'validation_error',
    )
    expect(await codeOf(pstorage.backends.update(created.id, { type: 's3' }))).toBe(
      'validation_error',
    )
  })
})

describe('storage backends: connection tests and status', () => {
  it('reports online for a reachable backend and offline when it goes away', async () => {
    const b = await local()
    const ok = await pstorage.backends.test(b.id)
    expect(ok).toMatchObject({ ok: true, status: 'online' })
    expect((await pstorage.backends.get(b.id)).status).toBe('online')
    await rm(join(roots, 'iso'), { recursive: true })
    const gone = await pstorage.backends.test(b.id)
    expect(gone.ok).toBe(false)
    expect((await pstorage.backends.get(b.id)).status).not.toBe('online')
  })

  it('answers a structured failure, never a throw, for a driver that is not installed', async () => {
    const b = await pstorage.backends.create({
      name: 'tpl',
      type: 's3',
      config: {
        endpoint: 'https://s3.example.org',
        bucket: 'tpl',
        access_key_id: 'a',
        secret_access_key: 'b',
      },
    })
    const result = await pstorage.backends.test(b.id)
    expect(result).toMatchObject({ ok: false, status: 'error' })
    expect(result.message).toMatch(/No driver for s3/)
    expect(await codeOf(pstorage.backends.listFiles(b.id, {}))).toBe('service_unavailable')
  })

  it('answers not_applicable for the files of an iscsi backend', async () => {
    const b = await pstorage.backends.create({
      name: 'san',
      type: 'iscsi',
      config: {
        host: 'san.example.org',
        username: 'pstorage',
        password: 'pw',
        target_manager: 'tgt',
        backing_dir: '/srv/luns',
        portal_address: '192.0.2.10',
      },
    })
    expect(b.config).toMatchObject({ ssh_port: 22, portal_port: 3260, password: SECRET_MASK })
    expect(await codeOf(pstorage.backends.listFiles(b.id, {}))).toBe('not_applicable')
    const result = await pstorage.backends.test(b.id)
    expect(result).toMatchObject({ ok: false, status: 'error' })
    expect(result.message).toMatch(/No driver for iscsi/)
  })
})

describe('storage backends: files through the service', () => {
  it('uploads, lists, moves, renames, downloads a range, deletes, and counts stats', async () => {
    const b = await local()
    const put = (dir: string, name: string, text: string) =>
      pstorage.backends.uploadFile(b.id, dir, name, bytesSource(enc.encode(text)))
    await put('/', 'a.iso', 'hello iso')
    await put('/nested/dir', 'b.txt', 'bee')
    await pstorage.backends.createFolder(b.id, '/target')
    expect(
      (await pstorage.backends.listFiles(b.id, { path: '/' })).items.map((i) => i.name),
    ).toEqual(['nested', 'target', 'a.iso'])
    expect(await codeOf(put('/', 'a.iso', 'again'))).toBe('conflict')
    const moved = await pstorage.backends.moveFiles(b.id, {
      paths: ['/a.iso', '/missing'],
      destination: '/target',
    })
    expect(moved.map((m) => [m.path, m.to, m.moved, m.error?.code])).toEqual([
      ['/a.iso', '/target/a.iso', true, undefined],
      ['/missing', '/target/missing', false, 'not_found'],
    ])
    await pstorage.backends.moveFiles(b.id, {
      paths: ['/target/a.iso'],
      destination: '/target/c.iso',
      rename: true,
    })
    const read = await pstorage.backends.readFile(b.id, '/target/c.iso', { offset: 6, length: 3 })
    expect(dec.decode(await readAllBytes(read.stream))).toBe('iso')
    const stats = await pstorage.backends.refreshStats(b.id)
    expect(stats).toMatchObject({ file_count: 2, template_count: 1, used_bytes: 12 })
    expect((await pstorage.backends.get(b.id)).stats.file_count).toBe(2)
    const deleted = await pstorage.backends.deleteFiles(b.id, ['/nested', '/nope'])
    expect(deleted.map((d) => d.deleted)).toEqual([true, false])
    expect(await readdir(join(roots, 'iso'))).toEqual(['target'])
  })

  it('refuses file names with separators and traversal, writing nothing', async () => {
    const b = await local()
    for (const name of ['../x.txt', 'a/b.txt', '..', 'a\\b.txt', '']) {
      const code = await codeOf(
        pstorage.backends.uploadFile(b.id, '/', name, bytesSource(enc.encode('x'))),
      )
      expect(code, name).toBe('bad_request')
    }
    expect(
      await codeOf(pstorage.backends.uploadFile(b.id, '/../..', 'x', bytesSource(enc.encode('x')))),
    ).toBe('bad_request')
    expect(await readdir(join(roots, 'iso'))).toEqual([])
    expect(await readdir(roots)).toEqual(['iso'])
  })

  it('enforces the upload policy: extensions, sniffed content, size', async () => {
    const b = await local()
    const put = (name: string, data: Uint8Array) =>
      pstorage.backends.uploadFile(b.id, '/', name, bytesSource(data, 1000))
    expect(await codeOf(put('shell.php', enc.encode('<?php system($_GET[1]);')))).toBe(
      'unsupported_media_type',
    )
    expect(await codeOf(put('shell.php.iso', enc.encode('x')))).toBe('unsupported_media_type')
    const hidden = new Uint8Array(40_000)
    hidden.set(enc.encode('GIF89a<?php echo 1; ?>'))
    expect(await codeOf(put('picture.iso', hidden))).toBe('unsupported_media_type')
    await pstorage.backends.update(b.id, {
      upload_policy: { allowed_extensions: ['iso', '.img'], max_file_bytes: 50_000 },
    })
    expect(await codeOf(put('notes.txt', enc.encode('x')))).toBe('unsupported_media_type')
    expect(await codeOf(put('big.iso', new Uint8Array(60_000)))).toBe('payload_too_large')
    const iso = new Uint8Array(40_000)
    iso.set(enc.encode('CD001'), 0x8001)
    expect((await put('ok.iso', iso)).size).toBe(40_000)
    expect(await readdir(join(roots, 'iso'))).toEqual(['ok.iso'])
    expect((await readFile(join(roots, 'iso', 'ok.iso'))).length).toBe(40_000)
  })

  it('keeps working after a backend update reopens the driver', async () => {
    const b = await local()
    await writeFile(join(roots, 'iso', 'x.img'), 'x')
    await mkdir(join(roots, 'other'), { recursive: true })
    await writeFile(join(roots, 'other', 'y.img'), 'y')
    expect((await pstorage.backends.listFiles(b.id, {})).items.map((i) => i.name)).toEqual([
      'x.img',
    ])
    await pstorage.backends.update(b.id, { config: { path: join(roots, 'other') } })
    expect((await pstorage.backends.listFiles(b.id, {})).items.map((i) => i.name)).toEqual([
      'y.img',
    ])
  })
})
