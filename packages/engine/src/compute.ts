/**
 * The CPU-heavy steps of the data path, as pure functions over shared memory so they run
 * the same on the main thread and in the compute workers (compute-worker.ts): block
 * analysis (pattern detection and SHA-256 fingerprints), chunk encoding (compression,
 * the chunk's digest, the whole record with its CRC) and verified chunk decoding for reads.
 */
import { hash } from 'node:crypto'
import { CODEC_RAW, decodePayloadWith, encodePayloadInto } from './codec.js'
import { fillPattern, patternUnit } from './pattern.js'
import { decodeRecord, RECORD_HEADER_SIZE, sealRecord } from './segment-format.js'

/** Bytes of a block. */
export const BLOCK = 4096
/** Bytes of a fingerprint (SHA-256). */
export const FP_BYTES = 32
/** Bytes of analysis per block: fingerprint, kind and pattern unit. */
export const ANALYSIS_BYTES_PER_BLOCK = FP_BYTES + 1 + 8

/**
 * How a chunk's digest (`sha` in the index) is defined. `DIGEST_CONTENT`: the SHA-256 of
 * its decoded content (chunks written by schema 2). `DIGEST_MEMBERS`: the SHA-256 of its
 * members' fingerprints back to back, each the SHA-256 of one block's bytes (its used
 * length for a partial block). The second costs a write nothing beyond the fingerprints
 * dedupe takes anyway, and binds what is stored to the fingerprints dedupe matched.
 */
export const DIGEST_CONTENT = 0
/** See {@link DIGEST_CONTENT}. */
export const DIGEST_MEMBERS = 1

/** Fingerprints of a verification, reused (a chunk has at most 32 members). */
let digestScratch = Buffer.alloc(32 * FP_BYTES)

/**
 * The {@link DIGEST_MEMBERS} digest of decoded chunk content: its 4 KiB blocks (the last
 * one possibly shorter) hashed one by one, then their fingerprints.
 *
 * @example
 * ```ts
 * membersDigest(content).equals(expectedSha)
 * ```
 */
export function membersDigest(content: Uint8Array): Buffer {
  const n = Math.ceil(content.length / BLOCK)
  if (digestScratch.length < n * FP_BYTES) digestScratch = Buffer.alloc(n * FP_BYTES)
  const bytes = plainView(content)
  for (let i = 0; i < n; i++) {
    const block = bytes.subarray(i * BLOCK, Math.min(content.length, (i + 1) * BLOCK))
    // A latin1 string rather than a Buffer: no ArrayBuffer per block (as in analyzeBlocks).
    digestScratch.write(hash('sha256', block, 'binary'), i * FP_BYTES, FP_BYTES, 'binary')
  }
  return hash('sha256', digestScratch.subarray(0, n * FP_BYTES), 'buffer')
}

