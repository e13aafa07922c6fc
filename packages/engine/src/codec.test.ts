import { pseudoRandomBytes } from '@pstorage/core/testing'
import { describe, expect, it } from 'vitest'
import {
  CODEC_BROTLI,
  CODEC_LZ4,
  CODEC_RAW,
  CODEC_ZSTD,
  decodePayload,
  encodePayload,
  HAS_ZSTD,
} from './codec.js'

const text = new TextEncoder()
  .encode('the quick brown fox jumps over the lazy dog. '.repeat(800))
  .subarray(0, 32768)

describe('chunk codecs', () => {
  it('compresses with LZ4 when it pays and round-trips', () => {
    const payload = encodePayload(text, CODEC_LZ4)!
    expect(payload.length).toBeLessThan(text.length / 2)
    expect(decodePayload(CODEC_LZ4, payload, text.length)).toEqual(text)
  })

  it('zstd (the dense codec) and brotli round-trip, smaller than LZ4 on text', () => {
    const lz4 = encodePayload(text, CODEC_LZ4)!.length
    for (const codec of HAS_ZSTD ? [CODEC_ZSTD, CODEC_BROTLI] : [CODEC_BROTLI]) {
      const payload = encodePayload(text, codec)!
      expect(payload.length).toBeLessThan(lz4)
      expect(Buffer.from(decodePayload(codec, payload, text.length)).equals(text)).toBe(true)
    }
  })

  it('stores incompressible and tiny content raw', () => {
    const random = pseudoRandomBytes(32768, 3)
    expect(encodePayload(random, CODEC_LZ4)).toBeUndefined()
    expect(encodePayload(random, CODEC_ZSTD)).toBeUndefined()
    expect(encodePayload(Uint8Array.of(1, 2, 3), CODEC_LZ4)).toBeUndefined()
    expect(decodePayload(CODEC_RAW, random, random.length)).toBe(random)
  })

  it('throws instead of returning wrong bytes, and names unknown codecs', () => {
    const payload = encodePayload(text, CODEC_LZ4)!
    expect(() => decodePayload(CODEC_LZ4, payload, 4000)).toThrow(/size prefix/)
    expect(() => decodePayload(CODEC_RAW, payload, 32768)).toThrow(/expected 32768/)
    expect(() => decodePayload(99, payload, 4096)).toThrow(/unknown codec id 99/)
    if (HAS_ZSTD) {
      const zstd = encodePayload(text, CODEC_ZSTD)!
      expect(() => decodePayload(CODEC_ZSTD, zstd.subarray(0, zstd.length - 3), 32768)).toThrow()
    }
  })
})
