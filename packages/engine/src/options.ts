import { statfsSync } from 'node:fs'
import { type Clock, PStorageError, systemClock } from '@pstorage/core'
import { ComputePool } from './compute-pool.js'

const KiB = 1024
const MiB = 1024 * KiB

/**
 * Options of {@link createFlashEngine}. Frozen once resolved.
 *
 * @example
 * ```ts
 * const options: FlashEngineOptions = { dataDir: './data/engine', segmentSize: 1 << 20, capacityBytes: 1 << 30 }
 * ```
 */
export interface FlashEngineOptions {
  /** Directory of the metadata database and the segment files; created if missing. */
  readonly dataDir: string
  /**
   * Size of one segment, the erase block of the simulated flash (a multiple of 4 KiB,
   * at least 32 KiB). Fixed when the data directory is created.
   * @default 4 MiB
   */
  readonly segmentSize?: number
  /**
   * Raw capacity of the simulated medium, rounded down to whole segments. May grow on a
   * later open, never shrink.
   * @default 90% of the free space of the file system holding `dataDir`, at creation
   */
  readonly capacityBytes?: number
  /**
   * Program/erase cycles a segment is rated for; health is derived from it.
   * @default 3000
   */
  readonly ratedPeCycles?: number
  /**
   * Background garbage collection starts when the fraction of free segments falls below this.
   * @default 0.15
   */
  readonly gcFreeWatermark?: number
  /**
   * Wear leveling moves cold data when the erase-count spread (max - min) exceeds this.
   * @default 16
   */
  readonly wearLevelingThreshold?: number
  /**
   * Memory for caches: half for decoded blocks, half for SQLite's page cache. Memory use is
   * bounded by it, not by the data stored.
   * @default 32 MiB
   */
  readonly cacheBytes?: number
  /**
   * Run garbage collection and wear leveling in the background (they can always be run
   * with `collectGarbage()`).
   * @default true
   */
  readonly backgroundMaintenance?: boolean
  /**
   * The source of time (segment ages for GC, timestamps).
   * @default systemClock
   */
  readonly clock?: Clock
  /**
   * Worker threads for hashing, compression and verified decoding (shared by the engines
   * of a process). 0 runs that work on the calling thread.
   * @default one per CPU, at most 4
   */
  readonly computeThreads?: number
}

/**
 * Options with every default applied.
 *
 * @example
 * ```ts
 * const { segmentSize }: ResolvedFlashOptions = resolveFlashOptions({ dataDir })
 * ```
 */
export type ResolvedFlashOptions = Required<Omit<FlashEngineOptions, 'capacityBytes'>> & {
  /** Undefined: use the stored capacity, or derive one from free space on creation. */
  readonly capacityBytes: number | undefined
}

/**
 * Applies defaults and validates; every problem is a `bad_request`.
 *
 * @example
 * ```ts
 * const options = resolveFlashOptions({ dataDir: './data/engine' })
 * ```
 */
export function resolveFlashOptions(options: FlashEngineOptions): ResolvedFlashOptions {
  const resolved: ResolvedFlashOptions = {
    dataDir: options.dataDir,
    segmentSize: options.segmentSize ?? 4 * MiB,
    capacityBytes: options.capacityBytes,
    ratedPeCycles: options.ratedPeCycles ?? 3000,
    gcFreeWatermark: options.gcFreeWatermark ?? 0.15,
    wearLevelingThreshold: options.wearLevelingThreshold ?? 16,
    cacheBytes: options.cacheBytes ?? 32 * MiB,
    backgroundMaintenance: options.backgroundMaintenance ?? true,
    clock: options.clock ?? systemClock,
    computeThreads: options.computeThreads ?? ComputePool.defaultThreads(),
  }
  const bad = (detail: string) => new PStorageError('bad_request', `[pstorage] [engine] ${detail}`)
  if (typeof resolved.dataDir !== 'string' || resolved.dataDir === '')
    throw bad('dataDir is required')
  const { segmentSize } = resolved
  if (
    !Number.isInteger(segmentSize) ||
    segmentSize % (4 * KiB) !== 0 ||
    segmentSize < 32 * KiB ||
    segmentSize > 1024 * MiB
  ) {
    throw bad(
      `segmentSize must be a multiple of 4 KiB between 32 KiB and 1 GiB, got ${segmentSize}`,
    )
  }
  if (
    resolved.capacityBytes !== undefined &&
    !(Number.isSafeInteger(resolved.capacityBytes) && resolved.capacityBytes > 0)
  ) {
    throw bad(`capacityBytes must be a positive integer, got ${resolved.capacityBytes}`)
  }
  if (!(resolved.ratedPeCycles > 0)) throw bad('ratedPeCycles must be positive')
  if (!(resolved.gcFreeWatermark >= 0 && resolved.gcFreeWatermark < 1))
    throw bad('gcFreeWatermark must be in [0, 1)')
  if (!(resolved.wearLevelingThreshold >= 1)) throw bad('wearLevelingThreshold must be >= 1')
  if (!(resolved.cacheBytes >= 0)) throw bad('cacheBytes must be >= 0')
  if (!(Number.isInteger(resolved.computeThreads) && resolved.computeThreads >= 0))
    throw bad('computeThreads must be an integer >= 0')
  return Object.freeze(resolved)
}

/**
 * The default capacity of a new data directory: 90% of the free space of its file system,
 * so the simulated medium can really be filled.
 *
 * @example
 * ```ts
 * const bytes = defaultCapacity('./data/engine')
 * ```
 */
export function defaultCapacity(dir: string): number {
  const fs = statfsSync(dir)
  return Math.floor(fs.bavail * fs.bsize * 0.9)
}
