import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type NginxServer, startNginx } from '@pstorage/adapters-http/testing'
import { type GaneshaServer, startGanesha } from '@pstorage/adapters-nfs/testing'
import { type S3rverHandle, startS3rver } from '@pstorage/adapters-s3/testing'
import type { PStorageClient } from '@pstorage/client'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminClient, apiError, type ServerProcess, startServerProcess } from './server-process.js'

/**
 * One backend of each type through the HTTP API and the generated client, against the real
 * servers: s3rver (S3), nfs-ganesha (NFSv3, userspace driver) and nginx (HTTP, read-only).
 * Each: connection test, upload, list, move, download byte-exact whole and by range,
 * delete, stats (issue 6, "Done when").
 */
let server: ServerProcess
let client: PStorageClient
let s3: S3rverHandle
let nfs: GaneshaServer
let web: NginxServer
const enc = new TextEncoder()
const image = Buffer.from(pseudoRandomBytes(5 * 1024 * 1024 + 321, 11))
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0
const bytesOf = async (s: ReadableStream<Uint8Array>) =>
  Buffer.from(await new Response(s).arrayBuffer())

beforeAll(async () => {
  ;[s3, nfs, web] = await Promise.all([startS3rver(), startGanesha(), startNginx()])
  await s3.createBucket('templates')
  server = await startServerProcess({ env: { PSTORAGE_ALLOW_PRIVATE_ADDRESSES: 'true' } })
  client = await adminClient(server.url)
}, 120_000)
afterAll(async () => {
  await server?.stop()
  await Promise.allSettled([s3?.stop(), nfs?.stop(), web?.stop()])
})

/** The writable flow, the same for every writable type. */
async function writableFlow(id: string, where: () => Promise<Uint8Array | undefined>) {
  const tested = await client.testBackend(id)
  expect(tested, tested.message).toMatchObject({ ok: true, status: 'online' })
  const [stored] = await client.uploadFiles(id, [{ name: 'golden.img', data: image }], {
    path: '/images',
  })
  expect(stored).toMatchObject({ path: '/images/golden.img', size: image.length, type: 'file' })
  expect(same((await where())!, image)).toBe(true)
  await client.uploadFiles(id, [{ name: 'notes.txt', data: enc.encode('golden image notes') }], {
    path: '/images',
  })
  const listed = await client.listFiles(id, { path: '/images' })
  expect(listed.items.map((i) => [i.name, i.size])).toEqual([
    ['golden.img', image.length],
    ['notes.txt', 18],
  ])
  expect(
    (
      await apiError(
        client.uploadFiles(id, [{ name: 'notes.txt', data: enc.encode('x') }], { path: '/images' }),
      )
    ).status,
  ).toBe(409)
  await client.createFolder(id, { path: '/archive' })
  const moved = await client.moveFiles(id, {
    paths: ['/images/golden.img'],
    destination: '/archive',
  })
  expect(moved.results[0]).toMatchObject({ moved: true, to: '/archive/golden.img' })
  expect(same(await bytesOf(await client.downloadFile(id, '/archive/golden.img')), image)).toBe(
    true,
  )
  const range = await bytesOf(
    await client.downloadFile(id, '/archive/golden.img', { offset: 4_000_000, length: 1_500_000 }),
  )
  expect(same(range, image.subarray(4_000_000, 5_500_000))).toBe(true)
  const deleted = await client.deleteFiles(id, { paths: ['/images', '/nothing-here'] })
  expect(deleted.results.map((r) => r.deleted)).toEqual([true, false])
  expect((await client.listFiles(id)).items.map((i) => i.name)).toEqual(['archive'])
  await expect
    .poll(async () => (await client.getBackend(id)).stats, { timeout: 15_000 })
    .toMatchObject({ file_count: 1, template_count: 1, used_bytes: image.length })
}