/** `bytes` as a plain Uint8Array (not a Buffer), whose subarray() is cheaper. */
function plainView(bytes: Uint8Array): Uint8Array {
  return Buffer.isBuffer(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : bytes
}

/**
 * Whether decoded `content` matches the digest the index holds for its chunk.
 *
 * @example
 * ```ts
 * if (!digestMatches(content, DIGEST_MEMBERS, row.sha)) return 'content hash mismatch'
 * ```
 */
export function digestMatches(content: Uint8Array, digest: number, sha: Uint8Array): boolean {
  const actual =
    digest === DIGEST_MEMBERS ? membersDigest(content) : hash('sha256', content, 'buffer')
  return actual.equals(sha)
}

/**
 * Where one write's data and its analysis live in its slab (a SharedArrayBuffer): the data
 * (rounded up to whole blocks), then per block 32 bytes of fingerprint, 1 byte of kind
 * (0 = data, else the pattern unit length) and 8 bytes of pattern unit.
 *
 * @example
 * ```ts
 * const layout = slabLayout(8 << 20)
 * ```
 */
export interface SlabLayout {
  readonly dataLength: number
  readonly blocks: number
  readonly fpsAt: number
  readonly kindsAt: number
  readonly unitsAt: number
  readonly bytes: number
}

/**
 * The slab layout of a write of `dataLength` bytes.
 *
 * @example
 * ```ts
 * slabLayout(12).bytes // 4096 + 41
 * ```
 */
export function slabLayout(dataLength: number): SlabLayout {
  const blocks = Math.ceil(dataLength / BLOCK)
  const fpsAt = blocks * BLOCK
  const kindsAt = fpsAt + blocks * FP_BYTES
  const unitsAt = kindsAt + blocks
  return { dataLength, blocks, fpsAt, kindsAt, unitsAt, bytes: unitsAt + blocks * 8 }
}

/**
 * Analyses blocks `[first, first + count)` of the write in `slab`: the pattern unit of each
 * block (or 0 for data) and the SHA-256 of each data block, written into the slab.
 *
 * @example
 * ```ts
 * analyzeBlocks(slab, slabLayout(data.length), 0, blocks)
 * ```
 */
export function analyzeBlocks(
  slab: Uint8Array,
  layout: SlabLayout,
  first: number,
  count: number,
): void {
  const buf = Buffer.from(slab.buffer, slab.byteOffset, slab.byteLength)
  // Views of the blocks from a plain Uint8Array: a Buffer's subarray() costs about 0.3 us
  // more per call, a tenth of hashing 4 KiB.
  const bytes = plainView(slab)
  for (let b = first; b < first + count; b++) {
    const at = b * BLOCK
    const len = Math.min(BLOCK, layout.dataLength - at)
    const unit = patternUnit(buf, at, len, buf, layout.unitsAt + b * 8)
    buf[layout.kindsAt + b] = unit
    // A latin1 string rather than a Buffer: no ArrayBuffer per block for the GC to sweep.
    if (unit === 0)
      buf.write(
        hash('sha256', bytes.subarray(at, at + len), 'binary'),
        layout.fpsAt + b * FP_BYTES,
        FP_BYTES,
        'binary',
      )
  }
}

/**
 * One chunk to encode: consecutive new block ids `[id, id + members.length)` whose bytes
 * are the blocks at `members` (block indexes in the write), the last one `lastLength` long.
 *
 * @example
 * ```ts
 * const job: ChunkJob = { id: 7, codec: CODEC_LZ4, members: [0, 1, 3], lastLength: 4096, outAt: 0 }
 * ```
 */
export interface ChunkJob {
  readonly id: number
  readonly codec: number
  readonly members: readonly number[]
  readonly lastLength: number
  /** Where the record goes in the output; room for the raw size is reserved. */
  readonly outAt: number
}

/**
 * Bytes reserved for a chunk's record: header plus raw content (the worst case, stored raw).
 *
 * @example
 * ```ts
 * maxRecordBytes(2, 4096) // 32 + 8192
 * ```
 */
export function maxRecordBytes(members: number, lastLength: number): number {
  return RECORD_HEADER_SIZE + (members - 1) * BLOCK + lastLength
}

/**
 * Where {@link encodeChunks} gathers the members of a chunk that are not consecutive (a chunk
 * has at most 32), reused: one per thread, and encoding never yields mid-chunk.
 */
const gatherScratch = new Uint8Array(32 * BLOCK)
const fpGatherScratch = new Uint8Array(32 * FP_BYTES)

/** Per encoded chunk: record length, codec, raw length. */
export const ENCODED_FIELDS = 3

/**
 * Encodes chunks of a write: gathers each chunk's members, takes its digest
 * ({@link DIGEST_MEMBERS}: over the members' fingerprints, at `fpsAt` of `data` as
 * {@link analyzeBlocks} left them; kept in the index for the end-to-end check of reads),
 * compresses it if that pays and writes the whole record, CRC included, to `out` at its
 * `outAt`. Returns per chunk (record length, codec, raw length) and the digests.
 *
 * @example
 * ```ts
 * const { meta, hashes } = encodeChunks(slab, layout.fpsAt, out, jobs)
 * ```
 */
export function encodeChunks(
  data: Uint8Array,
  fpsAt: number,
  out: Uint8Array,
  jobs: readonly ChunkJob[],
): { meta: Float64Array; hashes: Uint8Array } {
  const meta = new Float64Array(jobs.length * ENCODED_FIELDS)
  const hashes = new Uint8Array(jobs.length * FP_BYTES)
  for (const [j, job] of jobs.entries()) {
    const n = job.members.length
    const rawLength = (n - 1) * BLOCK + job.lastLength
    let content: Uint8Array
    let fps: Uint8Array
    const first = job.members[0]!
    if (job.members[n - 1]! - first === n - 1) {
      // Consecutive blocks (the usual case): no gathering copy.
      content = data.subarray(first * BLOCK, first * BLOCK + rawLength)
      fps = data.subarray(fpsAt + first * FP_BYTES, fpsAt + (first + n) * FP_BYTES)
    } else {
      const scratch = gatherScratch
      const fpScratch = fpGatherScratch
      for (const [i, b] of job.members.entries()) {
        const len = i === n - 1 ? job.lastLength : BLOCK
        scratch.set(data.subarray(b * BLOCK, b * BLOCK + len), i * BLOCK)
        fpScratch.set(data.subarray(fpsAt + b * FP_BYTES, fpsAt + (b + 1) * FP_BYTES), i * FP_BYTES)
      }
      content = scratch.subarray(0, rawLength)
      fps = fpScratch.subarray(0, n * FP_BYTES)
    }
    hashes.set(hash('sha256', fps, 'buffer'), j * FP_BYTES)
    const payloadAt = job.outAt + RECORD_HEADER_SIZE
    let stored = encodePayloadInto(content, job.codec, out, payloadAt)
    const codec = stored === undefined ? CODEC_RAW : job.codec
    if (stored === undefined) {
      out.set(content, payloadAt)
      stored = content.length
    }
    const end = sealRecord(out, job.outAt, {
      chunkId: job.id,
      codec,
      span: n,
      mask: fullMask(n),
      rawLength,
      storedLength: stored,
    })
    meta[j * ENCODED_FIELDS] = end - job.outAt
    meta[j * ENCODED_FIELDS + 1] = codec
    meta[j * ENCODED_FIELDS + 2] = rawLength
  }
  return { meta, hashes }
}

/**
 * The mask of a chunk whose `span` members are all present.
 *
 * @example
 * ```ts
 * fullMask(3) // 0b111
 * ```
 */
export function fullMask(span: number): number {
  return span >= 32 ? 0xffffffff : (1 << span) - 1
}

/**
 * Members present in a mask.
 *
 * @example
 * ```ts
 * popcount(0b1011) // 3
 * ```
 */
export function popcount(mask: number): number {
  let m = mask >>> 0
  let n = 0
  while (m !== 0) {
    m &= m - 1
    n++
  }
  return n
}

/**
 * Offset of member `slot` in a chunk's decoded content (members are back to back).
 *
 * @example
 * ```ts
 * memberOffset(0b1101, 3) // 2 * 4096
 * ```
 */
export function memberOffset(mask: number, slot: number): number {
  return popcount((mask >>> 0) & (slot >= 32 ? 0xffffffff : (1 << slot) - 1)) * BLOCK
}

/**
 * What the index says a chunk record holds: checked against the record before its bytes
 * are used.
 *
 * @example
 * ```ts
 * const expected: ChunkExpectation = { id: 9, span: 8, mask: 255, codec: 1, rawLength: 32768, recordLength: 9000, digest: DIGEST_MEMBERS, sha }
 * ```
 */
export interface ChunkExpectation {
  readonly id: number
  readonly span: number
  readonly mask: number
  readonly codec: number
  readonly rawLength: number
  readonly recordLength: number
  /** How `sha` is defined: {@link DIGEST_CONTENT} or {@link DIGEST_MEMBERS}. */
  readonly digest: number
  /** The chunk's digest, from the index. */
  readonly sha: Uint8Array
}

/**
 * Decodes and verifies the chunk record at `at` of `bytes` against the index: CRC, header
 * fields, decoding, and the digest of the content; then hands the content to `use` (a
 * view valid only during `use`). The bulk read path skips the CRC: the content hash
 * catches whatever it would. Returns what `use` returns, or the reason the chunk is
 * corrupt: never bad bytes.
 *
 * @example
 * ```ts
 * const result = withVerifiedChunk(expected, bytes, 0, (content) => out.set(content))
 * if (typeof result === 'string') throw corruption(result)
 * ```
 */
export function withVerifiedChunk<T>(
  expected: ChunkExpectation,
  bytes: Uint8Array,
  at: number,
  use: (content: Uint8Array) => T,
  checkCrc = true,
): T | string {
  const record = decodeRecord(bytes, at, checkCrc)
  if (typeof record === 'string') return record
  if (record.chunkId !== expected.id) return `record holds chunk ${record.chunkId}`
  if (
    record.codec !== expected.codec ||
    record.span !== expected.span ||
    record.mask >>> 0 !== expected.mask >>> 0 ||
    record.rawLength !== expected.rawLength ||
    RECORD_HEADER_SIZE + record.storedLength !== expected.recordLength
  ) {
    return 'record header does not match the index'
  }
  let verified = false
  try {
    return decodePayloadWith(record.codec, record.payload, record.rawLength, (content) => {
      // The end-to-end check: the digest in the index, not anything in the record, so a
      // record that is intact but misplaced is caught too.
      if (!digestMatches(content, expected.digest, expected.sha)) return 'content hash mismatch'
      verified = true
      return use(content)
    })
  } catch (error) {
    if (verified) throw error
    return error instanceof Error ? error.message : 'payload does not decode'
  }
}

/**
 * {@link withVerifiedChunk} returning a copy of the content (or a view of `bytes` for a raw
 * chunk).
 *
 * @example
 * ```ts
 * const content = verifyChunk(expected, bytes, 0)
 * ```
 */
export function verifyChunk(
  expected: ChunkExpectation,
  bytes: Uint8Array,
  at: number,
): Uint8Array | string {
  // A real copy: `content` is valid only during the callback (a zlib output is freed after
  // it, LZ4's is wasm memory), and a Buffer's `slice()` would be a view.
  return withVerifiedChunk(expected, bytes, at, (content) =>
    content.buffer === bytes.buffer ? content : new Uint8Array(content),
  )
}

/** Fields of one read piece: out offset, kind, a, b, c, length. */
export const PIECE_FIELDS = 6
/** Piece kind: bytes of a decoded chunk (a = chunk index, b = offset in its content). */
export const PIECE_CHUNK = 0
/** Piece kind: a pattern (a = unit index, b = unit length, c = phase in the block). */
export const PIECE_PATTERN = 1

/**
 * Fields per chunk of a read job: id, span, mask, codec, raw length, record length, at,
 * digest kind.
 */
export const READ_CHUNK_FIELDS = 8

/**
 * A read for a compute worker: the records it needs (read from the medium into `records`),
 * what the index expects of each (`chunks`: {@link READ_CHUNK_FIELDS} numbers per chunk,
 * `at` being the record's offset in `records`, and 32 bytes of digest each in
 * `hashes`), and where each piece of the output comes from. Flat typed arrays: a message
 * copies them in one piece.
 *
 * @example
 * ```ts
 * const job: ReadJob = { records, chunks, hashes, pieces, units, output: new ArrayBuffer(length) }
 * ```
 */
export interface ReadJob {
  readonly records: Uint8Array
  readonly chunks: Float64Array
  readonly hashes: Uint8Array
  readonly pieces: Float64Array
  readonly units: Uint8Array
  /**
   * The output, not necessarily zeroed: an ArrayBuffer allocated by the reader's thread and
   * transferred there and back (memory freed later returns to that thread's allocator arena
   * instead of piling up in the workers'), or a view of shared memory written in place.
   * Pieces are in output order; gaps are zero-filled.
   */
  readonly output: ArrayBuffer | Uint8Array
}

/**
 * Runs a read job: verifies and decodes each chunk, then fills the output. Unlisted output
 * bytes are zero. Returns the output, or the first corrupt chunk and why.
 *
 * @example
 * ```ts
 * const result = runRead(job)
 * ```
 */
export function runRead(
  job: ReadJob,
): ArrayBuffer | Uint8Array | { chunk: number; reason: string } {
  const out = job.output instanceof Uint8Array ? job.output : new Uint8Array(job.output)
  const p = job.pieces
  // The output is not zero-filled when allocated: zero what no piece covers.
  let end = 0
  for (let i = 0; i < p.length; i += PIECE_FIELDS) {
    if (p[i]! > end) out.fill(0, end, p[i]!)
    end = p[i]! + p[i + 5]!
  }
  out.fill(0, end)
  // The pieces of each chunk, so each chunk is decoded once and used while it is decoded.
  const byChunk: number[][] = []
  for (let i = 0; i < p.length; i += PIECE_FIELDS) {
    if (p[i + 1] === PIECE_CHUNK) {
      const list = byChunk[p[i + 2]!]
      if (list) list.push(i)
      else byChunk[p[i + 2]!] = [i]
    } else {
      const at = p[i]!
      fillPatternAt(
        out.subarray(at, at + p[i + 5]!),
        job.units,
        p[i + 2]! * 8,
        p[i + 3]!,
        p[i + 4]!,
      )
    }
  }
  const c = job.chunks
  const hashes = Buffer.from(job.hashes.buffer, job.hashes.byteOffset, job.hashes.byteLength)
  for (let k = 0; k * READ_CHUNK_FIELDS < c.length; k++) {
    const f = k * READ_CHUNK_FIELDS
    const expected: ChunkExpectation = {
      id: c[f]!,
      span: c[f + 1]!,
      mask: c[f + 2]!,
      codec: c[f + 3]!,
      rawLength: c[f + 4]!,
      recordLength: c[f + 5]!,
      digest: c[f + 7]!,
      sha: hashes.subarray(k * FP_BYTES, (k + 1) * FP_BYTES),
    }
    const result = withVerifiedChunk(
      expected,
      job.records,
      c[f + 6]!,
      (content) => {
        for (const i of byChunk[k] ?? []) {
          const src = p[i + 3]!
          out.set(content.subarray(src, src + p[i + 5]!), p[i]!)
        }
        return true
      },
      false,
    )
    if (typeof result === 'string') return { chunk: k, reason: result }
  }
  return job.output
}

/**
 * Fills `out` with a pattern starting `phase` bytes into its block.
 *
 * @example
 * ```ts
 * fillPatternAt(out, units, 0, 2, 1) // starts with the unit's second byte
 * ```
 */
export function fillPatternAt(
  out: Uint8Array,
  units: Uint8Array,
  unitAt: number,
  unitLength: number,
  phase: number,
): void {
  const rotated = new Uint8Array(unitLength)
  for (let k = 0; k < unitLength; k++) rotated[k] = units[unitAt + ((phase + k) % unitLength)]!
  fillPattern(out, rotated)
}
