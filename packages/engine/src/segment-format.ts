import { crc32 } from 'node:zlib'

/**
 * The on-disk format of segment files. Every segment starts with a header naming the format
 * version; records follow back to back. Ids here are persistent: never change or reuse one.
 *
 * Segment header (64 bytes, little-endian):
 * `magic "PSTSEGM1" | u16 version | u16 header size | u32 segment id | u32 segment size |
 *  u32 erase count | u64 generation | f64 erased-at ms | 20 reserved | u32 crc32(0..60)`
 *
 * Chunk record (32-byte header + payload), format 2:
 * `u32 magic "PSC2" | u8 record type (2) | u8 codec | u8 span | u8 flags | u32 present mask |
 *  u32 raw length | u32 stored length | u64 chunk id | u32 crc32(header 0..28 + payload)`
 *
 * A chunk holds up to 32 consecutive physical block ids `[chunk id, chunk id + span)`;
 * the payload decodes to the present members (mask bit i = id `chunk id + i`) back to back,
 * 4096 bytes each, or to one partial block of `raw length` bytes when the span is 1.
 *
 * @example
 * ```ts
 * decodeSegmentHeader(bytes) // refuses a header whose version is not FORMAT_VERSION
 * ```
 */
export const FORMAT_VERSION = 2
/**
 * Bytes of the segment header.
 *
 * @example
 * ```ts
 * let at = SEGMENT_HEADER_SIZE // the first record
 * ```
 */
export const SEGMENT_HEADER_SIZE = 64
/**
 * Bytes of a record header.
 *
 * @example
 * ```ts
 * const payload = bytes.subarray(at + RECORD_HEADER_SIZE, at + RECORD_HEADER_SIZE + storedLength)
 * ```
 */
export const RECORD_HEADER_SIZE = 32
/**
 * Record type 1 was the single-block record of format 1 (64-byte header with the
 * fingerprint); format 2 does not read it. New types take new numbers.
 *
 * @example
 * ```ts
 * if (type === RECORD_TYPE_BLOCK) return 'format 1 record'
 * ```
 */
export const RECORD_TYPE_BLOCK = 1
/**
 * Record type of a chunk: up to 32 unique blocks compressed together.
 *
 * @example
 * ```ts
 * if (bytes.readUInt8(at + 4) === RECORD_TYPE_CHUNK) decodeRecord(bytes, at)
 * ```
 */
export const RECORD_TYPE_CHUNK = 2
/**
 * Most members a chunk can have (bits of the present mask).
 *
 * @example
 * ```ts
 * if (span > MAX_CHUNK_SPAN) throw new Error('chunk too large')
 * ```
 */
export const MAX_CHUNK_SPAN = 32

const SEGMENT_MAGIC = Buffer.from('PSTSEGM1', 'latin1')
const RECORD_MAGIC = 0x32435350 // 'PSC2' read as little-endian u32

/**
 * The fields of a segment header.
 *
 * @example
 * ```ts
 * const header: SegmentHeader | string = decodeSegmentHeader(bytes)
 * ```
 */
export interface SegmentHeader {
  readonly segmentId: number
  readonly segmentSize: number
  readonly eraseCount: number
  readonly generation: number
  readonly erasedAt: number
}

/**
 * Encodes a segment header.
 *
 * @example
 * ```ts
 * const bytes = encodeSegmentHeader({ segmentId: 3, segmentSize: 4 << 20, eraseCount: 1, generation: 9, erasedAt: Date.now() })
 * ```
 */
export function encodeSegmentHeader(header: SegmentHeader): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER_SIZE)
  SEGMENT_MAGIC.copy(buf, 0)
  buf.writeUInt16LE(FORMAT_VERSION, 8)
  buf.writeUInt16LE(SEGMENT_HEADER_SIZE, 10)
  buf.writeUInt32LE(header.segmentId, 12)
  buf.writeUInt32LE(header.segmentSize, 16)
  buf.writeUInt32LE(header.eraseCount, 20)
  buf.writeBigUInt64LE(BigInt(header.generation), 24)
  buf.writeDoubleLE(header.erasedAt, 32)
  buf.writeUInt32LE(crc32(buf.subarray(0, 60)), 60)
  return buf
}

/**
 * Decodes and checks a segment header; returns a reason string when it is not valid.
 *
 * @example
 * ```ts
 * const header = decodeSegmentHeader(bytes)
 * if (typeof header === 'string') console.error(header)
 * ```
 */
export function decodeSegmentHeader(buf: Buffer): SegmentHeader | string {
  if (buf.length < SEGMENT_HEADER_SIZE) return 'segment header is truncated'
  if (!buf.subarray(0, 8).equals(SEGMENT_MAGIC)) return 'segment header magic is wrong'
  if (buf.readUInt32LE(60) !== crc32(buf.subarray(0, 60))) return 'segment header checksum mismatch'
  const version = buf.readUInt16LE(8)
  if (version !== FORMAT_VERSION) return `segment format version ${version} is not supported`
  return {
    segmentId: buf.readUInt32LE(12),
    segmentSize: buf.readUInt32LE(16),
    eraseCount: buf.readUInt32LE(20),
    generation: Number(buf.readBigUInt64LE(24)),
    erasedAt: buf.readDoubleLE(32),
  }
}

