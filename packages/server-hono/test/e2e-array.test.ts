import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PStorageClient } from '@pstorage/client'
import {
  AllMetricsSchema,
  FlashMetricsSchema,
  HealthDetailedSchema,
  ReductionMetricsSchema,
  VolumeMetricsSchema,
} from '@pstorage/core'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminClient, apiError, type ServerProcess, startServerProcess } from './server-process.js'

/** The rest of the array API of seeds/001 end to end: snapshots, arrays, metrics, cluster, health. */
const dataDir = mkdtempSync(join(tmpdir(), 'pstorage-array-'))
let server: ServerProcess
let client: PStorageClient

beforeAll(async () => {
  server = await startServerProcess({ dataDir })
  client = await adminClient(server.url)
})
afterAll(async () => {
  await server?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

const b64 = (text: string) => Buffer.from(text).toString('base64')
const read = async (volumeId: string) =>
  Buffer.from((await client.readVolume(volumeId, { offset: 0 })).data, 'base64').toString()

describe('snapshots', () => {
  it('create, list, get, restore to a new volume and in place, delete', async () => {
    const volume = await client.createVolume({ name: 'db', size_gb: 1 })
    await client.writeVolume(volume.id, { offset: 0, data: b64('version 1') })
    const snapshot = await client.createSnapshot(volume.id, {
      name: 'daily',
      description: 'Automated daily backup',
    })
    expect(snapshot).toMatchObject({
      name: 'daily',
      volume_id: volume.id,
      volume_name: 'db',
      size_bytes: 1024 ** 3,
      used_bytes: 9,
      state: 'available',
      description: 'Automated daily backup',
      tags: {},
    })
    await client.writeVolume(volume.id, { offset: 0, data: b64('version 2') })

    expect((await client.listVolumeSnapshots(volume.id)).snapshots.map((s) => s.id)).toEqual([
      snapshot.id,
    ])
    expect((await client.listSnapshots()).total).toBe(1)
    expect(await client.getSnapshot(volume.id, snapshot.id)).toEqual(snapshot)

    const restored = await client.restoreSnapshot(volume.id, snapshot.id, {
      target_volume_id: null,
      name: 'db-copy',
    })
    expect(restored).toMatchObject({ name: 'db-copy', size_bytes: 1024 ** 3 })
    expect(await read(restored.id)).toBe('version 1')
    expect(await read(volume.id)).toBe('version 2')

    const inPlace = await client.restoreSnapshot(volume.id, snapshot.id, {
      target_volume_id: volume.id,
    })
    expect(inPlace.id).toBe(volume.id)
    expect(await read(volume.id)).toBe('version 1')

    // The restored copy is independent of the volume and of the snapshot.
    await client.writeVolume(restored.id, { offset: 0, data: b64('copy edit') })
    expect(await read(volume.id)).toBe('version 1')
    const again = await client.restoreSnapshot(volume.id, snapshot.id, { target_volume_id: null })
    expect(again.name).toMatch(/^daily-restore-/)
    expect(await read(again.id)).toBe('version 1')

    const conflict = await apiError(client.deleteVolume(volume.id))
    expect([conflict.status, conflict.error]).toEqual([409, 'conflict'])
    await client.deleteSnapshot(volume.id, snapshot.id)
    expect((await apiError(client.getSnapshot(volume.id, snapshot.id))).status).toBe(404)
    for (const id of [volume.id, restored.id, again.id]) await client.deleteVolume(id)
  })

  it('bad input: 4xx in the error shape and nothing changed', async () => {
    const volume = await client.createVolume({ name: 'guarded', size_gb: 1 })
    const other = await client.createVolume({ name: 'small', size_gb: 0.5 })
    await client.writeVolume(volume.id, { offset: 0, data: b64('keep') })
    const snapshot = await client.createSnapshot(volume.id, { name: 's1' })
    const unknown = '00000000-0000-4000-8000-000000000000'

    const cases: [() => Promise<unknown>, number, string][] = [
      [() => client.createSnapshot(volume.id, { name: 's1' }), 409, 'conflict'],
      [() => client.createSnapshot(unknown, { name: 's2' }), 404, 'not_found'],
      [() => client.createSnapshot(volume.id, { name: '' }), 422, 'validation_error'],
      [() => client.getSnapshot(other.id, snapshot.id), 404, 'not_found'],
      [() => client.listVolumeSnapshots(unknown), 404, 'not_found'],
      [() => client.deleteSnapshot(other.id, snapshot.id), 404, 'not_found'],
      [
        () => client.restoreSnapshot(volume.id, snapshot.id, { target_volume_id: other.id }),
        400,
        'bad_request',
      ],
      [
        () => client.restoreSnapshot(volume.id, snapshot.id, { target_volume_id: unknown }),
        404,
        'not_found',
      ],
      [
        () => client.restoreSnapshot(volume.id, snapshot.id, { target_volume_id: 'nope' }),
        422,
        'validation_error',
      ],
      [
        () =>
          client.restoreSnapshot(volume.id, snapshot.id, { target_volume_id: null, name: 'small' }),
        409,
        'conflict',
      ],
      [() => client.listSnapshots({ sort: 'size' as 'name' }), 422, 'validation_error'],
    ]
    for (const [call, status, code] of cases) {
      const error = await apiError(call())
      expect([error.status, error.error]).toEqual([status, code])
    }
    expect((await client.listSnapshots()).total).toBe(1)
    expect((await client.listVolumes()).total).toBe(2)
    expect(await read(volume.id)).toBe('keep')
    await client.deleteSnapshot(volume.id, snapshot.id)
    await client.deleteVolume(volume.id)
    await client.deleteVolume(other.id)
  })
})

describe('arrays and metrics', () => {
  it('report live figures in the seed shapes', async () => {
    const before = (await client.listArrays()).arrays[0]!
    expect(before).toMatchObject({
      id: 'node-1',
      name: 'PStorage',
      model: 'PStorage Virtual Array',
    })
    const volume = await client.createVolume({ name: 'm', size_gb: 2 })
    // Random data reaches the medium; a pattern would be removed and change no capacity.
    await client.writeVolume(volume.id, {
      offset: 0,
      data: Buffer.from(pseudoRandomBytes(8192, 3)).toString('base64'),
    })
    await client.createSnapshot(volume.id, { name: 'm-snap' })
    const after = (await client.listArrays()).arrays[0]!
    expect(after.capacity.used_bytes).toBeGreaterThan(before.capacity.used_bytes)
    expect(after.capacity.total_bytes).toBe(before.capacity.total_bytes)

    const all = AllMetricsSchema.parse(await client.getMetrics())
    ReductionMetricsSchema.parse(await client.getReductionMetrics())
    const flash = FlashMetricsSchema.parse(await client.getFlashMetrics())
    expect(flash.capacity.used_bytes + flash.capacity.free_bytes).toBe(flash.capacity.total_bytes)
    expect(VolumeMetricsSchema.parse(await client.getVolumeMetrics())).toEqual({
      volumes: { total: 1, provisioned_bytes: 2 * 1024 ** 3, used_bytes: 8192 },
      snapshots: { total: 1, by_volume: { [volume.id]: 1 } },
    })
    expect(all.volumes.volumes.total).toBe(1)
    expect(await client.getReplicationMetrics()).toEqual({
      enabled: false,
      message: 'Clustering is not enabled',
    })
    const snapshots = await client.listVolumeSnapshots(volume.id)
    await client.deleteSnapshot(volume.id, snapshots.snapshots[0]!.id)
    await client.deleteVolume(volume.id)
  })
})

describe('data reduction on the real engine', () => {
  it('moves the reduction metrics as the data says: zeros, patterns, duplicates, compressible text', async () => {
    const volume = await client.createVolume({ name: 'reduce', size_gb: 1 })
    const before = ReductionMetricsSchema.parse(await client.getReductionMetrics())
    const write = (offset: number, bytes: Uint8Array) =>
      client.writeVolume(volume.id, { offset, data: Buffer.from(bytes).toString('base64') })

    const zeros = await write(0, new Uint8Array(16 * 4096))
    expect(zeros).toMatchObject({ was_deduplicated: false, was_compressed: false })
    const pattern = new Uint8Array(4 * 4096).map((_, i) => [0xde, 0xad, 0xbe, 0xef][i % 4]!)
    await write(16 * 4096, pattern)
    const unique = pseudoRandomBytes(4096, 11)
    const first = await write(20 * 4096, unique)
    expect(first.was_deduplicated).toBe(false)
    const copy = await write(21 * 4096, unique)
    expect(copy.was_deduplicated).toBe(true)
    const text = new TextEncoder().encode(
      Array.from(
        { length: 800 },
        (_, i) => `{"row":${i},"status":"ok","host":"node-${i % 7}"}\n`,
      ).join(''),
    )
    const compressed = await write(22 * 4096, text.subarray(0, 8 * 4096))
    expect(compressed.was_compressed).toBe(true)
    expect(compressed.reduction_ratio).toBeGreaterThan(1)

    const after = ReductionMetricsSchema.parse(await client.getReductionMetrics())
    expect(after.pattern_removal.zero_blocks_found - before.pattern_removal.zero_blocks_found).toBe(
      16,
    )
    expect(
      after.pattern_removal.pattern_blocks_found - before.pattern_removal.pattern_blocks_found,
    ).toBe(4)
    expect(
      after.deduplication.duplicate_blocks - before.deduplication.duplicate_blocks,
    ).toBeGreaterThanOrEqual(1)
    expect(after.bytes_saved.pattern - before.bytes_saved.pattern).toBe(20 * 4096)
    expect(after.bytes_saved.dedupe).toBeGreaterThan(before.bytes_saved.dedupe)
    expect(after.bytes_saved.compression).toBeGreaterThan(before.bytes_saved.compression)
    expect(after.compression).toMatchObject({ algorithm: 'lz4' })
    expect(after.overall_reduction_ratio).toBeGreaterThan(1)
    const flash = FlashMetricsSchema.parse(await client.getFlashMetrics())
    expect(flash.capacity.used_bytes + flash.capacity.free_bytes).toBe(flash.capacity.total_bytes)
    expect((await client.getVolume(volume.id)).reduction_ratio).toBeGreaterThan(1)

    // Everything reads back exactly.
    const read = async (offset: number, length: number) =>
      Buffer.from((await client.readVolume(volume.id, { offset, length })).data, 'base64')
    expect((await read(0, 16 * 4096)).equals(Buffer.alloc(16 * 4096))).toBe(true)
    expect((await read(16 * 4096, pattern.length)).equals(Buffer.from(pattern))).toBe(true)
    expect((await read(21 * 4096, 4096)).equals(Buffer.from(unique))).toBe(true)
    expect((await read(22 * 4096, 8 * 4096)).equals(Buffer.from(text.subarray(0, 8 * 4096)))).toBe(
      true,
    )
    await client.deleteVolume(volume.id)
  })

  it('chooses the reduction policy per volume; the metrics name the algorithm in use', async () => {
    const dense = await client.createVolume({
      name: 'dense',
      size_gb: 1,
      reduction_policy: 'dense',
    })
    expect(dense.reduction_policy).toBe('dense')
    const text = new TextEncoder().encode(
      Array.from({ length: 6000 }, (_, i) => `line ${i % 97} of a very regular log\n`).join(''),
    )
    const written = await client.writeVolume(dense.id, {
      offset: 0,
      data: Buffer.from(text.subarray(0, 32 * 4096)).toString('base64'),
    })
    expect(written.was_compressed).toBe(true)
    const metrics = ReductionMetricsSchema.parse(await client.getReductionMetrics())
    expect(metrics.compression.algorithm).toMatch(/zstd|brotli/)
    const back = await client.readVolume(dense.id, { offset: 0, length: 32 * 4096 })
    expect(Buffer.from(back.data, 'base64').equals(Buffer.from(text.subarray(0, 32 * 4096)))).toBe(
      true,
    )
    const clone = await client.cloneVolume(dense.id, { name: 'dense-clone' })
    expect(clone.reduction_policy).toBe('dense')
    const bad = await apiError(
      client.createVolume({ name: 'x', size_gb: 1, reduction_policy: 'gzip' as never }),
    )
    expect(bad.status).toBe(422)
    await client.deleteVolume(clone.id)
    await client.deleteVolume(dense.id)
  })
})

describe('health', () => {
  it('/health/detailed checks the data directory for real', async () => {
    const health = HealthDetailedSchema.parse(await client.getHealthDetailed())
    expect(health.status).toBe('healthy')
    expect(health.checks.database).toEqual({ status: 'healthy', error: null })
    expect(health.checks.data_directory).toMatchObject({
      path: dataDir,
      exists: true,
      writable: true,
    })
    expect(health.checks.data_directory.free_bytes).toBeGreaterThan(0)
    expect(health.checks.engine.status).toBe('healthy')
    expect(health.checks.system.uptime_seconds).toBeGreaterThan(0)
  })
})

describe('cluster on a single node', () => {
  it('reports this node as primary with quorum', async () => {
    expect(await client.getClusterStatus()).toEqual({
      node_id: 'node-1',
      state: 'healthy',
      current_primary: 'node-1',
      has_quorum: true,
      node_count: 1,
      healthy_nodes: 1,
      replication_lag_ms: 0,
    })
  })

  it('persists peers, records heartbeats, and refuses failover and failback', async () => {
    const peer = await client.addPeer({ node_id: 'node-2', url: 'http://node-2:8000' })
    expect(peer).toEqual({
      node_id: 'node-2',
      url: 'http://node-2:8000',
      state: 'unknown',
      last_heartbeat: null,
      lag_bytes: 0,
    })
    const beat = await client.heartbeat({ node_id: 'node-2' })
    expect(beat.node_id).toBe('node-1')
    const replication = await client.getReplicationStatus()
    expect(replication).toMatchObject({ mode: 'none', node_id: 'node-1', is_primary: true })
    expect(replication.peers).toEqual([
      expect.objectContaining({
        node_id: 'node-2',
        state: 'healthy',
        last_heartbeat: beat.received_at,
      }),
    ])

    for (const [call, status, code] of [
      [() => client.addPeer({ node_id: 'node-2', url: 'http://elsewhere:8000' }), 409, 'conflict'],
      [() => client.addPeer({ node_id: 'node-1', url: 'http://self:8000' }), 409, 'conflict'],
      [() => client.addPeer({ node_id: 'node-3', url: 'ftp://node-3' }), 422, 'validation_error'],
      [
        () => client.addPeer({ node_id: 'bad id!', url: 'http://node-3:8000' }),
        422,
        'validation_error',
      ],
      [
        () => client.addPeer({ node_id: 'node-3', url: 'http://user:pw@node-3:8000' }),
        422,
        'validation_error',
      ],
      [() => client.heartbeat({ node_id: 'node-9' }), 404, 'not_found'],
      [() => client.failover({ target_node: 'node-2' }), 409, 'clustering_disabled'],
      [() => client.failover({ target_node: null }), 409, 'clustering_disabled'],
      [() => client.failover({ target_node: 5 as unknown as string }), 422, 'validation_error'],
      [() => client.failback(), 409, 'clustering_disabled'],
      [() => client.removePeer('node-9'), 404, 'not_found'],
    ] as const) {
      const error = await apiError(call())
      expect([error.status, error.error], String(call)).toEqual([status, code])
    }
    expect((await apiError(client.failback())).detail).toMatch(/Clustering is not enabled/)

    // Peers survive a restart of the server.
    await server.stop()
    server = await startServerProcess({ dataDir })
    client = await adminClient(server.url)
    expect((await client.getReplicationStatus()).peers.map((p) => p.node_id)).toEqual(['node-2'])
    await client.removePeer('node-2')
    expect((await client.getReplicationStatus()).peers).toEqual([])
  })
})
