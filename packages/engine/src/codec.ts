import * as zlib from 'node:zlib'
import { releaseBytes } from '@pstorage/core/bytes'
import { lz4CompressWith, lz4DecompressWith } from './lz4.js'

/**
 * Persistent codec ids, written in every chunk record. Never renumber or reuse one: a
 * retired codec stays in {@link CODECS} with the last format version that reads it.
 *
 * @example
 * ```ts
 * if (record.codec === CODEC_RAW) return record.payload
 * ```
 */
export const CODEC_RAW = 0
/**
 * LZ4 block format with a 4-byte little-endian size prefix, as lz4-wasm writes it: the
 * codec of the `lz4` policy.
 *
 * @example
 * ```ts
 * encodePayload(content, CODEC_LZ4) // undefined when compression does not pay
 * ```
 */
export const CODEC_LZ4 = 1
/**
 * Brotli (node:zlib): the codec of the `dense` policy on a Node.js without zstd.
 *
 * @example
 * ```ts
 * decodePayload(CODEC_BROTLI, payload, 65536)
 * ```
 */
export const CODEC_BROTLI = 2
/**
 * Zstandard (node:zlib, Node.js >= 22.15): the codec of the `dense` policy.
 *
 * @example
 * ```ts
 * encodePayload(content, CODEC_ZSTD)
 * ```
 */
export const CODEC_ZSTD = 3

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
  [CODEC_ZSTD]: { name: 'zstd' },
})

/** zstd level of the dense policy: level 3 is zstd's default, ~250 MB/s per core here. */
export const ZSTD_LEVEL = 3
/** Brotli quality when brotli stands in for zstd. */
const BROTLI_QUALITY = 5

/**
 * Whether this Node.js has zstd in node:zlib (22.15+, 23.8+).
 *
 * @example
 * ```ts
 * const dense = HAS_ZSTD ? CODEC_ZSTD : CODEC_BROTLI
 * ```
 */
export const HAS_ZSTD =
  typeof zlib.zstdCompressSync === 'function' && typeof zlib.zstdDecompressSync === 'function'

/**
 * Compression must save at least 1/8 of the content to pay for decompression on every
 * read; otherwise the chunk is stored raw.
 */
const MIN_GAIN_DIVISOR = 8

/**
 * node:zlib's output chunk for at most `length` bytes of output: all of it in one buffer.
 * With the default 16 KiB chunks, a one-shot call allocates several buffers and
 * concatenates them: twice the garbage, and half the speed when decompressing 128 KiB.
 * The spare bytes matter: an output that fills its chunk exactly makes node:zlib allocate
 * one more chunk to find out that nothing follows.
 */
function oneChunk(length: number): number {
  return Math.max(zlib.constants.Z_MIN_CHUNK, length + 64)
}

/**
 * Output chunk when compressing `length` bytes: half of it, so a chunk that compresses
 * at least 2:1 (what dense stores) comes out in one buffer without reserving the whole
 * input size per call; a chunk that compresses less takes a second buffer.
 */
function compressChunk(length: number): number {
  return oneChunk(length >> 1)
}

function compressed(content: Uint8Array, codec: number): Uint8Array {
  switch (codec) {
    case CODEC_ZSTD:
      return zlib.zstdCompressSync(content, {
        chunkSize: compressChunk(content.length),
        params: {
          [zlib.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL,
          [zlib.constants.ZSTD_c_checksumFlag]: 0,
        },
        pledgedSrcSize: content.length,
      })
    case CODEC_BROTLI:
      return zlib.brotliCompressSync(content, {
        chunkSize: compressChunk(content.length),
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: content.length,
        },
      })
    default:
      throw new Error(`codec ${codec} cannot encode`)
  }
}

/** The most bytes a payload may take to be kept compressed (it must save an eighth). */
function gainLimit(length: number): number {
  return length - Math.ceil(length / MIN_GAIN_DIVISOR)
}

/**
 * Compresses `content` with `codec`, or returns undefined when that does not save at least
 * an eighth (the caller stores the content raw).
 *
 * @example
 * ```ts
 * const payload = encodePayload(new TextEncoder().encode('a'.repeat(4096)), CODEC_LZ4)
 * ```
 */
