import {
  BLOCK_SIZE,
  type BlockEngine,
  type CreateVolumeOptions,
  checkRead,
  checkWrite,
  type EngineStats,
  type EngineVolumeStats,
  type EngineWriteResult,
  type IntegrityIssue,
  notFound,
  PStorageError,
  type ReductionPolicy,
} from '@pstorage/core'
import { type SlabLayout, slabLayout } from './compute.js'
import { SLABS } from './compute-pool.js'
import { commit, type EngineContext } from './context.js'
import { reductionRatio } from './counters.js'
import { engineStats, type FlashDetails, flashDetails } from './flash-stats.js'
import { fsck } from './fsck.js'
import { Lane } from './lane.js'
import { Maintenance } from './maintenance.js'
import type { MapRow } from './map-index.js'
import { openContext } from './open-context.js'
import type { FlashEngineOptions } from './options.js'
import { POLICY_SPECS, REDUCTION_POLICIES } from './policy.js'
import { readRange, readRangeInto } from './read-path.js'
import { reapDead } from './reap.js'
import { recover } from './recovery.js'
import { scrub } from './scrub.js'
import {
  finishWriteBatch,
  type PreparedBatch,
  prepareWriteBatch,
  type WriteRequest,
} from './write-batch.js'

/**
 * The name of this engine, for logs, health documents and configuration.
 *
 * @example
 * ```ts
 * logger.info({ engine: DRIVER_NAME }) // 'flash'
 * ```
 */
export const DRIVER_NAME = 'flash'

/**
 * The flash engine: the `BlockEngine` port with its optional methods, plus flash details.
 *
 * @example
 * ```ts
 * const engine: FlashEngine = await createFlashEngine({ dataDir })
 * const issues = await engine.fsck() // [] when consistent
 * ```
 */
export interface FlashEngine extends BlockEngine {
  /**
   * Fills `target` with bytes `[offset, offset + target.length)` of a volume, verified like
   * `read()`: for streaming readers that reuse their buffers, so nothing is allocated per
   * read (a `SharedArrayBuffer`-backed target is even written in place by the workers).
   * `target` must not be used until the promise settles; on failure its content is undefined.
   */
  readInto(volumeId: string, offset: number, target: Uint8Array): Promise<void>
  /**
   * Writes `length` bytes at `offset` that `fill` puts into a buffer the engine lends: its
   * own shared memory, which the compute workers read in place, so the data is not copied
   * as `write()` copies it. For writers that read their data from somewhere (a file, a
   * socket) into a buffer anyway.
   *
   * The volume and range are checked before `fill` runs. `target` is valid only until the
   * promise `fill` returns settles: it is pooled memory, and writing to it afterwards would
   * change a write in progress (reads then report the blocks corrupt). If `fill` throws,
   * nothing is written and the write fails with its error. The write takes its place among
   * concurrent writes when `fill` settles, not when `writeFrom` is called.
   */
  writeFrom(
    volumeId: string,
    offset: number,
    length: number,
    fill: (target: Uint8Array) => void | Promise<void>,
  ): Promise<EngineWriteResult>
  /** Checks metadata and segment consistency; [] means consistent. */
  fsck(): Promise<IntegrityIssue[]>
  /** Reads and verifies every live block; [] means nothing is corrupt. */
  scrub(): Promise<IntegrityIssue[]>
  /** Collects every segment with dead data now, then levels wear. */
  collectGarbage(): Promise<void>
  /** Segments, erase counts, write amplification and other figures beyond the seed shapes. */
  flashDetails(): Promise<FlashDetails>
  /** Space figures of one volume, with its reduction policy and the codec it uses. */
  volumeStats(volumeId: string): Promise<FlashVolumeStats>
}

/**
 * `volumeStats` of the flash engine: the port's figures plus the volume's reduction policy
 * (chosen at creation) and the compression algorithm that policy uses here.
 *
 * @example
 * ```ts
 * const { policy, algorithm }: FlashVolumeStats = await engine.volumeStats('v1') // 'dense', 'zstd'
 * ```
 */
export interface FlashVolumeStats extends EngineVolumeStats {
  readonly policy: ReductionPolicy
  readonly algorithm: string
}

