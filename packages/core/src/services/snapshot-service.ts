import { notFound, PStorageError } from '../errors.js'
import {
  CreateSnapshotRequestSchema,
  ListSnapshotsQuerySchema,
  RestoreSnapshotRequestSchema,
  type Snapshot,
  type SnapshotList,
} from '../schemas/snapshot.js'
import type { Volume } from '../schemas/volume.js'
import type { SnapshotRow, VolumeRow } from '../store/database.js'
import { uniqueViolationToConflict } from '../store/repositories.js'
import { parseInput, parseListQuery } from './validate.js'
import { type ServiceDeps, toVolume } from './volume-service.js'

function toSnapshot(row: SnapshotRow): Snapshot {
  return {
    id: row.id,
    name: row.name,
    volume_id: row.volume_id,
    volume_name: row.volume_name,
    size_bytes: Number(row.size_bytes),
    used_bytes: Number(row.used_bytes),
    state: row.state as Snapshot['state'],
    description: row.description,
    created_at: row.created_at,
    tags: JSON.parse(row.tags) as Record<string, string>,
  }
}

/** The result of a restore: the volume written, and whether it was created for it. */
export interface RestoreResult {
  readonly volume: Volume
  readonly created: boolean
}

/**
 * Snapshots of seeds/001: instant, immutable, named uniquely per volume; restore to a new
 * volume or over an existing one.
 *
 * @example
 * ```ts
 * const snap = await pstorage.snapshots.create(volumeId, { name: 'before-upgrade' })
 * await pstorage.snapshots.restore(volumeId, snap.id, { target_volume_id: volumeId })
 * ```
 */
export function createSnapshotService(deps: ServiceDeps) {
  const { engine, volumes, snapshots, clock, ids, events } = deps

  const volumeRow = async (id: string): Promise<VolumeRow> => {
    const found = await volumes.find(id)
    if (!found) throw notFound('Volume', id)
    return found
  }
  // A snapshot is addressed under its volume: another volume's snapshot id is not found here.
  const snapshotRow = async (volumeId: string, snapshotId: string): Promise<SnapshotRow> => {
    const found = await snapshots.find(snapshotId)
    if (!found || found.volume_id !== volumeId) throw notFound('Snapshot', snapshotId)
    return found
  }

  const service = {
    /** Freezes a volume's current content (seeds/001 "Create Snapshot"). */
    async create(volumeId: string, input: unknown): Promise<Snapshot> {
      const request = parseInput(CreateSnapshotRequestSchema, input)
      const volume = await volumeRow(volumeId)
      if (await snapshots.findByName(volumeId, request.name)) {
        throw new PStorageError(
          'conflict',
          `Volume ${volumeId} already has a snapshot named '${request.name}'`,
        )
      }
      const id = ids.next()
      const usage = await engine.volumeStats(volumeId)
      await engine.createSnapshot(volumeId, id)
      const row: SnapshotRow = {
        id,
        volume_id: volumeId,
        volume_name: volume.name,
        name: request.name,
        size_bytes: Number(volume.size_bytes),
        used_bytes: usage.used_bytes,
        state: 'available',
        description: request.description ?? null,
        tags: JSON.stringify(request.tags ?? {}),
        created_at: clock.now().toISOString(),
      }
      try {
        await snapshots.insert(row)
      } catch (error) {
        await engine.deleteSnapshot(id).catch(() => undefined)
        uniqueViolationToConflict(
          error,
          `Volume ${volumeId} already has a snapshot named '${request.name}'`,
        )
      }
      events.publish('snapshot.created', { snapshot_id: id, volume_id: volumeId })
      return toSnapshot(row)
    },

    /** Snapshots of one volume, or of all volumes when `volumeId` is undefined. */
    async list(volumeId: string | undefined, query?: unknown): Promise<SnapshotList> {
      const parsed = parseListQuery(ListSnapshotsQuerySchema, query)
      if (volumeId !== undefined) await volumeRow(volumeId)
      const { rows, total } = await snapshots.list(parsed, volumeId)
      return { snapshots: rows.map(toSnapshot), total }
    },

    /** One snapshot of a volume, or `not_found`. */
    async get(volumeId: string, snapshotId: string): Promise<Snapshot> {
      return toSnapshot(await snapshotRow(volumeId, snapshotId))
    },

    /** Deletes a snapshot; blocks other volumes or snapshots share stay. */
    async delete(volumeId: string, snapshotId: string): Promise<void> {
      await snapshotRow(volumeId, snapshotId)
      await engine.deleteSnapshot(snapshotId)
      await snapshots.remove(snapshotId)
      events.publish('snapshot.deleted', { snapshot_id: snapshotId, volume_id: volumeId })
    },

    /**
     * Restores a snapshot (seeds/001 "Restore Snapshot"): `target_volume_id: null` creates
     * a new volume; an id overwrites that volume, which must be at least as large.
     */
    async restore(volumeId: string, snapshotId: string, input: unknown): Promise<RestoreResult> {
      const request = parseInput(RestoreSnapshotRequestSchema, input ?? {})
      const snapshot = await snapshotRow(volumeId, snapshotId)
      const now = clock.now().toISOString()
      if (request.target_volume_id === null) {
        const source = await volumes.find(volumeId)
        const name =
          request.name ?? `${snapshot.name}-restore-${now.replace(/[-:.]/g, '').slice(0, 15)}`
        if (await volumes.findByName(name))
          throw new PStorageError('conflict', `A volume named '${name}' already exists`)
        const row: VolumeRow = {
          id: ids.next(),
          name,
          size_bytes: Number(snapshot.size_bytes),
          state: 'available',
          description: `Restored from snapshot ${snapshot.name} of ${snapshot.volume_name}`,
          tags: snapshot.tags,
          policy: source?.policy ?? 'lz4',
          created_at: now,
          updated_at: now,
        }
        await engine.createVolumeFromSnapshot(snapshotId, row.id)
        try {
          await volumes.insert(row)
        } catch (error) {
          await engine.deleteVolume(row.id).catch(() => undefined)
          uniqueViolationToConflict(error, `A volume named '${name}' already exists`)
        }
        events.publish('volume.created', { volume_id: row.id })
        events.publish('snapshot.restored', { snapshot_id: snapshotId, volume_id: row.id })
        return { volume: await toVolume(engine, row), created: true }
      }
      const target = await volumeRow(request.target_volume_id)
      if (Number(target.size_bytes) < Number(snapshot.size_bytes)) {
        throw new PStorageError(
          'bad_request',
          `Target volume (${target.size_bytes} bytes) is smaller than the snapshot (${snapshot.size_bytes} bytes)`,
        )
      }
      await engine.restoreSnapshot(snapshotId, target.id)
      const updated = { ...target, updated_at: now }
      await volumes.update(target.id, { updated_at: now })
      events.publish('snapshot.restored', { snapshot_id: snapshotId, volume_id: target.id })
      return { volume: await toVolume(engine, updated), created: false }
    },
  }
  return Object.freeze(service)
}

export type SnapshotService = ReturnType<typeof createSnapshotService>
