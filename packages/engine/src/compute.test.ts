import { createHash } from 'node:crypto'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { describe, expect, it } from 'vitest'
import { CODEC_LZ4, CODEC_RAW } from './codec.js'
import {
  analyzeBlocks,
  type ChunkExpectation,
  DIGEST_CONTENT,
  DIGEST_MEMBERS,
  ENCODED_FIELDS,
  encodeChunks,
  maxRecordBytes,
  memberOffset,
  PIECE_CHUNK,
  PIECE_FIELDS,
  PIECE_PATTERN,
  popcount,
  READ_CHUNK_FIELDS,
  runRead,
  slabLayout,
  verifyChunk,
} from './compute.js'

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest()
/** The DIGEST_MEMBERS digest, computed the plain way: the hash of the blocks' hashes. */
const membersSha = (blocks: Uint8Array[]) => sha(Buffer.concat(blocks.map(sha)))
/** A slab holding `data`, analysed as a write's is before its chunks are encoded. */
function analyzed(data: Uint8Array) {
  const layout = slabLayout(data.length)
  const slab = new Uint8Array(new SharedArrayBuffer(layout.bytes))
  slab.set(data)
  analyzeBlocks(slab, layout, 0, layout.blocks)
  return { slab, fpsAt: layout.fpsAt }
}
const text = (n: number) =>
  new TextEncoder()
    .encode('storage flash segment block volume '.repeat(Math.ceil(n / 35) + 1))
    .subarray(0, n)

