import type { EngineStats, ReductionPolicy } from '@pstorage/core'
import type { EngineContext } from './context.js'
import { type Counters, reductionRatio } from './counters.js'
import { chunkBlocksFor, POLICY_SPECS, REDUCTION_POLICIES } from './policy.js'

const round2 = (x: number) => Math.round(x * 100) / 100

/**
 * Engine-specific figures beyond the seed shapes, from {@link FlashEngine.flashDetails}.
 *
 * @example
 * ```ts
 * const { write_amplification, erase_counts }: FlashDetails = await engine.flashDetails()
 * ```
 */
export interface FlashDetails {
  readonly segment_size: number
  readonly segments: {
    readonly total: number
    readonly free: number
    readonly open: number
    readonly sealed: number
    /** Over-provisioned: never offered to hosts. */
    readonly reserved: number
  }
  readonly capacity: {
    readonly raw_bytes: number
    readonly usable_bytes: number
    /** Record bytes of live blocks. */
    readonly live_bytes: number
    /** Record bytes written since the last erase that are no longer referenced. */
    readonly dead_bytes: number
  }
  readonly erase_counts: {
    readonly min: number
    readonly max: number
    readonly avg: number
    readonly spread: number
    readonly variance: number
  }
  readonly rated_pe_cycles: number
  readonly health_percentage: number
  /** Bytes written to the medium (host + GC + wear leveling) per byte of host records. */
  readonly write_amplification: number
  readonly medium_bytes_written: {
    readonly host: number
    readonly gc: number
    readonly wear_leveling: number
  }
  readonly garbage_collection: {
    readonly runs: number
    readonly segments_erased: number
    readonly blocks_moved: number
    readonly blocks_reclaimed: number
  }
  readonly wear_leveling: {
    readonly threshold: number
    readonly segments_erased: number
    readonly blocks_moved: number
  }
  /** Each reduction policy: its codec, level, blocks per chunk and volumes using it. */
  readonly reduction_policies: Readonly<
    Record<
      ReductionPolicy,
      {
        readonly algorithm: string
        readonly level: number | null
        readonly chunk_blocks: number
        readonly volumes: number
      }
    >
  >
  /** Stored chunks by the codec they ended up with (cumulative over host writes). */
  readonly compression: {
    readonly chunks_stored: number
    readonly by_codec: Readonly<
      Record<
        'lz4' | 'zstd' | 'brotli' | 'none',
        { readonly logical_bytes: number; readonly stored_bytes: number; readonly ratio: number }
      >
    >
  }
  /** Worker threads hashing, compressing and verifying (0: on the main thread). */
  readonly compute_threads: number
  readonly cache: {
    readonly bytes: number
    readonly limit_bytes: number
    readonly entries: number
    readonly hits: number
    readonly misses: number
  }
  readonly recovery: { readonly torn_bytes_discarded: number }
}

/**
 * Health from wear: the share of rated P/E cycles not yet used, on average (the way SSDs
 * report "percentage used").
 *
 * @example
 * ```ts
 * healthPercentage(30, 3000) // 99
 * ```
 */
export function healthPercentage(avgEraseCount: number, ratedPeCycles: number): number {
  return round2(Math.min(100, Math.max(0, 100 * (1 - avgEraseCount / ratedPeCycles))))
}

/**
 * The compression algorithm(s) in use: the codecs stored chunks were compressed with, most
 * bytes first and joined by '+' (e.g. 'lz4', 'zstd', 'lz4+zstd'); before anything was
 * compressed, the codecs of the volumes' policies; 'lz4' for an empty engine.
 *
 * @example
 * ```ts
 * algorithmInUse(ctx, ctx.counters.get()) // 'lz4'
 * ```
 */
export function algorithmInUse(ctx: EngineContext, c: Counters): string {
  const used = (
    [
      ['lz4', c.lz4_logical_bytes],
      ['zstd', c.zstd_logical_bytes],
      ['brotli', c.brotli_logical_bytes],
    ] as const
  )
    .filter(([, bytes]) => bytes > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name]) => name)
  if (used.length > 0) return used.join('+')
  const volumes = new Set(ctx.maps.policies().map((p) => p.policy))
  const policies = REDUCTION_POLICIES.filter((p) => volumes.has(p)).map(
    (p) => POLICY_SPECS[p].algorithm,
  )
  return policies.length > 0 ? policies.join('+') : 'lz4'
}

/**
 * The `/metrics/reduction` and `/metrics/flash` documents (seeds/001), all from counters
 * and the segment table. Reduction figures are cumulative over host writes; capacity and
 * wear are the current state.
 *
 * @example
 * ```ts
 * const { reduction, flash } = engineStats(ctx)
 * ```
 */