describe('backend types end to end', () => {
  it('s3 (s3rver): test, upload, list, move, download with a range, delete, stats', async () => {
    const backend = await client.createBackend({
      name: 'templates-s3',
      type: 's3',
      config: {
        endpoint: s3.endpoint,
        region: s3.region,
        bucket: 'templates',
        prefix: 'pstorage/',
        access_key_id: s3.accessKeyId,
        secret_access_key: s3.secretAccessKey,
        force_path_style: true,
      },
    })
    expect(backend.config.secret_access_key).toBe('********')
    await writableFlow(backend.id, async () =>
      readFile(
        join(s3.directory, 'templates', 'pstorage', 'images', 'golden.img._S3rver_object'),
      ).catch(async () => bytesOf(await client.downloadFile(backend.id, '/images/golden.img'))),
    )
    const wrong = await client.createBackend({
      name: 'templates-s3-wrong',
      type: 's3',
      config: {
        endpoint: s3.endpoint,
        bucket: 'templates',
        access_key_id: s3.accessKeyId,
        secret_access_key: 'not-the-secret',
        force_path_style: true,
      },
    })
    const failed = await client.testBackend(wrong.id)
    expect(failed.ok).toBe(false)
    expect(failed.status).not.toBe('online')
    expect(JSON.stringify(failed)).not.toContain('not-the-secret')
  })

  it('nfs (ganesha, userspace NFSv3): the same flow, and the files are on the export', async () => {
    const backend = await client.createBackend({
      name: 'templates-nfs',
      type: 'nfs',
      config: { server: nfs.server, export: nfs.export, port: nfs.port, mount_port: nfs.mountPort },
    })
    expect(backend.config).toMatchObject({ mode: 'userspace' })
    await writableFlow(backend.id, () => readFile(join(nfs.dir, 'images', 'golden.img')))
    expect(same(await readFile(join(nfs.dir, 'archive', 'golden.img')), image)).toBe(true)
  })

  it('http (nginx autoindex): read-only browse and ranged download; writes are not applicable', async () => {
    await mkdir(join(web.dir, 'isos'), { recursive: true })
    await writeFile(join(web.dir, 'isos', 'golden.iso'), image)
    const backend = await client.createBackend({
      name: 'mirror',
      type: 'http',
      config: { url: web.url },
    })
    const tested = await client.testBackend(backend.id)
    expect(tested, tested.message).toMatchObject({ ok: true, status: 'online' })
    const listed = await client.listFiles(backend.id, { path: '/isos' })
    expect(listed.items.map((i) => [i.name, i.size, i.type])).toEqual([
      ['golden.iso', image.length, 'file'],
    ])
    expect(
      same(await bytesOf(await client.downloadFile(backend.id, '/isos/golden.iso')), image),
    ).toBe(true)
    const range = await bytesOf(
      await client.downloadFile(backend.id, '/isos/golden.iso', { offset: 123, length: 4096 }),
    )
    expect(same(range, image.subarray(123, 123 + 4096))).toBe(true)
    const refused = await apiError(
      client.uploadFiles(backend.id, [{ name: 'x.txt', data: enc.encode('x') }]),
    )
    expect(refused).toMatchObject({ status: 400, error: 'not_applicable' })
    expect((await apiError(client.createFolder(backend.id, { path: '/new' }))).error).toBe(
      'not_applicable',
    )
    expect((await apiError(client.deleteFiles(backend.id, { paths: ['/isos'] }))).error).toBe(
      'not_applicable',
    )
    await expect
      .poll(async () => (await client.getBackend(backend.id)).stats, { timeout: 15_000 })
      .toMatchObject({ file_count: 1, template_count: 1, used_bytes: image.length })
  })

  it('iscsi: block storage, no files; its connection test says what it found', async () => {
    const backend = await client.createBackend({
      name: 'san',
      type: 'iscsi',
      config: {
        host: '127.0.0.1',
        ssh_port: 1,
        username: 'pstorage',
        password: 'not-a-real-password',
        target_manager: 'tgt',
        backing_dir: '/srv/luns',
        portal_address: '127.0.0.1',
      },
    })
    expect(backend.config.password).toBe('********')
    expect((await apiError(client.listFiles(backend.id))).error).toBe('not_applicable')
    const tested = await client.testBackend(backend.id)
    expect(tested.ok).toBe(false)
    expect(JSON.stringify(tested)).not.toContain('not-a-real-password')
  })
})
