import { isPStorageError, notFound, PStorageError } from '../errors.js'
import type { BlockEngine, EngineWriteResult } from '../ports/block-engine.js'
import { BLOCK_SIZE } from '../ports/block-engine.js'
import type { Clock } from '../ports/clock.js'
import type { EventBus } from '../ports/event-bus.js'
import type { IdGenerator } from '../ports/id-generator.js'
import {
  MAX_JSON_DATA_BYTES,
  type ReadResponse,
  WriteRequestSchema,
  type WriteResponse,
} from '../schemas/data.js'
import {
  BYTES_PER_GB,
  CloneVolumeRequestSchema,
  CreateVolumeRequestSchema,
  ListVolumesQuerySchema,
  ResizeVolumeRequestSchema,
  UpdateVolumeRequestSchema,
  type Volume,
  type VolumeList,
} from '../schemas/volume.js'
import type { VolumeRow } from '../store/database.js'
import {
  type SnapshotRepository,
  uniqueViolationToConflict,
  type VolumeRepository,
} from '../store/repositories.js'
import { BufferPool } from './buffer-pool.js'
import { parseInput, parseListQuery } from './validate.js'
import { readAsStream, writeFromStream, writeFromStreamLent } from './volume-streams.js'

/** Bytes of JSON read buffers kept for reuse, per volume service. */
const JSON_READ_RETAIN_BYTES = 8 * 1024 * 1024

/** What the volume and snapshot services are built from. */
export interface ServiceDeps {
  readonly engine: BlockEngine
  readonly volumes: VolumeRepository
  readonly snapshots: SnapshotRepository
  readonly clock: Clock
  readonly ids: IdGenerator
  readonly events: EventBus
}

/** `size_gb` → bytes, rounded up to whole blocks (1.5 GB is 1610612736 bytes). */
export function sizeGbToBytes(sizeGb: number): number {
  return Math.ceil((sizeGb * BYTES_PER_GB) / BLOCK_SIZE) * BLOCK_SIZE
}

/**
 * Builds the API shape of a volume from its row and the engine's live figures. A volume the
 * metadata knows but the engine does not (its data was lost) is reported in state `error`,
 * never hidden.
 */
export async function toVolume(engine: BlockEngine, row: VolumeRow): Promise<Volume> {
  const stats = await engine.volumeStats(row.id).catch((error: unknown) => {
    if (isPStorageError(error, 'not_found')) return undefined
    throw error
  })
  return {
    id: row.id,
    name: row.name,
    size_bytes: Number(row.size_bytes),
    used_bytes: stats?.used_bytes ?? 0,
    state: stats ? (row.state as Volume['state']) : 'error',
    description: row.description,
    created_at: row.created_at,
    updated_at: row.updated_at,
    tags: JSON.parse(row.tags) as Record<string, string>,
    reduction_ratio: stats?.reduction_ratio ?? 1,
    reduction_policy: row.policy === 'dense' ? 'dense' : 'lz4',
  }
}

/**
 * Volumes of seeds/001: validates every input against core's schemas, enforces the
 * product rules (names unique and 1–255 characters, 0 < size_gb <= 1024, grow-only
 * resize), keeps metadata and engine in step, and publishes events.
 *
 * @example
 * ```ts
 * const volume = await pstorage.volumes.create({ name: 'db', size_gb: 10 })
 * await pstorage.volumes.write(volume.id, { offset: 0, data: 'SGVsbG8gV29ybGQh' })
 * ```
 */
