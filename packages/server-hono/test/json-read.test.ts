import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { BodyPool, base64Length, encodeBase64Into, readDocument } from '../src/json-read.js'

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
    const pool = new BodyPool(1 << 20)
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

describe('BodyPool', () => {
  it('reuses a body given back, at the size asked, and keeps at most its budget', () => {
    const pool = new BodyPool(3000)
    const first = pool.take(2000)
    pool.give(first)
    pool.give(first)
    expect(pool.retainedBytes).toBe(2000)
    const again = pool.take(1500)
    expect(again.buffer).toBe(first.buffer)
    expect(again.length).toBe(1500)
    expect(pool.take(1500).buffer).not.toBe(first.buffer)
    // Too small a request for a kept body (more than twice its size): a new one.
    pool.give(again)
    expect(pool.take(10).buffer).not.toBe(first.buffer)
    // Over the budget: dropped.
    pool.give(pool.take(2500))
    expect(pool.retainedBytes).toBe(2000)
  })
})
