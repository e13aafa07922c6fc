/**
 * `@pstorage/engine`: the block engine of PStorage. Inline data reduction (zero and
 * pattern removal, SHA-256 dedupe per 4 KiB block, LZ4 or zstd over chunks of new blocks,
 * per volume) into a log-structured store of fixed-size segments on a simulated flash
 * medium with garbage collection and wear leveling; hashing and compression on worker
 * threads; metadata in SQLite.
 *
 * @example
 * ```ts
 * import { createFlashEngine } from '@pstorage/engine'
 * const engine = await createFlashEngine({ dataDir: './data/engine' })
 * ```
 */
export { CODEC_BROTLI, CODEC_LZ4, CODEC_RAW, CODEC_ZSTD, CODECS } from './codec.js'
export {
  createFlashEngine,
  DRIVER_NAME,
  type FlashEngine,
  type FlashVolumeStats,
} from './flash-engine.js'
export type { FlashDetails } from './flash-stats.js'
export type { FlashEngineOptions } from './options.js'
export { POLICY_SPECS, type PolicySpec, REDUCTION_POLICIES } from './policy.js'
export { FORMAT_VERSION } from './segment-format.js'
