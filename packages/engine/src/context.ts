import type { BlockIndex, ChunkIndex } from './block-index.js'
import type { ChunkCache } from './chunk-cache.js'
import type { ComputePool } from './compute-pool.js'
import type { CounterStore } from './counters.js'
import type { FingerprintIndex } from './fp-index.js'
import type { DedupeCache } from './fp-table.js'
import type { MapIndex } from './map-index.js'
import type { MetaTable, SqliteDatabase, WalFile } from './metadata-db.js'
import type { ResolvedFlashOptions } from './options.js'
import { maxChunkBlocks } from './policy.js'
import type { SegmentFiles } from './segment-files.js'
import { RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE } from './segment-format.js'
import type { SegmentTable } from './segment-table.js'

/**
 * Segments free for GC destinations only: host writes never take the last ones.
 *
 * @example
 * ```ts
 * const hostFree = free - GC_RESERVE_SEGMENTS
 * ```
 */
export const GC_RESERVE_SEGMENTS = 2

/**
 * The fixed shape of the simulated medium.
 *
 * @example
 * ```ts
 * const { usableBytes }: Geometry = computeGeometry(1 << 30, 4 << 20)
 * ```
 */
export interface Geometry {
  readonly segmentSize: number
  readonly segmentCount: number
  /** Over-provisioned segments: part of the raw capacity never offered to hosts. */
  readonly reservedSegments: number
  /** Bytes hosts may fill (`total_bytes` of the flash metrics). */
  readonly usableBytes: number
}

/**
 * The largest record on segments of `segmentSize`: the largest chunk, stored raw, with its
 * header.
 *
 * @example
 * ```ts
 * const perSegment = segmentSize - SEGMENT_HEADER_SIZE - maxRecordSize(segmentSize)
 * ```
 */
export function maxRecordSize(segmentSize: number): number {
  return RECORD_HEADER_SIZE + maxChunkBlocks(segmentSize) * 4096
}

/**
 * Derives the geometry from raw capacity. About 7% of the segments (at least 3) are
 * over-provisioned, like an SSD's spare area, and each segment's usable share excludes
 * one maximal record of tail waste, so data that fits `usableBytes` always fits the
 * segments and GC can always make progress.
 *
 * @example
 * ```ts
 * computeGeometry(64 << 20, 1 << 20) // 64 segments, 5 reserved
 * ```
 */
export function computeGeometry(capacityBytes: number, segmentSize: number): Geometry {
  const segmentCount = Math.floor(capacityBytes / segmentSize)
  const reservedSegments = Math.max(3, Math.ceil(segmentCount * 0.07))
  const perSegment = segmentSize - SEGMENT_HEADER_SIZE - maxRecordSize(segmentSize)
  return Object.freeze({
    segmentSize,
    segmentCount,
    reservedSegments,
    usableBytes: Math.max(0, (segmentCount - reservedSegments) * perSegment),
  })
}

/**
 * Mutable run-time state shared by the engine's parts.
 *
 * @example
 * ```ts
 * ctx.state.gcRunning = true
 * ```
 */
export interface EngineState {
  closed: boolean
  /** Next physical block id; ids are never reused. */
  nextPblockId: number
  /** Next segment generation (allocation sequence). */
  nextGeneration: number
  gcRunning: boolean
  /** Bytes of torn segment tails discarded by recovery at the last open. */
  tornBytesDiscarded: number
  /**
   * Bumped whenever a write batch is dropped, re-planned or reaps blocks: a batch planned
   * before (against the state it changed) is planned again before it commits.
   */
  writeEpoch: number
}

/**
 * What a later batch asks of a batch in flight: the bytes it gives a block, and the id it
 * gives a new block with some fingerprint.
 *
 * @example
 * ```ts
 * for (const planner of ctx.inflight.toReversed()) planner.pendingContent(mapId, idx)
 * ```
 */
export interface InflightPlanner {
  /** The first id the batch gives a new block: every id it gives is at least this. */
  readonly firstId: number
  pendingContent(mapId: number, idx: number): Uint8Array | undefined
  newBlock(fps: Int32Array, at: number): number
}

/**
 * Everything the engine's parts share: options, geometry, the metadata tables, the
 * segment files and the caches.
 *
 * @example
 * ```ts
 * const free = ctx.segments.counts().free
 * ```
 */
export interface EngineContext {
  readonly options: ResolvedFlashOptions
  readonly geometry: Geometry
  readonly db: SqliteDatabase
  /** The database's write-ahead log, to make {@link commitUnsynced} commits durable. */
  readonly wal: WalFile
  readonly meta: MetaTable
  readonly maps: MapIndex
  readonly blocks: BlockIndex
  readonly chunks: ChunkIndex
  readonly segments: SegmentTable
  readonly files: SegmentFiles
  readonly cache: ChunkCache
  /** Fingerprints of recently looked-up live blocks (prefetched runs of a clone's data). */
  readonly dedupe: DedupeCache
  /** The dedupe index: staged in memory, merged into SQLite in sorted batches. */
  readonly fpIndex: FingerprintIndex
  /** The planners of write batches planned but not committed yet, oldest first. */
  readonly inflight: InflightPlanner[]
  /** Hashing, compression and verified decoding off the main thread. */
  readonly pool: ComputePool
  readonly counters: CounterStore
  readonly state: EngineState
}

/**
 * Runs `fn` in one SQLite transaction; on failure the in-memory counters and segment
 * aggregates are re-read so they never run ahead of what is committed.
 *
 * @example
 * ```ts
 * commit(ctx, () => ctx.maps.resize(id, size))
 * ```
 */
export function commit<T>(ctx: EngineContext, fn: () => T): T {
  try {
    return ctx.db.transaction(fn)()
  } catch (error) {
    ctx.counters.reload()
    ctx.segments.invalidate()
    ctx.dedupe.clear()
    ctx.fpIndex.reload()
    throw error
  }
}

/**
 * {@link commit} without waiting for the disk: the transaction is in SQLite's write-ahead
 * log when this returns (it survives the process being killed), and durable once
 * `ctx.wal.sync()` resolves, which fsyncs the log off the main thread. The caller
 * acknowledges nothing, and does nothing it could not undo, before that.
 *
 * @example
 * ```ts
 * commitUnsynced(ctx, () => apply(batch))
 * await ctx.wal.sync()
 * ```
 */
export function commitUnsynced<T>(ctx: EngineContext, fn: () => T): T {
  ctx.db.pragma('synchronous = NORMAL')
  try {
    return commit(ctx, fn)
  } finally {
    ctx.db.pragma('synchronous = FULL')
  }
}
