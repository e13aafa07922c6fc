import type { MetaTable } from './metadata-db.js'

/**
 * The engine's running totals, persisted in the same transaction as the metadata they
 * describe, so every reported metric derives from real, crash-consistent counts.
 *
 * @example
 * ```ts
 * const { zero_blocks }: Counters = ctx.counters.get()
 * ```
 */
export interface Counters {
  /** Blocks hosts wrote (a partial block counts once, at its merged length). */
  host_blocks: number
  /** Logical bytes of those blocks. */
  host_logical_bytes: number
  zero_blocks: number
  pattern_blocks: number
  /** Logical bytes of zero and pattern blocks, which never reached the medium. */
  pattern_bytes: number
  /** Blocks that were stored (new fingerprints). */
  unique_blocks: number
  unique_logical_bytes: number
  /** Payload bytes of those blocks after compression. */
  unique_stored_bytes: number
  compressed_blocks: number
  /** Chunk records stored for host writes. */
  chunks_stored: number
  /** Logical and payload bytes of stored chunks, by the codec they ended up with. */
  lz4_logical_bytes: number
  lz4_stored_bytes: number
  zstd_logical_bytes: number
  zstd_stored_bytes: number
  brotli_logical_bytes: number
  brotli_stored_bytes: number
  /** Logical bytes stored raw (compression did not pay). */
  raw_bytes: number
  /** Blocks whose fingerprint was already stored: a reference instead of data. */
  duplicate_blocks: number
  duplicate_bytes: number
  /** Record bytes appended for host writes, GC moves and wear-leveling moves. */
  host_medium_bytes: number
  gc_medium_bytes: number
  wl_medium_bytes: number
  gc_runs: number
  gc_blocks_moved: number
  /** Dead records erased by GC. */
  gc_blocks_reclaimed: number
  gc_segments_erased: number
  wl_blocks_moved: number
  wl_segments_erased: number
}

/**
 * All-zero counters, the start of a new engine and of every batch's delta.
 *
 * @example
 * ```ts
 * const delta = zeroCounters()
 * delta.zero_blocks++
 * ```
 */
export function zeroCounters(): Counters {
  return {
    host_blocks: 0,
    host_logical_bytes: 0,
    zero_blocks: 0,
    pattern_blocks: 0,
    pattern_bytes: 0,
    unique_blocks: 0,
    unique_logical_bytes: 0,
    unique_stored_bytes: 0,
    compressed_blocks: 0,
    chunks_stored: 0,
    lz4_logical_bytes: 0,
    lz4_stored_bytes: 0,
    zstd_logical_bytes: 0,
    zstd_stored_bytes: 0,
    brotli_logical_bytes: 0,
    brotli_stored_bytes: 0,
    raw_bytes: 0,
    duplicate_blocks: 0,
    duplicate_bytes: 0,
    host_medium_bytes: 0,
    gc_medium_bytes: 0,
    wl_medium_bytes: 0,
    gc_runs: 0,
    gc_blocks_moved: 0,
    gc_blocks_reclaimed: 0,
    gc_segments_erased: 0,
    wl_blocks_moved: 0,
    wl_segments_erased: 0,
  }
}

const KEY = 'counters'

/**
 * The persisted counters: read once at open, then advanced by deltas inside the
 * transaction that commits the work they count.
 *
 * @example
 * ```ts
 * const counters = new CounterStore(meta)
 * db.transaction(() => counters.add(delta))()
 * ```
 */
export class CounterStore {
  readonly #meta: MetaTable
  #current: Counters

  constructor(meta: MetaTable) {
    this.#meta = meta
    this.#current = { ...zeroCounters(), ...(meta.get<Partial<Counters>>(KEY) ?? {}) }
  }

  /** The current totals (a copy). */
  get(): Counters {
    return { ...this.#current }
  }

  /**
   * Adds a delta and persists it. Call inside the caller's transaction; if it rolls back,
   * call {@link reload} to drop the in-memory advance.
   */
  add(delta: Partial<Counters>): void {
    const next = { ...this.#current }
    for (const [key, value] of Object.entries(delta) as [keyof Counters, number][])
      next[key] += value
    this.#meta.set(KEY, next)
    this.#current = next
  }

  /** Re-reads the persisted totals (after a rolled-back transaction). */
  reload(): void {
    this.#current = { ...zeroCounters(), ...(this.#meta.get<Partial<Counters>>(KEY) ?? {}) }
  }
}

/**
 * `numerator / denominator` as a reduction ratio: at least 1, and 1 when there is nothing
 * to reduce. When nothing reached the medium the denominator counts as one byte, so the
 * ratio stays finite (JSON has no infinity).
 *
 * @example
 * ```ts
 * reductionRatio(8192, 4096) // 2
 * ```
 */
export function reductionRatio(numerator: number, denominator: number): number {
  if (numerator <= 0) return 1
  return Math.max(1, numerator / Math.max(1, denominator))
}
