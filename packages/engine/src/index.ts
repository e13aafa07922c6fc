/**
 * `@pstorage/engine`: the block engine of PStorage. Inline data reduction (zero and
 * pattern removal, SHA-256 dedupe, LZ4) into a log-structured store of fixed-size segments
 * on a simulated flash medium with garbage collection and wear leveling; metadata in SQLite.
 *
 * @example
 * ```ts
 * import { createFlashEngine } from '@pstorage/engine'
 * const engine = await createFlashEngine({ dataDir: './data/engine' })
 * ```
 */
export { CODEC_BROTLI, CODEC_LZ4, CODEC_RAW, CODECS } from './codec.js'
export { createFlashEngine, DRIVER_NAME, type FlashEngine } from './flash-engine.js'
export type { FlashDetails } from './flash-stats.js'
export type { FlashEngineOptions } from './options.js'
export { FORMAT_VERSION } from './segment-format.js'