/**
 * Opens (or creates) a flash engine on `dataDir`: inline data reduction (patterns,
 * SHA-256 dedupe, LZ4 or zstd chunks by the volume's policy) into a log of fixed-size
 * segments on a simulated flash medium with GC and wear leveling, hashing and compression
 * on worker threads, and metadata in SQLite. Writes resolve once data and metadata are
 * durable. Recovery of a crashed directory runs before the promise resolves.
 *
 * @example
 * ```ts
 * const engine = await createFlashEngine({ dataDir: './data/engine', capacityBytes: 1 << 30 })
 * await engine.createVolume('v1', 1 << 20)
 * await engine.write('v1', 0, new TextEncoder().encode('Hello World!'))
 * await engine.close()
 * ```
 */
export async function createFlashEngine(options: FlashEngineOptions): Promise<FlashEngine> {
  const ctx = openContext(options)
  try {
    await recover(ctx)
  } catch (cause) {
    await ctx.files.close()
    ctx.db.close()
    throw new PStorageError('service_unavailable', '[pstorage] [engine] recovery failed', { cause })
  }
  return buildEngine(ctx)
}

function buildEngine(ctx: EngineContext): FlashEngine {
  const { maps } = ctx
  // The lane's commit calls into maintenance (foreground GC), which runs on the lane: the
  // closure only uses `maintenance` once the first batch runs, after both exist.
  const lane = new Lane<WriteRequest, PreparedBatch>({
    prepare: (batch) => prepareWriteBatch(ctx, batch),
    finish: async (prepared) => {
      await finishWriteBatch(ctx, prepared, () => maintenance.makeRoom())
      maintenance.kick()
    },
  })
  const maintenance = new Maintenance(ctx, lane)
  const reads = new Set<Promise<unknown>>()

  const open = () => {
    if (ctx.state.closed)
      throw new PStorageError('service_unavailable', 'The block engine is closed')
  }
  const volume = (id: string): MapRow => {
    const found = maps.find('volume', id)
    if (!found) throw notFound('Volume', id)
    return found
  }
  const snapshot = (id: string): MapRow => {
    const found = maps.find('snapshot', id)
    if (!found) throw notFound('Snapshot', id)
    return found
  }
  const fresh = (id: string) => {
    if (maps.find('volume', id)) throw new PStorageError('conflict', `Volume ${id} already exists`)
  }
  const now = () => ctx.options.clock.now().getTime()
  // Mutations run alone on the lane, after every write queued before them. One accepted
  // before close() still runs: close() waits for the lane to drain.
  const mutate = async <T>(fn: () => T): Promise<T> => {
    open()
    const result = await lane.run(async () => commit(ctx, fn))
    maintenance.kick()
    return result
  }
  const reaped = () => {
    reapDead(ctx)
  }
  const tracked = <T>(promise: Promise<T>): Promise<T> => {
    reads.add(promise)
    void promise.finally(() => reads.delete(promise)).catch(() => undefined)
    return promise
  }
  // Queues a write whose data is in `slab`; the compute workers analyse it from now on,
  // while earlier batches commit. The lane settles the promise and gives the slab back.
  const enqueue = (volumeId: string, offset: number, slab: Uint8Array, layout: SlabLayout) =>
    new Promise<EngineWriteResult>((resolve, reject) => {
      const analyzed = ctx.pool.analyze(slab, layout)
      analyzed.catch(() => undefined)
      lane.write({
        volumeId,
        offset,
        data: slab.subarray(0, layout.dataLength),
        slab,
        layout,
        analyzed,
        resolve,
        reject,
      })
    })

  const engine: FlashEngine = {
    createVolume(volumeId: string, sizeBytes: number, options?: CreateVolumeOptions) {
      return mutate(() => {
        const policy = options?.policy ?? 'lz4'
        if (!REDUCTION_POLICIES.includes(policy))
          throw new PStorageError('bad_request', `Unknown reduction policy ${policy}`)
        if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0)
          throw new PStorageError('bad_request', `Invalid volume size ${sizeBytes}`)
        fresh(volumeId)
        maps.create('volume', volumeId, sizeBytes, policy, now())
      })
    },
    deleteVolume(volumeId) {
      return mutate(() => {
        maps.remove(volume(volumeId).id)
        reaped()
      })
    },
    resizeVolume(volumeId, sizeBytes) {
      return mutate(() => {
        const found = volume(volumeId)
        if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= found.size) {
          throw new PStorageError(
            'bad_request',
            `Volumes only grow: ${sizeBytes} <= ${found.size} bytes`,
          )
        }
        maps.resize(found.id, sizeBytes)
      })
    },
    async write(volumeId, offset, data) {
      open()
      // A copy into shared memory (the caller may reuse its buffer before the batch is
      // taken), analysed by the compute workers from now on, while earlier batches commit.
      const layout = slabLayout(data.length)
      const slab = SLABS.take(Math.max(1, layout.bytes))
      slab.set(data)
      return enqueue(volumeId, offset, slab, layout)
    },
    async writeFrom(volumeId, offset, length, fill) {
      open()
      if (typeof fill !== 'function')
        throw new PStorageError('bad_request', 'writeFrom needs a function to fill its buffer')
      checkWrite(offset, length, volume(volumeId).size)
      const layout = slabLayout(length)
      const slab = SLABS.take(Math.max(1, layout.bytes))
      try {
        await fill(slab.subarray(0, length))
        open()
      } catch (error) {
        SLABS.give(slab)
        throw error
      }
      return enqueue(volumeId, offset, slab, layout)
    },
    async read(volumeId, offset, length) {
      open()
      const found = volume(volumeId)
      const end = length === undefined ? Math.max(offset, writtenEndOf(found)) : offset + length
      checkRead(offset, end - offset, found.size)
      return tracked(readRange(ctx, found.id, offset, end))
    },
    async readInto(volumeId, offset, target) {
      open()
      const found = volume(volumeId)
      if (!(target instanceof Uint8Array)) {
        throw new PStorageError('bad_request', 'readInto needs a Uint8Array to fill')
      }
      checkRead(offset, target.length, found.size)
      return tracked(readRangeInto(ctx, found.id, offset, target))
    },
    async writtenEnd(volumeId) {
      open()
      return writtenEndOf(volume(volumeId))
    },
    createSnapshot(volumeId, snapshotId) {
      return mutate(() => {
        const source = volume(volumeId)
        if (maps.find('snapshot', snapshotId))
          throw new PStorageError('conflict', `Snapshot ${snapshotId} already exists`)
        maps.copy('snapshot', snapshotId, source, source.size, now())
      })
    },
    deleteSnapshot(snapshotId) {
      return mutate(() => {
        maps.remove(snapshot(snapshotId).id)
        reaped()
      })
    },
    cloneVolume(sourceVolumeId, newVolumeId) {
      return mutate(() => {
        const source = volume(sourceVolumeId)
        fresh(newVolumeId)
        maps.copy('volume', newVolumeId, source, source.size, now())
      })
    },
    createVolumeFromSnapshot(snapshotId, newVolumeId) {
      return mutate(() => {
        const source = snapshot(snapshotId)
        fresh(newVolumeId)
        maps.copy('volume', newVolumeId, source, source.size, now())
      })
    },
    restoreSnapshot(snapshotId, targetVolumeId) {
      return mutate(() => {
        const source = snapshot(snapshotId)
        maps.replaceWith(volume(targetVolumeId), source)
        reaped()
      })
    },
    async volumeStats(volumeId): Promise<FlashVolumeStats> {
      open()
      const found = volume(volumeId)
      return {
        used_bytes: found.used_bytes,
        reduction_ratio: reductionRatio(found.used_bytes, maps.physicalBytes(found.id)),
        policy: found.policy,
        algorithm: POLICY_SPECS[found.policy].algorithm,
      }
    },
    async stats(): Promise<EngineStats> {
      open()
      return engineStats(ctx)
    },
    async flashDetails() {
      open()
      return flashDetails(ctx)
    },
    async fsck() {
      open()
      return lane.run(() => fsck(ctx))
    },
    async scrub() {
      open()
      return lane.run(() => scrub(ctx))
    },
    async collectGarbage() {
      open()
      await lane.run(() => maintenance.collectAll())
    },
    async close() {
      if (ctx.state.closed) return
      ctx.state.closed = true
      await lane.idle()
      await Promise.allSettled([...reads])
      await ctx.files.close()
      await ctx.wal.close()
      ctx.db.close()
      ctx.cache.clear()
    },
  }

  function writtenEndOf(map: MapRow): number {
    const last = maps.last(map.id)
    return last ? (last.idx + last.n - 1) * BLOCK_SIZE + last.tail : 0
  }

  return Object.freeze(engine)
}
