import { pseudoRandomBytes } from '@pstorage/core/testing'
import { describe, expect, it } from 'vitest'
import { CODEC_BROTLI, CODEC_LZ4, CODEC_RAW, decodeBlock, encodeBlock } from './codec.js'

const text = new TextEncoder()
  .encode('the quick brown fox jumps over the lazy dog. '.repeat(100))
  .subarray(0, 4096)

describe('block codecs', () => {
  it('compresses with LZ4 when it pays and round-trips', () => {
    const { codec, payload } = encodeBlock(text, 'lz4')
    expect(codec).toBe(CODEC_LZ4)
    expect(payload.length).toBeLessThan(text.length / 2)
    expect(decodeBlock(codec, payload, text.length)).toEqual(text)
  })

  it('uses brotli for the dense policy, smaller than LZ4 on text', () => {
    const dense = encodeBlock(text, 'dense')
    expect(dense.codec).toBe(CODEC_BROTLI)
    expect(dense.payload.length).toBeLessThan(encodeBlock(text, 'lz4').payload.length)
    expect(Buffer.from(decodeBlock(dense.codec, dense.payload, text.length)).equals(text)).toBe(
      true,
    )
  })

  it('stores incompressible and tiny blocks raw', () => {
    const random = pseudoRandomBytes(4096, 3)
    expect(encodeBlock(random, 'lz4')).toEqual({ codec: CODEC_RAW, payload: random })
    expect(encodeBlock(random, 'dense').codec).toBe(CODEC_RAW)
    expect(encodeBlock(Uint8Array.of(1, 2, 3), 'lz4').codec).toBe(CODEC_RAW)
  })

  it('throws instead of returning wrong bytes, and names unknown codecs', () => {
    const { payload } = encodeBlock(text, 'lz4')
    expect(() => decodeBlock(CODEC_LZ4, payload, 4000)).toThrow(/size prefix/)
    expect(() => decodeBlock(CODEC_RAW, payload, 4096)).toThrow(/expected 4096/)
    expect(() => decodeBlock(99, payload, 4096)).toThrow(/unknown codec id 99/)
  })
})