export function createVolumeService(deps: ServiceDeps) {
  const { engine, volumes, snapshots, clock, ids, events } = deps

  const row = async (id: string): Promise<VolumeRow> => {
    const found = await volumes.find(id)
    if (!found) throw notFound('Volume', id)
    return found
  }
  const assertNameFree = async (name: string, self?: string) => {
    const taken = await volumes.findByName(name)
    if (taken && taken.id !== self)
      throw new PStorageError('conflict', `A volume named '${name}' already exists`)
  }

  /** Inserts the row of a volume the engine already holds; undoes the engine side on failure. */
  const register = async (newRow: VolumeRow): Promise<Volume> => {
    try {
      await volumes.insert(newRow)
    } catch (error) {
      await engine.deleteVolume(newRow.id).catch(() => undefined)
      uniqueViolationToConflict(error, `A volume named '${newRow.name}' already exists`)
    }
    events.publish('volume.created', { volume_id: newRow.id })
    return toVolume(engine, newRow)
  }

  /** Buffers of JSON reads: four 1 MiB calls in flight reuse theirs. */
  const jsonReadBuffers = new BufferPool(JSON_READ_RETAIN_BYTES)

  const service = {
    /** Creates a thin volume (seeds/001 "Create Volume"). */
    async create(input: unknown): Promise<Volume> {
      const request = parseInput(CreateVolumeRequestSchema, input)
      await assertNameFree(request.name)
      const now = clock.now().toISOString()
      const newRow: VolumeRow = {
        id: ids.next(),
        name: request.name,
        size_bytes: sizeGbToBytes(request.size_gb),
        state: 'available',
        description: request.description ?? null,
        tags: JSON.stringify(request.tags ?? {}),
        policy: request.reduction_policy ?? 'lz4',
        created_at: now,
        updated_at: now,
      }
      await engine.createVolume(newRow.id, newRow.size_bytes, {
        policy: request.reduction_policy ?? 'lz4',
      })
      return register(newRow)
    },

    /** Lists volumes with paging, sorting and name search. */
    async list(query?: unknown): Promise<VolumeList> {
      const parsed = parseListQuery(ListVolumesQuerySchema, query)
      const { rows, total } = await volumes.list(parsed)
      return { volumes: await Promise.all(rows.map((r) => toVolume(engine, r))), total }
    },

    /** One volume, or `not_found`. */
    async get(id: string): Promise<Volume> {
      return toVolume(engine, await row(id))
    },

    /** Changes name, description or tags; only the fields given change. */
    async update(id: string, input: unknown): Promise<Volume> {
      const request = parseInput(UpdateVolumeRequestSchema, input)
      const current = await row(id)
      if (request.name !== undefined) await assertNameFree(request.name, id)
      const patch = {
        ...(request.name !== undefined && { name: request.name }),
        ...(request.description !== undefined && { description: request.description }),
        ...(request.tags !== undefined && { tags: JSON.stringify(request.tags) }),
      }
      if (Object.keys(patch).length === 0) return toVolume(engine, current)
      const updated = { ...current, ...patch, updated_at: clock.now().toISOString() }
      await volumes
        .update(id, { ...patch, updated_at: updated.updated_at })
        .catch((error) =>
          uniqueViolationToConflict(error, `A volume named '${request.name}' already exists`),
        )
      events.publish('volume.updated', { volume_id: id })
      return toVolume(engine, updated)
    },

    /** Deletes a volume. A volume with snapshots is kept (`conflict`) until they are deleted. */
    async delete(id: string): Promise<void> {
      await row(id)
      const { total } = await snapshots.list({ limit: 1, offset: 0, order: 'asc' }, id)
      if (total > 0) {
        throw new PStorageError(
          'conflict',
          `Volume ${id} has ${total} snapshot(s); delete them first`,
          {
            details: { snapshots: total },
          },
        )
      }
      await engine.deleteVolume(id)
      await volumes.remove(id)
      events.publish('volume.deleted', { volume_id: id })
    },

    /** Grows a volume (seeds/001: "Only expansion is supported"). */
    async resize(id: string, input: unknown): Promise<Volume> {
      const request = parseInput(ResizeVolumeRequestSchema, input)
      const current = await row(id)
      const size = sizeGbToBytes(request.size_gb)
      if (size <= Number(current.size_bytes)) {
        throw new PStorageError(
          'bad_request',
          `New size (${size} bytes) must be larger than the current size (${current.size_bytes} bytes)`,
        )
      }
      await engine.resizeVolume(id, size)
      const updated = { ...current, size_bytes: size, updated_at: clock.now().toISOString() }
      await volumes.update(id, { size_bytes: size, updated_at: updated.updated_at })
      events.publish('volume.resized', { volume_id: id, size_bytes: size })
      return toVolume(engine, updated)
    },

    /** Creates a copy-on-write clone: a new, independent volume with the source's content. */
    async clone(id: string, input: unknown): Promise<Volume> {
      const request = parseInput(CloneVolumeRequestSchema, input)
      const source = await row(id)
      await assertNameFree(request.name)
      const now = clock.now().toISOString()
      const newRow: VolumeRow = {
        ...source,
        id: ids.next(),
        name: request.name,
        description: request.description ?? null,
        tags: JSON.stringify(request.tags ?? {}),
        created_at: now,
        updated_at: now,
      }
      await engine.cloneVolume(id, newRow.id)
      return register(newRow)
    },

    /** Writes base64 data at a block-aligned offset (seeds/001 "Write Data"). */
    async write(id: string, input: unknown): Promise<WriteResponse> {
      // Refuse oversized data before validating or decoding it: 4 base64 characters carry 3 bytes.
      const text = (input as { data?: unknown } | null)?.data
      if (typeof text === 'string' && Math.floor(text.length / 4) * 3 > MAX_JSON_DATA_BYTES + 2) {
        throw new PStorageError(
          'payload_too_large',
          `A JSON write carries at most ${MAX_JSON_DATA_BYTES} bytes; use PUT /api/v1/volumes/{id}/data for more`,
        )
      }
      const request = parseInput(WriteRequestSchema, input)
      return service.writeBytes(id, request.offset, Buffer.from(request.data, 'base64'))
    },

    /** Writes raw bytes at a block-aligned offset: the binary data path. */
    async writeBytes(id: string, offset: number, data: Uint8Array): Promise<WriteResponse> {
      await row(id)
      return writeResponse(id, offset, await engine.write(id, offset, data))
    },

    /**
     * Writes `length` bytes streamed from `source` at a block-aligned `offset` (the binary
     * data path). The whole range is validated before the first byte is read, so a
     * rejected stream writes nothing.
     */
    async writeStream(
      id: string,
      offset: number,
      length: number,
      source: AsyncIterable<Uint8Array>,
    ): Promise<WriteResponse> {
      const current = await row(id)
      const size = Number(current.size_bytes)
      if (!Number.isSafeInteger(offset) || offset < 0 || offset % BLOCK_SIZE !== 0) {
        throw new PStorageError(
          'bad_request',
          `Offset must be aligned to block size (${BLOCK_SIZE})`,
        )
      }
      if (!Number.isSafeInteger(length) || length < 1 || offset + length > size) {
        throw new PStorageError(
          'bad_request',
          `Write of ${length} bytes at offset ${offset} goes past the end of the volume (${size} bytes)`,
        )
      }
      // An engine that lends its memory gets the body's bytes without a copy in between.
      if (engine.writeFrom) {
        const writeFrom = engine.writeFrom.bind(engine)
        return writeFromStreamLent(id, offset, length, source, async (at, n, fill) =>
          writeResponse(id, at, await writeFrom(id, at, n, fill)),
        )
      }
      return writeFromStream(id, offset, length, source, (at, data) =>
        service.writeBytes(id, at, data),
      )
    },

    /** Streams `length` bytes from `offset` (the binary data path); the range is checked first. */
    async readStream(
      id: string,
      offset: number,
      length: number,
    ): Promise<AsyncIterable<Uint8Array>> {
      const current = await row(id)
      const size = Number(current.size_bytes)
      if (
        !Number.isSafeInteger(offset) ||
        offset < 0 ||
        !Number.isSafeInteger(length) ||
        length < 0 ||
        offset + length > size
      ) {
        throw new PStorageError(
          'bad_request',
          `Read of ${length} bytes at offset ${offset} goes past the end of the volume (${size} bytes)`,
        )
      }
      return readAsStream(offset, length, (at, n) => engine.read(id, at, n))
    },

    /** Reads base64 data (seeds/001 "Read Data"); without `length`, up to the end of written data. */
    async read(id: string, offset = 0, length?: number): Promise<ReadResponse> {
      const { size, result: data } = await service.readWith(id, offset, length, (bytes) =>
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
      )
      return { volume_id: id, offset, size, data }
    },

    /**
     * The read of {@link read} (same checks, at most 16 MiB), handing the bytes to `use`,
     * which must be done with them when it returns: they sit in a buffer reused by the next
     * read (filled in place by an engine with `readInto`), so a JSON read allocates nothing
     * for them. For callers that encode the bytes at once (the server's JSON route).
     */
    async readWith<T>(
      id: string,
      offset: number,
      length: number | undefined,
      use: (bytes: Uint8Array) => T,
    ): Promise<{ size: number; result: T }> {
      const size = await readLength(id, offset, length, MAX_JSON_DATA_BYTES)
      if (!engine.readInto || size === 0) {
        return { size, result: use(await engine.read(id, offset, size)) }
      }
      const bytes = jsonReadBuffers.take(size)
      try {
        await engine.readInto(id, offset, bytes)
        return { size, result: use(bytes) }
      } finally {
        jsonReadBuffers.give(bytes)
      }
    },

    /** Reads raw bytes; refuses (`payload_too_large`) to return more than `maxBytes`. */
    async readBytes(
      id: string,
      offset: number,
      length: number | undefined,
      maxBytes = Number.MAX_SAFE_INTEGER,
    ) {
      return engine.read(id, offset, await readLength(id, offset, length, maxBytes))
    },
  }

  /**
   * The bytes a read returns (`length`, or up to the written end), after checking them
   * against the volume's size and `maxBytes`.
   */
  async function readLength(
    id: string,
    offset: number,
    length: number | undefined,
    maxBytes: number,
  ): Promise<number> {
    const current = await row(id)
    const size = Number(current.size_bytes)
    if (offset > size || (length !== undefined && offset + length > size)) {
      throw new PStorageError(
        'bad_request',
        `Read of ${length ?? 0} bytes at offset ${offset} goes past the end of the volume (${size} bytes)`,
      )
    }
    const want = length ?? Math.max(0, (await engine.writtenEnd(id)) - offset)
    if (want > maxBytes) {
      throw new PStorageError(
        'payload_too_large',
        `The read would return ${want} bytes, more than ${maxBytes}; pass a smaller length or use GET /api/v1/volumes/{id}/data`,
      )
    }
    return want
  }
  return Object.freeze(service)
}

export type VolumeService = ReturnType<typeof createVolumeService>

/** The seed's write response for an engine write at `offset`. */
function writeResponse(volumeId: string, offset: number, result: EngineWriteResult): WriteResponse {
  return {
    volume_id: volumeId,
    offset,
    size: result.size,
    reduction_ratio: result.reduction_ratio,
    was_deduplicated: result.was_deduplicated,
    was_compressed: result.was_compressed,
  }
}
