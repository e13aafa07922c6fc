import { prngBytes } from '../prng.js'

/**
 * Blocks of the volume the crash workload writes into.
 *
 * @example
 * ```ts
 * await engine.createVolume('v', REGION_BLOCKS * 4096)
 * ```
 */
export const REGION_BLOCKS = 96
/**
 * Options of the engine under the crash test: small segments so GC runs all the time.
 *
 * @example
 * ```ts
 * await createFlashEngine({ dataDir, ...CRASH_ENGINE })
 * ```
 */
export const CRASH_ENGINE = {
  segmentSize: 64 * 1024,
  capacityBytes: 2 * 1024 * 1024,
  gcFreeWatermark: 0.25,
} as const

/**
 * The bytes of one workload write, derived from its seed so the parent can recompute
 * them: random, compressible, zero, pattern or duplicate blocks, sometimes ending in a
 * partial block (which the engine merges with the block's old content).
 *
 * @example
 * ```ts
 * const data = writeContent(1234, 3)
 * ```
 */
export function writeContent(seed: number, blocks: number): Uint8Array {
  const size = blocks * 4096 - (seed % 7 === 0 ? 1 + (seed % 4000) : 0)
  const out = new Uint8Array(size)
  switch (seed % 5) {
    case 0:
      out.set(prngBytes(size, seed))
      break
    case 1: {
      const words = ['alpha ', 'beta ', 'gamma ', 'delta ']
      const picks = prngBytes(size, seed)
      const text = new TextEncoder().encode(Array.from(picks, (p) => words[p % 4]).join(''))
      out.set(text.subarray(0, size))
      break
    }
    case 2:
      break
    case 3: {
      const unit = prngBytes(8, seed)
      for (let i = 0; i < size; i++) out[i] = unit[i % 8]!
      break
    }
    default: {
      const pool = prngBytes(4096, 777 + (seed % 3))
      for (let at = 0; at < size; at += 4096)
        out.set(pool.subarray(0, Math.min(4096, size - at)), at)
    }
  }
  return out
}
