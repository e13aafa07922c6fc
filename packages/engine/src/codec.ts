import { brotliCompressSync, brotliDecompressSync, constants as zlib } from 'node:zlib'
import type { ReductionPolicy } from '@pstorage/core'
import { compress as lz4Compress, decompress as lz4Decompress } from 'lz4-wasm-nodejs'

/**
 * Persistent codec ids, written in every record. Never renumber or reuse one: a retired
 * codec stays in {@link CODECS} with the last format version that reads it (STYLE.md §9).
 *
 * @example
 * ```ts
 * if (record.codec === CODEC_RAW) return record.payload
 * ```
 */
export const CODEC_RAW = 0
/**
 * LZ4 block format with a 4-byte little-endian size prefix, as lz4-wasm writes it.
 *
 * @example
 * ```ts
 * encodeBlock(block, 'lz4').codec // CODEC_LZ4 when compression pays
 * ```
 */
export const CODEC_LZ4 = 1
/**
 * Brotli (node:zlib), the per-block codec of the `dense` policy.
 *
 * @example
 * ```ts
 * encodeBlock(block, 'dense').codec // CODEC_BROTLI when compression pays
 * ```
 */
export const CODEC_BROTLI = 2

/**
 * Registry of every codec id ever written, with its name for metrics and errors.
 *
 * @example
 * ```ts
 * CODECS[CODEC_LZ4]?.name // 'lz4'
 * ```
 */
export const CODECS: Readonly<
  Record<number, { readonly name: string; readonly retiredAfter?: number }>
> = Object.freeze({
  [CODEC_RAW]: { name: 'none' },
  [CODEC_LZ4]: { name: 'lz4' },
  [CODEC_BROTLI]: { name: 'brotli' },
})

/**
 * A block as it goes to the medium.
 *
 * @example
 * ```ts
 * const { codec, payload }: EncodedBlock = encodeBlock(block, 'lz4')
 * ```
 */
export interface EncodedBlock {
  readonly codec: number
  readonly payload: Uint8Array
}

/**
 * Compression must save at least 1/8 of the block to pay for the decompression on every
 * read; otherwise the block is stored raw (ARCHITECTURE.md, step 5).
 */
const MIN_GAIN_DIVISOR = 8

/**
 * Compresses a block with the volume's policy, or keeps it raw when that does not pay.
 *
 * @example
 * ```ts
 * const { codec, payload } = encodeBlock(new TextEncoder().encode('a'.repeat(4096)), 'lz4')
 * ```
 */
export function encodeBlock(block: Uint8Array, policy: ReductionPolicy): EncodedBlock {
  const limit = block.length - Math.ceil(block.length / MIN_GAIN_DIVISOR)
  if (limit <= 0) return { codec: CODEC_RAW, payload: block }
  if (policy === 'dense') {
    const dense = brotliCompressSync(block, {
      params: {
        [zlib.BROTLI_PARAM_QUALITY]: 7,
        [zlib.BROTLI_PARAM_SIZE_HINT]: block.length,
      },
    })
    if (dense.length <= limit) return { codec: CODEC_BROTLI, payload: dense }
  }
  const packed = lz4Compress(block)
  if (packed.length <= limit) return { codec: CODEC_LZ4, payload: packed }
  return { codec: CODEC_RAW, payload: block }
}

/**
 * Decodes a stored payload back to `logicalLength` bytes. Throws a plain `Error` on any
 * inconsistency; the read path turns it into `data_corruption`.
 *
 * @example
 * ```ts
 * const block = decodeBlock(CODEC_LZ4, payload, 4096)
 * ```
 */
export function decodeBlock(codec: number, payload: Uint8Array, logicalLength: number): Uint8Array {
  let out: Uint8Array
  switch (codec) {
    case CODEC_RAW:
      out = payload
      break
    case CODEC_LZ4: {
      // Check the size prefix before handing bytes to the decoder: a wrong size would make it
      // allocate or fail inside WebAssembly.
      if (payload.length < 4) throw new Error('lz4 payload shorter than its size prefix')
      const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
      if (view.getUint32(0, true) !== logicalLength) throw new Error('lz4 size prefix mismatch')
      try {
        out = lz4Decompress(payload)
      } catch (cause) {
        throw new Error('lz4 payload does not decode', { cause })
      }
      break
    }
    case CODEC_BROTLI:
      out = brotliDecompressSync(payload, { maxOutputLength: logicalLength })
      break
    default: {
      const known = CODECS[codec]
      throw new Error(
        known?.retiredAfter === undefined
          ? `unknown codec id ${codec} (written by a newer format version?)`
          : `codec ${known.name} is retired; format version ${known.retiredAfter} reads it`,
      )
    }
  }
  if (out.length !== logicalLength)
    throw new Error(`decoded ${out.length} bytes, expected ${logicalLength}`)
  return out
}
