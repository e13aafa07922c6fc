import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PStorageClient } from '@pstorage/client'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { contentDisposition } from '../src/routes/files.js'
import { adminClient, apiError, type ServerProcess, startServerProcess } from './server-process.js'

/**
 * Storage backends and the file browser (seeds/000 §1–2) end to end on the real server with a
 * `local` backend (the embedded default), through the generated client, with the bad inputs.
 * The NFS, S3 and HTTP backends run the same flow in e2e-backend-types.test.ts.
 */
let server: ServerProcess
let client: PStorageClient
let root = ''
let backendId = ''
const enc = new TextEncoder()

beforeAll(async () => {
  server = await startServerProcess()
  client = await adminClient(server.url)
  root = join(server.dataDir, 'backends', 'templates')
  const created = await client.createBackend({
    name: 'templates',
    type: 'local',
    config: { path: root },
  })
  backendId = created.id
})
afterAll(() => server?.stop())

const bearer = () => ({ authorization: `Bearer ${client.tokens?.access_token}` })
const filesUrl = (id = backendId) => `${server.url}/api/v1/storage/backends/${id}/files`
async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  return Buffer.from(await new Response(stream).arrayBuffer())
}
/** Byte equality; `toEqual` on MiB buffers takes seconds, long enough for keep-alive to lapse. */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0
async function tree(dir = root): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    out.push(join(entry.parentPath, entry.name).slice(root.length))
  }
  return out.sort()
}
/** A multipart body by hand, for the malformed cases the client never sends. */
function multipart(parts: { name: string; filename?: string; data: string }[], boundary = 'XyZ') {
  const body = parts
    .map(
      (p) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}\r\n\r\n${p.data}\r\n`,
    )
    .join('')
  return {
    body: `${body}--${boundary}--\r\n`,
    headers: { ...bearer(), 'content-type': `multipart/form-data; boundary=${boundary}` },
  }
}

describe('backends API (local)', () => {
  it('creates, lists, gets, updates and tests a backend; secrets never leave the server', async () => {
    const got = await client.getBackend(backendId)
    expect(got).toMatchObject({ name: 'templates', type: 'local', config: { path: root } })
    const list = await client.listBackends({ type: 'local' })
    expect(list.backends.map((b) => b.id)).toContain(backendId)
    const tested = await client.testBackend(backendId)
    expect(tested).toMatchObject({ ok: true, status: 'online' })
    expect(tested.latency_ms).toBeGreaterThanOrEqual(0)
    expect((await client.getBackend(backendId)).status).toBe('online')
    const renamed = await client.updateBackend(backendId, { name: 'templates-2' })
    expect(renamed.name).toBe('templates-2')
    await client.updateBackend(backendId, { name: 'templates' })
  })

  it('stores a private-network backend only when the server allows private addresses', async () => {
    const refused = await apiError(
      client.createBackend({ name: 'lan', type: 'http', config: { url: 'http://10.1.2.3/' } }),
    )
    expect(refused).toMatchObject({ status: 403, error: 'forbidden' })
    expect(refused.detail).toMatch(/PSTORAGE_ALLOW_PRIVATE_ADDRESSES/)
    expect((await client.listBackends({ search: 'lan' })).total).toBe(0)
  })

  it('answers bad backend input with 4xx and stores nothing', async () => {
    const before = (await client.listBackends()).total
    const cases: [unknown, number][] = [
      [{ name: 'x', type: 'local', config: { path: root, extra: true } }, 422],
      [{ name: 'x', type: 'gopher', config: {} }, 422],
      [{ name: 'x', type: 's3', config: { bucket: 'UPPER', access_key_id: 'a' } }, 422],
      [{ name: 'x', type: 'local', config: { path: '/etc' } }, 403],
      [{ name: 'templates', type: 'local', config: { path: root } }, 409],
      [{ name: '', type: 'local', config: { path: root } }, 422],
    ]
    for (const [body, status] of cases) {
      const error = await apiError(client.createBackend(body as never))
      expect(error.status, JSON.stringify(body)).toBe(status)
    }
    const raw = await fetch(`${server.url}/api/v1/storage/backends`, {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/json' },
      body: '{"name": ',
    })
    expect(raw.status).toBe(400)
    expect((await client.listBackends()).total).toBe(before)
    expect((await apiError(client.getBackend('nope'))).status).toBe(404)
    expect((await apiError(client.testBackend('nope'))).status).toBe(404)
    expect((await apiError(client.deleteBackend('nope'))).status).toBe(404)
    expect((await apiError(client.updateBackend(backendId, { type: 'nfs' } as never))).status).toBe(
      422,
    )
    expect(
      (await apiError(client.updateBackend(backendId, { config: { path: '/etc' } }))).status,
    ).toBe(403)
    expect((await client.getBackend(backendId)).config).toEqual({ path: root })
  })

  it('lets viewers read but not change backends or files', async () => {
    await client.createUser({ username: 'reader', password: 'viewer-password-1', role: 'viewer' })
    const viewer = new PStorageClient({ baseUrl: server.url, retries: 0 })
    await viewer.login({ username: 'reader', password: 'viewer-password-1' })
    expect((await viewer.getBackend(backendId)).id).toBe(backendId)
    expect((await viewer.listFiles(backendId)).path).toBe('/')
    expect((await apiError(viewer.testBackend(backendId))).status).toBe(403)
    expect((await apiError(viewer.createFolder(backendId, { path: '/v' }))).status).toBe(403)
    expect(
      (await apiError(viewer.uploadFiles(backendId, [{ name: 'a.txt', data: enc.encode('a') }])))
        .status,
    ).toBe(403)
    expect(
      (await apiError(viewer.createBackend({ name: 'v', type: 'local', config: { path: root } })))
        .status,
    ).toBe(403)
    expect(existsSync(join(root, 'v'))).toBe(false)
  })
})

describe('file browser (local)', () => {
  const big = Buffer.from(pseudoRandomBytes(3 * 1024 * 1024 + 17, 3))

  it('uploads, lists, moves, downloads whole and by range, deletes, and counts', async () => {
    const uploaded = await client.uploadFiles(
      backendId,
      [
        { name: 'debian.iso', data: big },
        { name: 'notes é.txt', data: ReadableStream.from([enc.encode('hello '), enc.encode('w')]) },
      ],
      { path: '/isos' },
    )
    expect(uploaded.map((f) => [f.path, f.size])).toEqual([
      ['/isos/debian.iso', big.length],
      ['/isos/notes é.txt', 7],
    ])
    expect(same(await readFile(join(root, 'isos', 'debian.iso')), big)).toBe(true)
    await client.createFolder(backendId, { path: '/archive/2026' })
    const listed = await client.listFiles(backendId, { path: '/isos' })
    expect(listed.items.map((i) => [i.name, i.type, i.mime_type])).toEqual([
      ['debian.iso', 'file', 'application/x-iso9660-image'],
      ['notes é.txt', 'file', 'text/plain'],
    ])
    const page1 = await client.listFiles(backendId, { path: '/', limit: 1 })
    expect(page1.items.map((i) => i.name)).toEqual(['archive'])
    expect(page1.next_cursor).not.toBeNull()
    const page2 = await client.listFiles(backendId, {
      path: '/',
      limit: 1,
      cursor: page1.next_cursor!,
    })
    expect(page2.items.map((i) => i.name)).toEqual(['isos'])
    expect((await client.listFiles(backendId, { path: '/' })).items[1]!.item_count).toBe(2)

    const whole = await client.downloadFile(backendId, '/isos/debian.iso')
    expect(same(await bytesOf(whole), big)).toBe(true)
    const part = await client.downloadFile(backendId, '/isos/debian.iso', {
      offset: 1_000_000,
      length: 4097,
    })
    expect(same(await bytesOf(part), big.subarray(1_000_000, 1_004_097))).toBe(true)
    const raw = await fetch(
      `${filesUrl()}/download?path=${encodeURIComponent('/isos/notes é.txt')}`,
      { headers: { ...bearer(), range: 'bytes=-1' } },
    )
    expect(raw.status).toBe(206)
    expect(raw.headers.get('content-range')).toBe('bytes 6-6/7')
    expect(raw.headers.get('content-disposition')).toBe(contentDisposition('notes é.txt'))
    expect(raw.headers.get('content-disposition')).toContain("filename*=UTF-8''notes%20%C3%A9.txt")
    expect(await raw.text()).toBe('w')

    const moved = await client.moveFiles(backendId, {
      paths: ['/isos/debian.iso', '/isos/missing.iso'],
      destination: '/archive/2026',
    })
    expect(moved.results.map((r) => [r.path, r.moved, r.error?.code ?? null])).toEqual([
      ['/isos/debian.iso', true, null],
      ['/isos/missing.iso', false, 'not_found'],
    ])
    await client.moveFiles(backendId, {
      paths: ['/isos/notes é.txt'],
      destination: '/isos/readme.txt',
      rename: true,
    })
    expect(await tree()).toEqual([
      '/archive',
      '/archive/2026',
      '/archive/2026/debian.iso',
      '/isos',
      '/isos/readme.txt',
    ])
    const deleted = await client.deleteFiles(backendId, { paths: ['/isos', '/ghost'] })
    expect(deleted.results.map((r) => r.deleted)).toEqual([true, false])
    expect(await tree()).toEqual(['/archive', '/archive/2026', '/archive/2026/debian.iso'])
    await expect
      .poll(async () => (await client.getBackend(backendId)).stats, { timeout: 10_000 })
      .toMatchObject({ file_count: 1, template_count: 1, used_bytes: big.length })
  })

  it('answers conflicts with 409 unless overwrite is set', async () => {
    const put = (text: string, overwrite?: boolean) =>
      client.uploadFiles(backendId, [{ name: 'c.txt', data: enc.encode(text) }], {
        path: '/conflicts',
        ...(overwrite !== undefined && { overwrite }),
      })
    await put('one')
    expect((await apiError(put('two'))).status).toBe(409)
    expect(await readFile(join(root, 'conflicts', 'c.txt'), 'utf8')).toBe('one')
    await put('three', true)
    expect(await readFile(join(root, 'conflicts', 'c.txt'), 'utf8')).toBe('three')
    expect((await apiError(client.createFolder(backendId, { path: '/conflicts' }))).status).toBe(
      409,
    )
    await client.createFolder(backendId, { path: '/conflicts/sub' })
    await writeFile(join(root, 'conflicts', 'sub', 'c.txt'), 'other')
    const move = await client.moveFiles(backendId, {
      paths: ['/conflicts/c.txt'],
      destination: '/conflicts/sub',
    })
    expect(move.results[0]).toMatchObject({ moved: false, error: { code: 'conflict' } })
    expect(await readFile(join(root, 'conflicts', 'sub', 'c.txt'), 'utf8')).toBe('other')
  })

  it('refuses traversal in every route and touches nothing outside the root', async () => {
    await mkdir(join(server.dataDir, 'backends', 'outside'), { recursive: true })
    await writeFile(join(server.dataDir, 'backends', 'outside', 'secret.txt'), 'secret')
    const before = await tree()
    const evil = ['../outside', '/../../outside/secret.txt', '..%2Foutside', 'a/..\\..\\b', 'a\0b']
    for (const path of evil) {
      expect((await apiError(client.listFiles(backendId, { path }))).status, path).toBe(400)
      expect((await apiError(client.downloadFile(backendId, path))).status, path).toBe(400)
      expect((await apiError(client.createFolder(backendId, { path }))).status, path).toBe(400)
      expect((await apiError(client.deleteFiles(backendId, { paths: [path] }))).status, path).toBe(
        400,
      )
      expect(
        (await apiError(client.moveFiles(backendId, { paths: ['/archive'], destination: path })))
          .status,
        path,
      ).toBe(400)
      expect(
        (
          await apiError(
            client.uploadFiles(backendId, [{ name: 'x.txt', data: enc.encode('x') }], { path }),
          )
        ).status,
        path,
      ).toBe(400)
    }
    expect(
      (await apiError(client.uploadFiles(backendId, [{ name: '../x.txt', data: enc.encode('x') }])))
        .status,
    ).toBe(400)
    expect(await tree()).toEqual(before)
    expect(await readFile(join(server.dataDir, 'backends', 'outside', 'secret.txt'), 'utf8')).toBe(
      'secret',
    )
  })

  it('answers malformed uploads and downloads with 4xx', async () => {
    const before = await tree()
    const post = (init: { body: string; headers: Record<string, string> }) =>
      fetch(filesUrl(), { method: 'POST', ...init })
    const notMultipart = await post({
      body: 'x',
      headers: { ...bearer(), 'content-type': 'text/plain' },
    })
    expect(notMultipart.status).toBe(415)
    expect(await notMultipart.json()).toMatchObject({ error: 'unsupported_media_type' })
    expect((await post(multipart([{ name: 'path', data: '/x' }]))).status).toBe(400)
    const late = await post(
      multipart([
        { name: 'file', filename: 'a.txt', data: 'a' },
        { name: 'path', data: '/late' },
      ]),
    )
    expect(late.status).toBe(400)
    expect(((await late.json()) as { detail: string }).detail).toMatch(/before the files/)
    expect((await post(multipart([{ name: 'colour', data: 'blue' }]))).status).toBe(400)
    const broken = await post({
      body: '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nabc',
      headers: multipart([]).headers,
    })
    expect(broken.status).toBe(400)
    const php = await apiError(
      client.uploadFiles(backendId, [{ name: 'shell.php', data: enc.encode('<?php') }]),
    )
    expect(php).toMatchObject({ status: 415, error: 'unsupported_media_type' })
    const disguised = await apiError(
      client.uploadFiles(backendId, [{ name: 'image.iso', data: enc.encode('<?php system(1);') }]),
    )
    expect(disguised.status).toBe(415)
    expect(
      (await apiError(client.uploadFiles('nope', [{ name: 'a', data: enc.encode('a') }]))).status,
    ).toBe(404)
    expect(await tree()).toEqual(before)

    expect((await apiError(client.downloadFile(backendId, '/archive'))).status).toBe(400)
    expect((await apiError(client.downloadFile(backendId, '/nothing.bin'))).status).toBe(404)
    const unsatisfiable = await fetch(`${filesUrl()}/download?path=/archive/2026/debian.iso`, {
      headers: { ...bearer(), range: 'bytes=99999999-' },
    })
    expect(unsatisfiable.status).toBe(416)
    expect((await apiError(client.listFiles(backendId, { limit: 0 }))).status).toBe(422)
    expect((await apiError(client.listFiles(backendId, { cursor: 'garbage' }))).status).toBe(400)
    expect((await apiError(client.deleteFiles(backendId, { paths: [] }))).status).toBe(422)
    expect((await apiError(client.deleteFiles(backendId, { paths: ['/'] }))).status).toBe(400)
  })

  it('rate-limits uploads as uploads', async () => {
    const limited = await startServerProcess({
      env: { PSTORAGE_RATE_LIMIT: '', PSTORAGE_RATE_LIMIT_UPLOAD: '2' },
    })
    try {
      const admin = await adminClient(limited.url)
      const b = await admin.createBackend({
        name: 'l',
        type: 'local',
        config: { path: join(limited.dataDir, 'backends', 'l') },
      })
      const up = (i: number) =>
        admin.uploadFiles(b.id, [{ name: `${i}.txt`, data: enc.encode('x') }])
      await up(1)
      await up(2)
      const third = await apiError(up(3))
      expect(third).toMatchObject({ status: 429, error: 'rate_limited' })
      expect(await readdir(join(limited.dataDir, 'backends', 'l'))).toEqual(['1.txt', '2.txt'])
      expect((await admin.listFiles(b.id)).items).toHaveLength(2)
    } finally {
      await limited.stop()
    }
  })
})
