import { describe, expect, it } from 'vitest'
import {
  decodeRecord,
  decodeSegmentHeader,
  encodeRecordInto,
  encodeSegmentHeader,
  peekRecord,
  RECORD_HEADER_SIZE,
  recordSize,
} from './segment-format.js'

const header = {
  segmentId: 7,
  segmentSize: 65536,
  eraseCount: 3,
  generation: 2 ** 40,
  erasedAt: 1_700_000_000_000,
}

describe('segment format', () => {
  it('round-trips a segment header and rejects a damaged one', () => {
    const bytes = encodeSegmentHeader(header)
    expect(decodeSegmentHeader(bytes)).toEqual(header)
    bytes[20]! ^= 1
    expect(decodeSegmentHeader(bytes)).toBe('segment header checksum mismatch')
    expect(decodeSegmentHeader(Buffer.alloc(64))).toBe('segment header magic is wrong')
  })

  it('round-trips records back to back and detects torn or flipped bytes', () => {
    const payloads = [Buffer.from('first block'), Buffer.from('second, longer block')]
    const out = Buffer.alloc(payloads.reduce((n, p) => n + recordSize(p.length), 0))
    let at = 0
    for (const [i, payload] of payloads.entries()) {
      at = encodeRecordInto(out, at, {
        chunkId: 2 ** 33 + i,
        codec: 0,
        span: 1,
        mask: 1,
        rawLength: payload.length,
        storedLength: payload.length,
        payload,
      })
    }
    expect(at).toBe(out.length)
    const second = decodeRecord(out, recordSize(payloads[0]!.length))
    expect(typeof second === 'string' ? second : Buffer.from(second.payload).toString()).toBe(
      'second, longer block',
    )
    expect(typeof second === 'string' ? 0 : second.chunkId).toBe(2 ** 33 + 1)
    expect(decodeRecord(out.subarray(0, out.length - 1), recordSize(payloads[0]!.length))).toBe(
      'record payload is truncated',
    )
    out[RECORD_HEADER_SIZE + 2]! ^= 0x40
    expect(decodeRecord(out, 0)).toBe('record checksum mismatch')
    // peek reads the header only: the chain stays walkable despite the bad payload.
    expect(peekRecord(out, 0)).toMatchObject({
      chunkId: 2 ** 33,
      storedLength: payloads[0]!.length,
    })
    expect(decodeRecord(Buffer.alloc(100), 0)).toBe('record magic is wrong')
  })
})
