import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { PStorageError } from '@pstorage/core'
import { BlockIndex, ChunkIndex } from './block-index.js'
import { ChunkCache } from './chunk-cache.js'
import { ComputePool } from './compute-pool.js'
import { computeGeometry, type EngineContext, GC_RESERVE_SEGMENTS } from './context.js'
import { CounterStore } from './counters.js'
import { FingerprintIndex } from './fp-index.js'
import { DedupeCache } from './fp-table.js'
import { MapIndex } from './map-index.js'
import { MetaTable, openMetadataDb, WalFile } from './metadata-db.js'
import { defaultCapacity, type FlashEngineOptions, resolveFlashOptions } from './options.js'
import { SegmentFiles } from './segment-files.js'
import { FORMAT_VERSION, SEGMENT_HEADER_SIZE } from './segment-format.js'
import { SegmentTable } from './segment-table.js'

/** Slots of the dedupe cache: half of them can be filled; 40 bytes each, 5 MiB in all. */
const DEDUPE_CACHE_ENTRIES = 1 << 17

/**
 * Opens the data directory: the metadata database, the geometry (fixed at creation;
 * capacity may grow), the segment files and the caches. Recovery runs next, separately.
 *
 * @example
 * ```ts
 * const ctx = openContext({ dataDir: './data/engine' })
 * ```
 */
export function openContext(input: FlashEngineOptions): EngineContext {
  const options = resolveFlashOptions(input)
  mkdirSync(options.dataDir, { recursive: true })
  const dbPath = join(options.dataDir, 'metadata.sqlite')
  const db = openMetadataDb(dbPath, options.cacheBytes / 2)
  try {
    const meta = new MetaTable(db)
    const segments = new SegmentTable(db)
    const bad = (detail: string) =>
      new PStorageError('bad_request', `[pstorage] [engine] ${detail}`)
    const stored = meta.get<{ format: number; segment_size: number; capacity_bytes: number }>(
      'geometry',
    )
    if (stored && stored.format !== FORMAT_VERSION)
      throw bad(`data format ${stored.format} is not supported`)
    if (stored && input.segmentSize !== undefined && input.segmentSize !== stored.segment_size) {
      throw bad(`segmentSize is fixed at ${stored.segment_size} for ${options.dataDir}`)
    }
    const segmentSize = stored?.segment_size ?? options.segmentSize
    const capacity = Math.max(
      stored?.capacity_bytes ?? 0,
      options.capacityBytes ?? (stored ? 0 : defaultCapacity(options.dataDir)),
    )
    if (
      stored &&
      options.capacityBytes !== undefined &&
      options.capacityBytes < stored.capacity_bytes
    ) {
      throw bad(`capacity cannot shrink below ${stored.capacity_bytes} bytes`)
    }
    const geometry = computeGeometry(capacity, segmentSize)
    if (geometry.segmentCount < geometry.reservedSegments + GC_RESERVE_SEGMENTS + 2) {
      throw bad(
        `capacity ${capacity} holds only ${geometry.segmentCount} segments of ${segmentSize} bytes`,
      )
    }
    db.transaction(() => {
      meta.set('geometry', {
        format: FORMAT_VERSION,
        segment_size: segmentSize,
        capacity_bytes: geometry.segmentCount * segmentSize,
      })
      segments.ensureCount(geometry.segmentCount, SEGMENT_HEADER_SIZE)
    })()
    const blocks = new BlockIndex(db)
    const chunks = new ChunkIndex(db)
    const maxGeneration =
      db.prepare<[], { g: number | null }>('SELECT MAX(generation) AS g FROM segments').get()?.g ??
      0
    const nextPblockId = Math.max(
      meta.get<number>('next_pblock_id') ?? 1,
      blocks.maxId() + 1,
      chunks.endId(),
    )
    const ctx: EngineContext = {
      options: Object.freeze({
        ...options,
        segmentSize,
        capacityBytes: geometry.segmentCount * segmentSize,
      }),
      geometry,
      db,
      wal: new WalFile(`${dbPath}-wal`),
      meta,
      maps: new MapIndex(db),
      blocks,
      chunks,
      segments,
      files: new SegmentFiles(join(options.dataDir, 'segments'), segmentSize),
      cache: new ChunkCache(Math.floor(options.cacheBytes / 2)),
      dedupe: new DedupeCache(DEDUPE_CACHE_ENTRIES),
      fpIndex: new FingerprintIndex(db, blocks, meta, nextPblockId),
      inflight: [],
      pool: ComputePool.shared(options.computeThreads),
      counters: new CounterStore(meta),
      state: {
        closed: false,
        nextPblockId,
        nextGeneration: maxGeneration + 1,
        gcRunning: false,
        tornBytesDiscarded: 0,
        writeEpoch: 0,
      },
    }
    return ctx
  } catch (error) {
    db.close()
    throw error
  }
}