export function engineStats(ctx: EngineContext): EngineStats {
  const c = ctx.counters.get()
  const counts = ctx.segments.counts()
  const wear = ctx.segments.wear()
  const total = ctx.geometry.usableBytes
  const used = Math.min(total, counts.live)
  return {
    reduction: {
      overall_reduction_ratio: reductionRatio(c.host_logical_bytes, c.unique_stored_bytes),
      deduplication: {
        ratio: reductionRatio(c.unique_blocks + c.duplicate_blocks, c.unique_blocks),
        unique_blocks: c.unique_blocks,
        duplicate_blocks: c.duplicate_blocks,
      },
      compression: {
        ratio: reductionRatio(c.unique_logical_bytes, c.unique_stored_bytes),
        algorithm: algorithmInUse(ctx, c),
      },
      pattern_removal: { zero_blocks_found: c.zero_blocks, pattern_blocks_found: c.pattern_blocks },
      bytes_saved: {
        pattern: c.pattern_bytes,
        dedupe: c.duplicate_bytes,
        compression: Math.max(0, c.unique_logical_bytes - c.unique_stored_bytes),
      },
    },
    flash: {
      capacity: {
        total_bytes: total,
        used_bytes: used,
        free_bytes: total - used,
        utilization: total === 0 ? 0 : used / total,
      },
      health: {
        health_percentage: healthPercentage(wear.avg, ctx.options.ratedPeCycles),
        avg_erase_count: round2(wear.avg),
        max_erase_count: wear.max,
      },
      wear_leveling: { blocks_moved: c.wl_blocks_moved, wear_variance: round2(wear.variance) },
      garbage_collection: {
        state: ctx.state.gcRunning ? 'running' : 'idle',
        blocks_reclaimed: c.gc_blocks_reclaimed,
        gc_runs: c.gc_runs,
      },
    },
  }
}

/**
 * The engine-specific figures: segments, erase-count distribution, write amplification.
 *
 * @example
 * ```ts
 * const { write_amplification } = flashDetails(ctx)
 * ```
 */
export function flashDetails(ctx: EngineContext): FlashDetails {
  const c = ctx.counters.get()
  const counts = ctx.segments.counts()
  const wear = ctx.segments.wear()
  const medium = c.host_medium_bytes + c.gc_medium_bytes + c.wl_medium_bytes
  return {
    segment_size: ctx.geometry.segmentSize,
    segments: {
      total: counts.n,
      free: counts.free,
      open: counts.open,
      sealed: counts.sealed,
      reserved: ctx.geometry.reservedSegments,
    },
    capacity: {
      raw_bytes: counts.n * ctx.geometry.segmentSize,
      usable_bytes: ctx.geometry.usableBytes,
      live_bytes: counts.live,
      dead_bytes: Math.max(0, counts.written - counts.live),
    },
    erase_counts: {
      min: wear.min,
      max: wear.max,
      avg: round2(wear.avg),
      spread: wear.max - wear.min,
      variance: round2(wear.variance),
    },
    rated_pe_cycles: ctx.options.ratedPeCycles,
    health_percentage: healthPercentage(wear.avg, ctx.options.ratedPeCycles),
    write_amplification: c.host_medium_bytes === 0 ? 1 : medium / c.host_medium_bytes,
    medium_bytes_written: {
      host: c.host_medium_bytes,
      gc: c.gc_medium_bytes,
      wear_leveling: c.wl_medium_bytes,
    },
    garbage_collection: {
      runs: c.gc_runs,
      segments_erased: c.gc_segments_erased,
      blocks_moved: c.gc_blocks_moved,
      blocks_reclaimed: c.gc_blocks_reclaimed,
    },
    wear_leveling: {
      threshold: ctx.options.wearLevelingThreshold,
      segments_erased: c.wl_segments_erased,
      blocks_moved: c.wl_blocks_moved,
    },
    reduction_policies: reductionPolicies(ctx),
    compression: {
      chunks_stored: c.chunks_stored,
      by_codec: {
        lz4: codecFigures(c.lz4_logical_bytes, c.lz4_stored_bytes),
        zstd: codecFigures(c.zstd_logical_bytes, c.zstd_stored_bytes),
        brotli: codecFigures(c.brotli_logical_bytes, c.brotli_stored_bytes),
        none: codecFigures(c.raw_bytes, c.raw_bytes),
      },
    },
    compute_threads: ctx.pool.threads,
    cache: ctx.cache.figures(),
    recovery: { torn_bytes_discarded: ctx.state.tornBytesDiscarded },
  }
}

function codecFigures(logical: number, stored: number) {
  return {
    logical_bytes: logical,
    stored_bytes: stored,
    ratio: round2(reductionRatio(logical, stored)),
  }
}

function reductionPolicies(ctx: EngineContext): FlashDetails['reduction_policies'] {
  const volumes = new Map(ctx.maps.policies().map((p) => [p.policy, p.n]))
  const entry = (policy: ReductionPolicy) => ({
    algorithm: POLICY_SPECS[policy].algorithm,
    level: POLICY_SPECS[policy].level,
    chunk_blocks: chunkBlocksFor(policy, ctx.geometry.segmentSize),
    volumes: volumes.get(policy) ?? 0,
  })
  return Object.fromEntries(
    REDUCTION_POLICIES.map((p) => [p, entry(p)]),
  ) as FlashDetails['reduction_policies']
}
