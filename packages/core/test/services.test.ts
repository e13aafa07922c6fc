import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  createPStorage,
  isPStorageError,
  type PStorage,
  type PStorageEvent,
  SnapshotSchema,
  VolumeSchema,
} from '../src/index.js'

const b64 = (s: string) => Buffer.from(s).toString('base64')

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
    return undefined
  } catch (error) {
    return isPStorageError(error) ? error.code : `non-PStorageError: ${String(error)}`
  }
}

describe('volume and snapshot services', () => {
  let ps: PStorage
  let events: PStorageEvent[]
  beforeEach(async () => {
    ps = await createPStorage()
    events = []
    ps.events.subscribe((e) => events.push(e))
  })
  afterEach(() => ps.close())

  it('creates a volume in the seed shape, with size in GiB rounded to blocks', async () => {
    const v = await ps.volumes.create({
      name: 'production-db',
      size_gb: 100,
      tags: { env: 'prod' },
    })
    expect(VolumeSchema.parse(v)).toEqual(v)
    expect(v).toMatchObject({
      size_bytes: 107374182400,
      used_bytes: 0,
      state: 'available',
      reduction_ratio: 1,
    })
    expect(v.description).toBeNull()
    expect((await ps.volumes.create({ name: 'odd', size_gb: 0.000001 })).size_bytes).toBe(4096)
    expect(events.map((e) => e.type)).toEqual(['volume.created', 'volume.created'])
  })

  it.each([
    [{ name: 'a', size_gb: 0 }],
    [{ name: 'a', size_gb: 2000 }],
    [{ name: 'a', size_gb: -1 }],
    [{ name: '', size_gb: 1 }],
    [{ name: '   ', size_gb: 1 }],
    [{ name: 'x'.repeat(256), size_gb: 1 }],
    [{ name: 'a', size_gb: '1' }],
    [{ name: 'a' }],
    [{ name: 'a', size_gb: 1, extra: true }],
    [{ name: 'a', size_gb: 1, tags: { k: 5 } }],
    [null],
    ['text'],
  ])('rejects %j with validation_error and creates nothing', async (input) => {
    expect(await codeOf(ps.volumes.create(input))).toBe('validation_error')
    expect((await ps.volumes.list()).total).toBe(0)
  })

  it('enforces unique names on create, update and clone', async () => {
    const a = await ps.volumes.create({ name: 'a', size_gb: 1 })
    await ps.volumes.create({ name: 'b', size_gb: 1 })
    expect(await codeOf(ps.volumes.create({ name: 'a', size_gb: 1 }))).toBe('conflict')
    expect(await codeOf(ps.volumes.update(a.id, { name: 'b' }))).toBe('conflict')
    expect(await codeOf(ps.volumes.clone(a.id, { name: 'b' }))).toBe('conflict')
    expect((await ps.volumes.update(a.id, { name: 'a' })).name).toBe('a')
    expect((await ps.volumes.list()).total).toBe(2)
  })

  it('updates only the fields given, and can clear the description', async () => {
    const v = await ps.volumes.create({ name: 'a', size_gb: 1, description: 'd', tags: { x: '1' } })
    const u = await ps.volumes.update(v.id, { tags: { y: '2' } })
    expect(u).toMatchObject({ name: 'a', description: 'd', tags: { y: '2' } })
    expect((await ps.volumes.update(v.id, { description: null })).description).toBeNull()
    expect(await codeOf(ps.volumes.update(v.id, { size_gb: 5 }))).toBe('validation_error')
  })

  it('resizes up only', async () => {
    const v = await ps.volumes.create({ name: 'a', size_gb: 1 })
    expect((await ps.volumes.resize(v.id, { size_gb: 2 })).size_bytes).toBe(2 * 1024 ** 3)
    expect(await codeOf(ps.volumes.resize(v.id, { size_gb: 2 }))).toBe('bad_request')
    expect(await codeOf(ps.volumes.resize(v.id, { size_gb: 1 }))).toBe('bad_request')
    expect(await codeOf(ps.volumes.resize(v.id, { size_gb: 1025 }))).toBe('validation_error')
    expect((await ps.volumes.get(v.id)).size_bytes).toBe(2 * 1024 ** 3)
  })

  it('writes and reads base64 data as in seeds/001, and refuses bad addressing', async () => {
    const v = await ps.volumes.create({ name: 'a', size_gb: 1 })
    const w = await ps.volumes.write(v.id, { offset: 0, data: 'SGVsbG8gV29ybGQh' })
    expect(w).toEqual({
      volume_id: v.id,
      offset: 0,
      size: 12,
      reduction_ratio: 1,
      was_deduplicated: false,
      was_compressed: false,
    })
    expect(await ps.volumes.read(v.id, 0)).toEqual({
      volume_id: v.id,
      offset: 0,
      size: 12,
      data: 'SGVsbG8gV29ybGQh',
    })
    expect((await ps.volumes.read(v.id, 0, 4096)).size).toBe(4096)
    expect(await codeOf(ps.volumes.write(v.id, { offset: 100, data: b64('x') }))).toBe(
      'bad_request',
    )
    expect(await codeOf(ps.volumes.write(v.id, { offset: 1024 ** 3, data: b64('x') }))).toBe(
      'bad_request',
    )
    expect(await codeOf(ps.volumes.write(v.id, { offset: 0, data: 'not base64!' }))).toBe(
      'validation_error',
    )
    expect(await codeOf(ps.volumes.write(v.id, { offset: 0, data: 'SGVsbG8' }))).toBe(
      'validation_error',
    )
    expect(await codeOf(ps.volumes.read(v.id, 1024 ** 3 + 1))).toBe('bad_request')
    expect(await codeOf(ps.volumes.read(v.id, 0, 1024 ** 3 + 1))).toBe('bad_request')
    expect(await codeOf(ps.volumes.read(v.id, 0, 17 * 1024 * 1024))).toBe('payload_too_large')
    expect((await ps.volumes.read(v.id, 0)).data).toBe('SGVsbG8gV29ybGQh')
  })

  it('refuses a JSON write over 16 MiB before decoding it', async () => {
    const v = await ps.volumes.create({ name: 'a', size_gb: 1 })
    const data = Buffer.alloc(16 * 1024 * 1024 + 3).toString('base64')
    expect(await codeOf(ps.volumes.write(v.id, { offset: 0, data }))).toBe('payload_too_large')
    expect((await ps.volumes.get(v.id)).used_bytes).toBe(0)
  })

  it('answers not_found for unknown ids everywhere', async () => {
    const id = '00000000-0000-4000-8000-000000000000'
    for (const p of [
      () => ps.volumes.get(id),
      () => ps.volumes.update(id, {}),
      () => ps.volumes.delete(id),
      () => ps.volumes.resize(id, { size_gb: 2 }),
      () => ps.volumes.clone(id, { name: 'c' }),
      () => ps.volumes.write(id, { offset: 0, data: b64('x') }),
      () => ps.volumes.read(id, 0),
      () => ps.snapshots.create(id, { name: 's' }),
      () => ps.snapshots.list(id),
      () => ps.snapshots.get(id, id),
    ]) {
      expect(await codeOf(p())).toBe('not_found')
    }
  })

  it('clones independently and lists, sorts, pages and searches', async () => {
    const v = await ps.volumes.create({ name: 'src', size_gb: 1 })
    await ps.volumes.write(v.id, { offset: 0, data: b64('original') })
    const c = await ps.volumes.clone(v.id, { name: 'clone' })
    expect(c.size_bytes).toBe(v.size_bytes)
    await ps.volumes.write(c.id, { offset: 0, data: b64('CHANGED!') })
    expect(Buffer.from((await ps.volumes.read(v.id, 0)).data, 'base64').toString()).toBe('original')
    expect(Buffer.from((await ps.volumes.read(c.id, 0)).data, 'base64').toString()).toBe('CHANGED!')
    const page = await ps.volumes.list({ sort: 'name', order: 'desc', limit: '1' })
    expect(page.total).toBe(2)
    expect(page.volumes.map((x) => x.name)).toEqual(['src'])
    expect((await ps.volumes.list({ sort: 'name', skip: '1' })).volumes.map((x) => x.name)).toEqual(
      ['src'],
    )
    expect((await ps.volumes.list({ search: 'LON' })).volumes.map((x) => x.name)).toEqual(['clone'])
    expect((await ps.volumes.list({ search: '%' })).total).toBe(0)
    expect(await codeOf(ps.volumes.list({ limit: '0' }))).toBe('validation_error')
    expect(await codeOf(ps.volumes.list({ sort: 'password' }))).toBe('validation_error')
  })

  it('snapshots: immutable, unique per volume, restore to new and in place, delete guarded', async () => {
    const v = await ps.volumes.create({ name: 'db', size_gb: 1 })
    await ps.volumes.write(v.id, { offset: 0, data: b64('v1') })
    const s = await ps.snapshots.create(v.id, { name: 'daily' })
    expect(SnapshotSchema.parse(s)).toMatchObject({
      volume_name: 'db',
      used_bytes: 2,
      size_bytes: v.size_bytes,
    })
    expect(await codeOf(ps.snapshots.create(v.id, { name: 'daily' }))).toBe('conflict')
    await ps.volumes.write(v.id, { offset: 0, data: b64('v2') })
    const restored = await ps.snapshots.restore(v.id, s.id, {
      target_volume_id: null,
      name: 'db-restored',
    })
    expect(restored.created).toBe(true)
    expect(
      Buffer.from((await ps.volumes.read(restored.volume.id, 0)).data, 'base64').toString(),
    ).toBe('v1')
    const inPlace = await ps.snapshots.restore(v.id, s.id, { target_volume_id: v.id })
    expect(inPlace.created).toBe(false)
    expect(Buffer.from((await ps.volumes.read(v.id, 0)).data, 'base64').toString()).toBe('v1')
    const small = await ps.volumes.create({ name: 'small', size_gb: 0.5 })
    expect(await codeOf(ps.snapshots.restore(v.id, s.id, { target_volume_id: small.id }))).toBe(
      'bad_request',
    )
    expect(await codeOf(ps.snapshots.get(small.id, s.id))).toBe('not_found')
    expect((await ps.snapshots.list(undefined)).total).toBe(1)
    expect(await codeOf(ps.volumes.delete(v.id))).toBe('conflict')
    await ps.snapshots.delete(v.id, s.id)
    await ps.volumes.delete(v.id)
    expect(await codeOf(ps.volumes.get(v.id))).toBe('not_found')
    expect((await ps.system.volumeMetrics()).snapshots.total).toBe(0)
  })

  it('reports health, arrays and metrics from live counters', async () => {
    const v = await ps.volumes.create({ name: 'a', size_gb: 2 })
    await ps.volumes.write(v.id, { offset: 0, data: b64('hello') })
    await ps.snapshots.create(v.id, { name: 's' })
    expect(await ps.system.health()).toEqual({
      status: 'healthy',
      reduction_ratio: 1,
      cluster_enabled: false,
    })
    const [array] = (await ps.system.arrays()).arrays
    expect(array?.capacity.used_bytes).toBe(5)
    const metrics = await ps.system.metrics()
    expect(metrics.volumes).toEqual({
      volumes: { total: 1, provisioned_bytes: 2 * 1024 ** 3, used_bytes: 5 },
      snapshots: { total: 1, by_volume: { [v.id]: 1 } },
    })
    expect(metrics.replication).toEqual({ enabled: false, message: 'Clustering is not enabled' })
  })
})

describe('persistence of metadata', () => {
  it('keeps volumes in the SQLite file across instances', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pstorage-core-'))
    try {
      const first = await createPStorage({ dataDir: dir })
      const v = await first.volumes.create({ name: 'kept', size_gb: 1 })
      await first.close()
      const second = await createPStorage({ dataDir: dir })
      // Metadata persists; the reference engine's data does not, and the volume says so.
      const listed = await second.volumes.list()
      expect(listed.volumes.map((x) => [x.id, x.state])).toEqual([[v.id, 'error']])
      await second.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
