import type { BlockCache } from './block-cache.js'
import type { BlockIndex } from './block-index.js'
import type { CounterStore } from './counters.js'
import type { MapIndex } from './map-index.js'
import type { MetaTable, SqliteDatabase } from './metadata-db.js'
import type { ResolvedFlashOptions } from './options.js'
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
 * The largest record: a raw 4 KiB block with its header.
 *
 * @example
 * ```ts
 * const perSegment = segmentSize - SEGMENT_HEADER_SIZE - MAX_RECORD_SIZE
 * ```
 */
export const MAX_RECORD_SIZE = RECORD_HEADER_SIZE + 4096

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
  const perSegment = segmentSize - SEGMENT_HEADER_SIZE - MAX_RECORD_SIZE
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
  readonly meta: MetaTable
  readonly maps: MapIndex
  readonly blocks: BlockIndex
  readonly segments: SegmentTable
  readonly files: SegmentFiles
  readonly cache: BlockCache
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
    throw error
  }
}
