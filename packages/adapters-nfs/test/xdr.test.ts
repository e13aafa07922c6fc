import { describe, expect, it } from 'vitest'
import { FTYPE3 } from '../src/nfs3/constants.js'
import { isoTime, readFattr3, readWccData, writeSattr3 } from '../src/nfs3/nfs3-types.js'
import { RecordDecoder, recordMark } from '../src/rpc/record-marking.js'
import { AUTH_SYS, decodeReply, encodeCallHeader } from '../src/rpc/rpc-message.js'
import { XdrError, XdrReader, XdrWriter } from '../src/rpc/xdr.js'
import { framed, replyBody } from './fake-rpc-server.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

describe('XDR (RFC 4506)', () => {
  it('encodes the standard types big-endian with 4-byte alignment', () => {
    const w = new XdrWriter()
    w.u32(1)
      .i32(-2)
      .u64(2n ** 40n + 3n)
      .bool(true)
      .string('abc')
      .opaque(new Uint8Array([9]))
    w.fixedOpaque(new Uint8Array([1, 2, 3, 4, 5]))
    expect(hex(w.toBuffer())).toBe(
      [
        '00000001',
        'fffffffe',
        '0000010000000003',
        '00000001',
        '00000003616263' + '00', // 'abc' + 1 byte of padding
        '00000001' + '09000000',
        '0102030405000000',
      ].join(''),
    )
    expect(w.length).toBe(w.toBuffer().length)
  })

  it('round-trips every type, including opaque lengths 0..9 and unicode strings', () => {
    const w = new XdrWriter()
    const blobs = Array.from({ length: 10 }, (_, n) =>
      Uint8Array.from({ length: n }, (_, i) => i + 1),
    )
    for (const b of blobs) w.opaque(b)
    w.u64(Number.MAX_SAFE_INTEGER)
      .u64(0xffffffffffffffffn)
      .string('caf\u00e9 \u{1f600}')
      .bool(false)
    const r = new XdrReader(w.toBuffer())
    for (const b of blobs) expect(hex(r.opaque())).toBe(hex(b))
    expect(r.u64Number()).toBe(Number.MAX_SAFE_INTEGER)
    expect(r.u64()).toBe(0xffffffffffffffffn)
    expect(r.string()).toBe('caf\u00e9 \u{1f600}')
    expect(r.bool()).toBe(false)
    expect(r.remaining).toBe(0)
  })

  it('references large payloads instead of copying them (opaqueRef)', () => {
    const payload = Buffer.alloc(1 << 20, 7)
    const w = new XdrWriter()
    w.u32(5).opaqueRef(payload.subarray(0, 1001)).u32(6)
    const chunks = w.chunks()
    expect(chunks.some((c) => c.buffer === payload.buffer)).toBe(true)
    const r = new XdrReader(Buffer.concat(chunks))
    expect(r.u32()).toBe(5)
    expect(r.opaque().equals(payload.subarray(0, 1001))).toBe(true)
    expect(r.u32()).toBe(6) // padding of 3 bytes was emitted after the referenced data
    expect(w.length).toBe(4 + 4 + 1001 + 3 + 4)
  })

  it('refuses malformed input with XdrError, and out-of-range values with RangeError', () => {
    expect(() => new XdrReader(Buffer.from('000000', 'hex')).u32()).toThrow(XdrError)
    expect(() => new XdrReader(Buffer.from('00000002', 'hex')).bool()).toThrow(XdrError)
    expect(() => new XdrReader(Buffer.from('00000005616263', 'hex')).opaque()).toThrow(XdrError)
    expect(() => new XdrReader(Buffer.from('0000000800000000', 'hex')).opaque(4)).toThrow(XdrError)
    expect(() => new XdrReader(Buffer.from('0020000000000000', 'hex')).u64Number()).toThrow(
      XdrError,
    )
    expect(() => new XdrWriter().u32(-1)).toThrow(RangeError)
    expect(() => new XdrWriter().u32(2 ** 32)).toThrow(RangeError)
    expect(() => new XdrWriter().u64(2 ** 53)).toThrow(RangeError)
    expect(() => new XdrWriter().u64(-1n)).toThrow(RangeError)
  })
})

describe('record marking (RFC 5531 §11)', () => {
  const body = (n: number, seed: number) =>
    Buffer.from(Array.from({ length: n }, (_, i) => (i * seed) & 0xff))

  it('marks a record as one last fragment', () => {
    expect(hex(recordMark(0x1234))).toBe('80001234')
    expect(() => recordMark(2 ** 31)).toThrow(RangeError)
  })

  it('reassembles fragmented records fed one byte at a time', () => {
    const a = body(1000, 3)
    const b = body(7, 5)
    const stream = Buffer.concat([framed(a, 4), framed(b, 1), framed(Buffer.alloc(0), 1)])
    const d = new RecordDecoder(4096)
    const out: Buffer[] = []
    for (const byte of stream) out.push(...d.push(Buffer.from([byte])))
    expect(out.map(hex)).toEqual([hex(a), hex(b), ''])
    expect(d.buffered).toBe(0)
  })

  it('returns several records from one chunk, and keeps nothing of the chunks fed in', () => {
    const a = body(10, 1)
    const b = body(20, 2)
    const c = body(30, 4)
    const chunk = Buffer.concat([framed(a), framed(b, 3), framed(c).subarray(0, 17)])
    const d = new RecordDecoder(4096)
    const out = d.push(chunk)
    chunk.fill(0) // the caller reuses its read buffer
    out.push(...d.push(framed(c).subarray(17)))
    expect(out.map(hex)).toEqual([hex(a), hex(b), hex(c)])
  })

  it('handles zero-length fragments in the middle of a record', () => {
    // Fragments: 2 bytes (not last), 0 bytes (not last), 1 byte (last).
    const stream = Buffer.from('00000002abcd' + '00000000' + '80000001ef', 'hex')
    const out = new RecordDecoder(64).push(stream)
    expect(out.map(hex)).toEqual(['abcdef'])
  })

  it('refuses a record over the limit before buffering it', () => {
    const d = new RecordDecoder(100)
    expect(() => d.push(Buffer.from('80000065', 'hex'))).toThrow(XdrError) // 101 bytes announced
    const e = new RecordDecoder(100)
    // 60 + 60 bytes in two fragments of one record: the second mark trips the limit.
    const first = Buffer.concat([Buffer.from('0000003c', 'hex'), body(60, 1)])
    expect(e.push(first)).toEqual([])
    expect(() => e.push(Buffer.from('8000003c', 'hex'))).toThrow(XdrError)
  })
})