export function encodePayload(content: Uint8Array, codec: number): Uint8Array | undefined {
  const limit = gainLimit(content.length)
  if (limit <= 0 || codec === CODEC_RAW) return undefined
  const packed =
    codec === CODEC_LZ4 ? lz4CompressWith(content, (p) => p.slice()) : compressed(content, codec)
  return packed.length <= limit ? packed : undefined
}

/**
 * Compresses `content` with `codec` straight into `out` at `at`; returns the payload length,
 * or undefined (nothing useful written) when compression does not save an eighth. LZ4
 * output goes from wasm memory to `out` with no copy in between.
 *
 * @example
 * ```ts
 * const n = encodePayloadInto(content, CODEC_LZ4, out, 32) ?? storeRaw()
 * ```
 */
export function encodePayloadInto(
  content: Uint8Array,
  codec: number,
  out: Uint8Array,
  at: number,
): number | undefined {
  const limit = gainLimit(content.length)
  if (limit <= 0 || codec === CODEC_RAW) return undefined
  const place = (packed: Uint8Array) => {
    if (packed.length > limit) return undefined
    out.set(packed, at)
    return packed.length
  }
  if (codec === CODEC_LZ4) return lz4CompressWith(content, place)
  const packed = compressed(content, codec)
  try {
    return place(packed)
  } finally {
    releaseBytes(packed) // node:zlib's output buffer, copied: freed now, not at the next GC
  }
}

/**
 * Decodes a payload and hands `rawLength` bytes to `use`: for LZ4, a view of wasm memory
 * valid only during `use` (no allocation per payload). Throws a plain `Error` on any
 * inconsistency; the read path turns it into `data_corruption`.
 *
 * @example
 * ```ts
 * decodePayloadWith(CODEC_LZ4, payload, 32768, (content) => out.set(content))
 * ```
 */
export function decodePayloadWith<T>(
  codec: number,
  payload: Uint8Array,
  rawLength: number,
  use: (content: Uint8Array) => T,
): T {
  const checked = (out: Uint8Array) => {
    if (out.length !== rawLength)
      throw new Error(`decoded ${out.length} bytes, expected ${rawLength}`)
    return use(out)
  }
  if (codec === CODEC_LZ4) {
    // Check the size prefix before handing bytes to the decoder: a wrong size would make it
    // allocate or fail inside WebAssembly.
    if (payload.length < 4) throw new Error('lz4 payload shorter than its size prefix')
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
    if (view.getUint32(0, true) !== rawLength) throw new Error('lz4 size prefix mismatch')
    return lz4DecompressWith(payload, checked)
  }
  const out = decodePayload(codec, payload, rawLength)
  try {
    return checked(out)
  } finally {
    // node:zlib's output buffer is ours alone and, as LZ4's view, valid only during `use`.
    if (out !== payload) releaseBytes(out)
  }
}

/**
 * Decodes a stored payload back to `rawLength` bytes. Throws a plain `Error` on any
 * inconsistency; the read path turns it into `data_corruption`.
 *
 * @example
 * ```ts
 * const content = decodePayload(CODEC_LZ4, payload, 32768)
 * ```
 */
export function decodePayload(codec: number, payload: Uint8Array, rawLength: number): Uint8Array {
  let out: Uint8Array
  switch (codec) {
    case CODEC_RAW:
      out = payload
      break
    case CODEC_LZ4:
      out = decodePayloadWith(codec, payload, rawLength, (bytes) => bytes.slice())
      break
    case CODEC_ZSTD:
      if (!HAS_ZSTD) throw new Error('zstd needs Node.js >= 22.15')
      try {
        out = zlib.zstdDecompressSync(payload, {
          maxOutputLength: rawLength,
          chunkSize: oneChunk(rawLength),
        })
      } catch (cause) {
        throw new Error('zstd payload does not decode', { cause })
      }
      break
    case CODEC_BROTLI:
      try {
        out = zlib.brotliDecompressSync(payload, {
          maxOutputLength: rawLength,
          chunkSize: oneChunk(rawLength),
        })
      } catch (cause) {
        throw new Error('brotli payload does not decode', { cause })
      }
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
  if (out.length !== rawLength)
    throw new Error(`decoded ${out.length} bytes, expected ${rawLength}`)
  return out
}
