import { crc32 } from 'node:zlib'
import { FINGERPRINT_SIZE } from './fingerprint.js'

/**
 * The on-disk format of segment files. Every segment starts with a header naming the format
 * version; records follow back to back. Ids here are persistent: never change or reuse one.
 *
 * Segment header (64 bytes, little-endian):
 * `magic "PSTSEGM1" | u16 version | u16 header size | u32 segment id | u32 segment size |
 *  u32 erase count | u64 generation | f64 erased-at ms | 20 reserved | u32 crc32(0..60)`
 *
 * Record (64-byte header + payload):
 * `u32 magic | u8 record type | u8 codec | u16 flags | u32 logical length | u32 stored length |
 *  u64 physical block id | 32 fingerprint | u32 reserved | u32 crc32(header 0..60 + payload)`
 *
 * @example
 * ```ts
 * decodeSegmentHeader(bytes) // refuses a header whose version is not FORMAT_VERSION
 * ```
 */
export const FORMAT_VERSION = 1
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
export const RECORD_HEADER_SIZE = 64
/**
 * Record type of a data block. Future types (e.g. multi-block groups) take new numbers.
 *
 * @example
 * ```ts
 * if (bytes.readUInt8(at + 4) === RECORD_TYPE_BLOCK) readBlockRecord(bytes, at)
 * ```
 */
export const RECORD_TYPE_BLOCK = 1

const SEGMENT_MAGIC = Buffer.from('PSTSEGM1', 'latin1')
const RECORD_MAGIC = 0x31425350 // 'PSB1' read as little-endian u32

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
 * The fields of a block record.
 *
 * @example
 * ```ts
 * const record: BlockRecord | string = decodeRecord(bytes, offset)
 * ```
 */
export interface BlockRecord {
  readonly pblockId: number
  readonly codec: number
  readonly logicalLength: number
  readonly fingerprint: Uint8Array
  readonly payload: Uint8Array
}

/**
 * Bytes a record with `payloadLength` bytes of payload occupies.
 *
 * @example
 * ```ts
 * recordSize(4096) // 4160
 * ```
 */
export function recordSize(payloadLength: number): number {
  return RECORD_HEADER_SIZE + payloadLength
}

/**
 * Encodes a block record into `out` at `at` (so a batch is one buffer and one write).
 *
 * @example
 * ```ts
 * encodeRecordInto(buf, 0, { pblockId: 1, codec: 0, logicalLength: 3, fingerprint: fp, payload })
 * ```
 */
export function encodeRecordInto(out: Buffer, at: number, record: BlockRecord): number {
  out.writeUInt32LE(RECORD_MAGIC, at)
  out.writeUInt8(RECORD_TYPE_BLOCK, at + 4)
  out.writeUInt8(record.codec, at + 5)
  out.writeUInt16LE(0, at + 6)
  out.writeUInt32LE(record.logicalLength, at + 8)
  out.writeUInt32LE(record.payload.length, at + 12)
  out.writeBigUInt64LE(BigInt(record.pblockId), at + 16)
  out.set(record.fingerprint, at + 24)
  out.writeUInt32LE(0, at + 56)
  out.set(record.payload, at + RECORD_HEADER_SIZE)
  const crc = crc32(
    out.subarray(at + RECORD_HEADER_SIZE, at + RECORD_HEADER_SIZE + record.payload.length),
    crc32(out.subarray(at, at + 60)),
  )
  out.writeUInt32LE(crc, at + 60)
  return at + recordSize(record.payload.length)
}

/**
 * Decodes the record at `at` of `buf` and checks its CRC; returns a reason string when the
 * bytes are not a whole, intact record (a torn tail, a flipped bit, or free space).
 *
 * @example
 * ```ts
 * const record = decodeRecord(segmentBytes, offset)
 * ```
 */
export function decodeRecord(buf: Buffer, at: number): BlockRecord | string {
  if (at + RECORD_HEADER_SIZE > buf.length) return 'record header is truncated'
  if (buf.readUInt32LE(at) !== RECORD_MAGIC) return 'record magic is wrong'
  if (buf.readUInt8(at + 4) !== RECORD_TYPE_BLOCK)
    return `unknown record type ${buf.readUInt8(at + 4)}`
  const storedLength = buf.readUInt32LE(at + 12)
  const end = at + RECORD_HEADER_SIZE + storedLength
  if (end > buf.length) return 'record payload is truncated'
  const payload = buf.subarray(at + RECORD_HEADER_SIZE, end)
  if (crc32(payload, crc32(buf.subarray(at, at + 60))) !== buf.readUInt32LE(at + 60)) {
    return 'record checksum mismatch'
  }
  return {
    pblockId: Number(buf.readBigUInt64LE(at + 16)),
    codec: buf.readUInt8(at + 5),
    logicalLength: buf.readUInt32LE(at + 8),
    fingerprint: buf.subarray(at + 24, at + 24 + FINGERPRINT_SIZE),
    payload,
  }
}

/**
 * The header fields of a record, read without checking its payload.
 *
 * @example
 * ```ts
 * const header: RecordHeader | string = peekRecord(bytes, offset)
 * ```
 */
export interface RecordHeader {
  readonly pblockId: number
  readonly codec: number
  readonly logicalLength: number
  readonly storedLength: number
  readonly fingerprint: Buffer
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
export function peekRecord(buf: Buffer, at: number): RecordHeader | string {
  if (at + RECORD_HEADER_SIZE > buf.length) return 'record header is truncated'
  if (buf.readUInt32LE(at) !== RECORD_MAGIC) return 'record magic is wrong'
  if (buf.readUInt8(at + 4) !== RECORD_TYPE_BLOCK)
    return `unknown record type ${buf.readUInt8(at + 4)}`
  const storedLength = buf.readUInt32LE(at + 12)
  if (at + RECORD_HEADER_SIZE + storedLength > buf.length) return 'record payload is truncated'
  return {
    pblockId: Number(buf.readBigUInt64LE(at + 16)),
    codec: buf.readUInt8(at + 5),
    logicalLength: buf.readUInt32LE(at + 8),
    storedLength,
    fingerprint: buf.subarray(at + 24, at + 24 + FINGERPRINT_SIZE),
  }
}