describe('RPC messages (RFC 5531 §9)', () => {
  it('encodes a call header with AUTH_SYS credentials and an AUTH_NONE verifier', () => {
    const w = new XdrWriter()
    encodeCallHeader(w, {
      xid: 0x01020304,
      program: 100003,
      version: 3,
      procedure: 1,
      credential: { machineName: 'host', uid: 1000, gid: 100, gids: [4, 27] },
    })
    const r = new XdrReader(w.toBuffer())
    expect([r.u32(), r.u32(), r.u32(), r.u32(), r.u32(), r.u32()]).toEqual([
      0x01020304, 0, 2, 100003, 3, 1,
    ])
    expect(r.u32()).toBe(AUTH_SYS)
    const cred = new XdrReader(r.opaque(400))
    cred.u32() // stamp
    expect([cred.string(), cred.u32(), cred.u32(), cred.u32(), cred.u32(), cred.u32()]).toEqual([
      'host',
      1000,
      100,
      2,
      4,
      27,
    ])
    expect(cred.remaining).toBe(0)
    expect([r.u32(), r.opaque().length, r.remaining]).toEqual([0, 0, 0])
  })

  it('decodes accepted, mismatched and denied replies', () => {
    const ok = decodeReply(replyBody(7, Buffer.from('0000002a', 'hex')))
    expect(ok?.ok && ok.results.u32()).toBe(42)
    const w = new XdrWriter()
    w.u32(8).u32(1).u32(0).u32(0).opaque(new Uint8Array(0)).u32(2).u32(2).u32(4)
    expect(decodeReply(w.toBuffer())).toEqual({
      xid: 8,
      ok: false,
      kind: 'accept',
      reason: 'PROG_MISMATCH (server supports versions 2..4)',
    })
    expect(decodeReply(replyBody(9, new Uint8Array(0), 3))).toMatchObject({
      reason: 'PROC_UNAVAIL',
    })
    const denied = new XdrWriter().u32(10).u32(1).u32(1).u32(1).u32(5).toBuffer()
    expect(decodeReply(denied)).toEqual({
      xid: 10,
      ok: false,
      kind: 'auth',
      reason: 'AUTH_TOOWEAK',
    })
    const mismatch = new XdrWriter().u32(11).u32(1).u32(1).u32(0).u32(2).u32(2).toBuffer()
    expect(decodeReply(mismatch)).toMatchObject({ kind: 'rpc_mismatch' })
    expect(decodeReply(new XdrWriter().u32(12).u32(0).toBuffer())).toBeUndefined() // a CALL
    expect(() => decodeReply(new XdrWriter().u32(13).u32(7).toBuffer())).toThrow(XdrError)
    expect(() => decodeReply(replyBody(14, new Uint8Array(0), 99))).toThrow(XdrError)
    expect(() => decodeReply(Buffer.from('000000', 'hex'))).toThrow(XdrError)
  })
})

describe('NFSv3 structures (RFC 1813 §2)', () => {
  it('decodes fattr3 and wcc_data', () => {
    const w = new XdrWriter()
    w.u32(FTYPE3.REG).u32(0o100644).u32(1).u32(1000).u32(100)
    w.u64(123_456_789_012)
      .u64(4096)
      .u32(0)
      .u32(0)
      .u64(77n)
      .u64(2n ** 63n)
    w.u32(1).u32(2).u32(1_700_000_000).u32(500_000_000).u32(5).u32(6)
    const attrs = readFattr3(new XdrReader(w.toBuffer()))
    expect(attrs).toMatchObject({
      type: FTYPE3.REG,
      uid: 1000,
      size: 123_456_789_012,
      fileid: 2n ** 63n,
    })
    expect(isoTime(attrs.mtime)).toBe('2023-11-14T22:13:20.500Z')
    const wcc = new XdrWriter().bool(true).u64(1).u32(0).u32(0).u32(0).u32(0).bool(false)
    const r = new XdrReader(wcc.toBuffer())
    expect(readWccData(r)).toBeUndefined()
    expect(r.remaining).toBe(0)
  })

  it('encodes sattr3 with only the fields set', () => {
    const w = new XdrWriter()
    writeSattr3(w, { mode: 0o644, size: 10, mtime: 'server' })
    expect(hex(w.toBuffer())).toBe(
      [
        '00000001',
        '000001a4',
        '00000000',
        '00000000',
        '00000001',
        '000000000000000a',
        '00000000',
        '00000001',
      ].join(''),
    )
  })
})
