import type { ReductionPolicy } from '@pstorage/core'
import { CODEC_BROTLI, CODEC_LZ4, CODEC_ZSTD, CODECS, HAS_ZSTD, ZSTD_LEVEL } from './codec.js'

/**
 * How a volume's unique blocks are stored: the codec and how many consecutive unique
 * blocks of a write are compressed together as one chunk record.
 *
 * @example
 * ```ts
 * const { codec, chunkBlocks }: PolicySpec = POLICY_SPECS.dense
 * ```
 */
export interface PolicySpec {
  readonly policy: ReductionPolicy
  /** Codec id tried on each chunk (stored raw when it does not save an eighth). */
  readonly codec: number
  /** Codec name, as metrics report it. */
  readonly algorithm: string
  /** Compression level, when the codec has one. */
  readonly level: number | null
  /** Unique 4 KiB blocks per chunk at most (fewer on small segments). */
  readonly chunkBlocks: number
}

/**
 * The reduction policies a volume can be created with (`createVolume(id, size, { policy })`).
 * `lz4` (default): LZ4 over chunks of up to 8 blocks (32 KiB), fast both ways. `dense`:
 * zstd level 3 over chunks of up to 32 blocks (128 KiB): about a third smaller, slower to
 * write and read. Dedupe is per 4 KiB block under both.
 *
 * @example
 * ```ts
 * POLICY_SPECS.lz4.chunkBlocks // 8
 * ```
 */
export const POLICY_SPECS: Readonly<Record<ReductionPolicy, PolicySpec>> = Object.freeze({
  lz4: { policy: 'lz4', codec: CODEC_LZ4, algorithm: 'lz4', level: null, chunkBlocks: 8 },
  dense: HAS_ZSTD
    ? { policy: 'dense', codec: CODEC_ZSTD, algorithm: 'zstd', level: ZSTD_LEVEL, chunkBlocks: 32 }
    : { policy: 'dense', codec: CODEC_BROTLI, algorithm: 'brotli', level: 5, chunkBlocks: 32 },
})

/**
 * The policies this engine accepts.
 *
 * @example
 * ```ts
 * if (!REDUCTION_POLICIES.includes(policy)) throw new Error('unknown policy')
 * ```
 */
export const REDUCTION_POLICIES: readonly ReductionPolicy[] = Object.freeze(['lz4', 'dense'])

/**
 * Blocks per chunk for `policy` on segments of `segmentSize`: a record never takes more
 * than an eighth of a segment, so tail waste stays small.
 *
 * @example
 * ```ts
 * chunkBlocksFor('dense', 64 * 1024) // 2
 * ```
 */
export function chunkBlocksFor(policy: ReductionPolicy, segmentSize: number): number {
  return Math.max(1, Math.min(POLICY_SPECS[policy].chunkBlocks, Math.floor(segmentSize / 8 / 4096)))
}

/**
 * The most blocks any chunk can hold on segments of `segmentSize` (sizes the largest record).
 *
 * @example
 * ```ts
 * maxChunkBlocks(4 << 20) // 32
 * ```
 */
export function maxChunkBlocks(segmentSize: number): number {
  return Math.max(...REDUCTION_POLICIES.map((p) => chunkBlocksFor(p, segmentSize)))
}

/**
 * The name of a codec id for metrics.
 *
 * @example
 * ```ts
 * codecName(3) // 'zstd'
 * ```
 */
export function codecName(codec: number): string {
  return CODECS[codec]?.name ?? `codec-${codec}`
}