/**
 * The header fields of a chunk record.
 *
 * @example
 * ```ts
 * const header: RecordHeader | string = peekRecord(bytes, offset)
 * ```
 */
export interface RecordHeader {
  /** Id of the chunk: the physical block id of its first member. */
  readonly chunkId: number
  readonly codec: number
  /** Ids the chunk covers: `[chunkId, chunkId + span)`. */
  readonly span: number
  /** Members whose bytes the payload holds (bit i: id `chunkId + i`). */
  readonly mask: number
  /** Decoded length of the payload. */
  readonly rawLength: number
  readonly storedLength: number
}

/**
 * A whole chunk record: header and payload.
 *
 * @example
 * ```ts
 * const record: ChunkRecord | string = decodeRecord(bytes, offset)
 * ```
 */
export interface ChunkRecord extends RecordHeader {
  readonly payload: Uint8Array
}

/**
 * Bytes a record with `payloadLength` bytes of payload occupies.
 *
 * @example
 * ```ts
 * recordSize(4096) // 4128
 * ```
 */
export function recordSize(payloadLength: number): number {
  return RECORD_HEADER_SIZE + payloadLength
}

/**
 * Writes a chunk record header into `out` at `at` (the payload must already be at
 * `at + RECORD_HEADER_SIZE`) and seals it with the CRC over header and payload.
 *
 * @example
 * ```ts
 * out.set(payload, at + RECORD_HEADER_SIZE)
 * sealRecord(out, at, { chunkId: 1, codec: 0, span: 1, mask: 1, rawLength: 3, storedLength: 3 })
 * ```
 */
export function sealRecord(out: Uint8Array, at: number, header: RecordHeader): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  view.setUint32(at, RECORD_MAGIC, true)
  view.setUint8(at + 4, RECORD_TYPE_CHUNK)
  view.setUint8(at + 5, header.codec)
  view.setUint8(at + 6, header.span)
  view.setUint8(at + 7, 0)
  view.setUint32(at + 8, header.mask >>> 0, true)
  view.setUint32(at + 12, header.rawLength, true)
  view.setUint32(at + 16, header.storedLength, true)
  view.setUint32(at + 20, header.chunkId % 2 ** 32, true)
  view.setUint32(at + 24, Math.floor(header.chunkId / 2 ** 32), true)
  const end = at + RECORD_HEADER_SIZE + header.storedLength
  const crc = crc32(out.subarray(at + RECORD_HEADER_SIZE, end), crc32(out.subarray(at, at + 28)))
  view.setUint32(at + 28, crc, true)
  return end
}

/**
 * Encodes a whole record (header + payload) into `out` at `at`; returns the end offset.
 *
 * @example
 * ```ts
 * encodeRecordInto(buf, 0, { chunkId: 1, codec: 0, span: 1, mask: 1, rawLength: 3, storedLength: 3, payload })
 * ```
 */
export function encodeRecordInto(out: Uint8Array, at: number, record: ChunkRecord): number {
  out.set(record.payload, at + RECORD_HEADER_SIZE)
  return sealRecord(out, at, { ...record, storedLength: record.payload.length })
}

function readHeader(buf: Uint8Array, at: number): RecordHeader | string {
  if (at + RECORD_HEADER_SIZE > buf.length) return 'record header is truncated'
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  if (view.getUint32(at, true) !== RECORD_MAGIC) return 'record magic is wrong'
  const type = view.getUint8(at + 4)
  if (type !== RECORD_TYPE_CHUNK) return `unknown record type ${type}`
  const storedLength = view.getUint32(at + 16, true)
  if (at + RECORD_HEADER_SIZE + storedLength > buf.length) return 'record payload is truncated'
  return {
    chunkId: view.getUint32(at + 20, true) + view.getUint32(at + 24, true) * 2 ** 32,
    codec: view.getUint8(at + 5),
    span: view.getUint8(at + 6),
    mask: view.getUint32(at + 8, true),
    rawLength: view.getUint32(at + 12, true),
    storedLength,
  }
}

/**
 * Decodes the record at `at` of `buf` and checks its CRC (unless `checkCrc` is false: the
 * caller verifies the decoded content's SHA-256 instead); returns a reason string when the
 * bytes are not a whole, intact record (a torn tail, a flipped bit, or free space).
 *
 * @example
 * ```ts
 * const record = decodeRecord(segmentBytes, offset)
 * ```
 */
export function decodeRecord(buf: Uint8Array, at: number, checkCrc = true): ChunkRecord | string {
  const header = readHeader(buf, at)
  if (typeof header === 'string') return header
  const end = at + RECORD_HEADER_SIZE + header.storedLength
  const payload = buf.subarray(at + RECORD_HEADER_SIZE, end)
  if (checkCrc) {
    const stored = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(at + 28, true)
    if (crc32(payload, crc32(buf.subarray(at, at + 28))) !== stored)
      return 'record checksum mismatch'
  }
  return { ...header, payload }
}

/**
 * Reads a record's header without verifying the payload: how fsck walks a segment's
 * chain of records (scrub verifies payloads).
 *
 * @example
 * ```ts
 * const header = peekRecord(segmentBytes, SEGMENT_HEADER_SIZE)
 * ```
 */
export function peekRecord(buf: Uint8Array, at: number): RecordHeader | string {
  return readHeader(buf, at)
}
