import { randomBytes } from 'node:crypto'
import { BufferPool } from '@pstorage/core'
import { describe, expect, it } from 'vitest'
import { base64Length, encodeBase64Into, readDocument } from '../src/json-read.js'

describe('encodeBase64Into', () => {
  it('writes what toString("base64") gives, for every length and at odd offsets too', () => {
    for (let length = 0; length <= 70; length++) {
      const src = randomBytes(length)
      for (const at of [0, 1, 2, 7]) {
        const out = Buffer.alloc(at + base64Length(length) + 3, 0x2e)
        const end = encodeBase64Into(src, out, at)
        expect(end).toBe(at + base64Length(length))
        expect(out.toString('latin1', at, end)).toBe(src.toString('base64'))
        // Nothing around the encoding is touched.
        expect(out.subarray(0, at).every((b) => b === 0x2e)).toBe(true)
        expect(out.subarray(end).every((b) => b === 0x2e)).toBe(true)
      }
    }
  })

  it('encodes a large view into shared memory exactly', () => {
    const shared = new Uint8Array(new SharedArrayBuffer((3 << 20) + 10))
    shared.set(randomBytes(shared.length))
    const src = shared.subarray(5, 5 + (3 << 20) + 2)
    const out = Buffer.alloc(base64Length(src.length))
    encodeBase64Into(src, out, 0)
    expect(out.toString('latin1') === Buffer.from(src).toString('base64')).toBe(true)
  })
})

describe('readDocument', () => {
  it('is the JSON document of a read, whatever the head length', () => {
    const pool = new BufferPool(1 << 20, { shared: false })
    for (const id of ['v', 'vv', 'ünï"code', '0f8e3c52-1d2b-4d7a-9a55-2d1d7c3f0b11']) {
      for (const length of [0, 1, 2, 3, 4096, 4097]) {
        const bytes = randomBytes(length)
        const body = readDocument(pool, id, 8192, bytes)
        expect(JSON.parse(body.toString('utf8'))).toEqual({
          volume_id: id,
          offset: 8192,
          size: length,
          data: bytes.toString('base64'),
        })
        pool.give(body)
      }
    }
  })
})