describe('compute steps', () => {
  it('analyses blocks: zeros and patterns by unit, SHA-256 of data blocks, partial last block', () => {
    const data = new Uint8Array(4 * 4096 + 100)
    data.fill(7, 4096, 8192)
    data.set(pseudoRandomBytes(4096, 1), 8192)
    data.set(text(4096), 12288)
    data.set(pseudoRandomBytes(100, 2), 16384)
    const layout = slabLayout(data.length)
    const slab = new Uint8Array(new SharedArrayBuffer(layout.bytes))
    slab.set(data)
    analyzeBlocks(slab, layout, 0, layout.blocks)
    const kinds = Array.from(slab.subarray(layout.kindsAt, layout.kindsAt + layout.blocks))
    expect(kinds).toEqual([1, 1, 0, 0, 0])
    expect(slab[layout.unitsAt + 8]).toBe(7)
    const fp = (b: number) =>
      Buffer.from(slab.subarray(layout.fpsAt + b * 32, layout.fpsAt + b * 32 + 32))
    expect(fp(2)).toEqual(sha(data.subarray(8192, 12288)))
    expect(fp(4)).toEqual(sha(data.subarray(16384)))
  })

  it('encodes chunks into whole records, verifies and decodes them, and catches a wrong digest', () => {
    const data = new Uint8Array(8 * 4096)
    data.set(text(4 * 4096))
    data.set(pseudoRandomBytes(4 * 4096, 3), 4 * 4096)
    const jobs = [
      { id: 10, codec: CODEC_LZ4, members: [0, 1, 3], lastLength: 4096, outAt: 0 },
      {
        id: 13,
        codec: CODEC_LZ4,
        members: [4, 5],
        lastLength: 4096,
        outAt: maxRecordBytes(3, 4096),
      },
    ]
    const out = new Uint8Array(maxRecordBytes(3, 4096) + maxRecordBytes(2, 4096))
    const { slab, fpsAt } = analyzed(data)
    const { meta, hashes } = encodeChunks(slab, fpsAt, out, jobs)
    expect(meta[1]).toBe(CODEC_LZ4) // text compresses
    expect(meta[ENCODED_FIELDS + 1]).toBe(CODEC_RAW) // random data does not
    const block = (b: number) => data.subarray(b * 4096, (b + 1) * 4096)
    const first = Buffer.concat([block(0), block(1), block(3)])
    // The digest is over the members' fingerprints (gathered too: members 0, 1, 3).
    expect(Buffer.from(hashes.subarray(0, 32))).toEqual(membersSha([block(0), block(1), block(3)]))
    expect(Buffer.from(hashes.subarray(32, 64))).toEqual(membersSha([block(4), block(5)]))
    const expected: ChunkExpectation = {
      id: 10,
      span: 3,
      mask: 0b111,
      codec: CODEC_LZ4,
      rawLength: 3 * 4096,
      recordLength: meta[0]!,
      digest: DIGEST_MEMBERS,
      sha: Buffer.from(hashes.subarray(0, 32)),
    }
    expect(Buffer.from(verifyChunk(expected, out, 0) as Uint8Array)).toEqual(first)
    expect(verifyChunk({ ...expected, id: 11 }, out, 0)).toBe('record holds chunk 10')
    expect(verifyChunk({ ...expected, sha: Buffer.alloc(32) }, out, 0)).toBe(
      'content hash mismatch',
    )
    // A chunk indexed before schema 3 carries the SHA-256 of its content: still checked.
    const legacy = { ...expected, digest: DIGEST_CONTENT, sha: sha(first) }
    expect(Buffer.from(verifyChunk(legacy, out, 0) as Uint8Array)).toEqual(first)
    expect(verifyChunk({ ...legacy, digest: DIGEST_MEMBERS }, out, 0)).toBe('content hash mismatch')
    expect(verifyChunk({ ...expected, digest: DIGEST_CONTENT }, out, 0)).toBe(
      'content hash mismatch',
    )
    out[40]! ^= 1
    expect(verifyChunk(expected, out, 0)).toBe('record checksum mismatch')
  })

  it('scatters a read: chunk members, patterns at any phase, zeros in the gaps', () => {
    const data = new Uint8Array(2 * 4096)
    data.set(text(8192))
    const out = new Uint8Array(maxRecordBytes(2, 4096))
    const { slab, fpsAt } = analyzed(data)
    const { meta, hashes } = encodeChunks(slab, fpsAt, out, [
      { id: 1, codec: CODEC_LZ4, members: [0, 1], lastLength: 4096, outAt: 0 },
    ])
    const chunks = Float64Array.from([1, 2, 0b11, meta[1]!, 8192, meta[0]!, 0, DIGEST_MEMBERS])
    expect(chunks.length).toBe(READ_CHUNK_FIELDS)
    // bytes [0, 100) from member 1 at 10; [100, 110) pattern 0xab 0xcd from phase 1;
    // [110, 200) zeros; [200, 300) from member 0 at 0.
    const pieces = Float64Array.from([
      ...[0, PIECE_CHUNK, 0, 4096 + 10, 0, 100],
      ...[100, PIECE_PATTERN, 0, 2, 1, 10],
      ...[200, PIECE_CHUNK, 0, 0, 0, 100],
    ])
    expect(pieces.length).toBe(3 * PIECE_FIELDS)
    const output = new ArrayBuffer(300)
    new Uint8Array(output).fill(0xee)
    const units = Uint8Array.of(0xab, 0xcd, 0, 0, 0, 0, 0, 0)
    const result = runRead({ records: out, chunks, hashes, pieces, units, output })
    const bytes = new Uint8Array(result as ArrayBuffer)
    expect(bytes.subarray(0, 100)).toEqual(data.subarray(4106, 4206))
    expect(Array.from(bytes.subarray(100, 104))).toEqual([0xcd, 0xab, 0xcd, 0xab])
    expect(bytes.subarray(110, 200).every((b) => b === 0)).toBe(true)
    expect(bytes.subarray(200, 300)).toEqual(data.subarray(0, 100))
    hashes[0]! ^= 1
    const bad = runRead({
      records: out,
      chunks,
      hashes,
      pieces,
      units,
      output: new ArrayBuffer(300),
    })
    expect(bad).toEqual({ chunk: 0, reason: 'content hash mismatch' })
  })

  it('finds members in a chunk whose dead members were dropped', () => {
    expect(popcount(0b1011)).toBe(3)
    expect(popcount(0xffffffff)).toBe(32)
    expect(memberOffset(0b1101, 0)).toBe(0)
    expect(memberOffset(0b1101, 2)).toBe(4096)
    expect(memberOffset(0b1101, 3)).toBe(8192)
  })
})
