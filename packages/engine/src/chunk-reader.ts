import { PStorageError } from '@pstorage/core'
import type { ChunkRow, ReadChunkRow } from './block-index.js'
import type { CachedChunk } from './chunk-cache.js'
import { type ChunkExpectation, verifyChunk } from './compute.js'
import type { EngineContext } from './context.js'

/**
 * What the index says a chunk's record holds, in the shape the verifier checks.
 *
 * @example
 * ```ts
 * const content = verifyChunk(expectation(row), bytes, 0)
 * ```
 */
export function expectation(row: ChunkRow | ReadChunkRow): ChunkExpectation {
  return {
    id: row.id,
    span: row.span,
    mask: row.mask,
    codec: row.codec,
    rawLength: row.raw_len,
    recordLength: row.record_len,
    digest: row.digest,
    sha: 'sha' in row ? row.sha : Buffer.from(row.sha_hex, 'hex'),
  }
}

/** A chunk row as the chunk reader needs it (with or without its hash as a Buffer). */
export type AnyChunkRow = ChunkRow | ReadChunkRow

/**
 * The `data_corruption` error of a chunk that failed verification.
 *
 * @example
 * ```ts
 * throw corruption(row, 'record checksum mismatch')
 * ```
 */
export function corruption(
  row: Pick<AnyChunkRow, 'id' | 'span' | 'segment' | 'offset'>,
  reason: string,
): PStorageError {
  const blocks = row.span === 1 ? `Block ${row.id}` : `Blocks ${row.id}-${row.id + row.span - 1}`
  return new PStorageError(
    'data_corruption',
    `${blocks} (segment ${row.segment}, offset ${row.offset}) are corrupt: ${reason}`,
    { details: { pblock: row.id, span: row.span, segment: row.segment, offset: row.offset } },
  )
}

/** Largest single read when coalescing neighbouring records. */
const MAX_RUN_BYTES = 4 * 1024 * 1024

/**
 * Chunks in record order, grouped into runs of records that sit back to back in one
 * segment (a sequentially written range), each read with one I/O.
 *
 * @example
 * ```ts
 * for (const run of recordRuns(rows)) await ctx.files.read(run[0].segment, run[0].offset, runBytes(run))
 * ```
 */
export function recordRuns<R extends AnyChunkRow>(rows: readonly R[]): R[][] {
  const sorted = [...rows].sort((a, b) => a.segment - b.segment || a.offset - b.offset)
  const runs: R[][] = []
  for (const row of sorted) {
    const run = runs.at(-1)
    const tail = run?.at(-1)
    if (
      run &&
      tail &&
      tail.segment === row.segment &&
      tail.offset + tail.record_len === row.offset &&
      row.offset + row.record_len - run[0]!.offset <= MAX_RUN_BYTES
    ) {
      run.push(row)
    } else runs.push([row])
  }
  return runs
}

/**
 * Bytes from the first record of a run to the end of its last.
 *
 * @example
 * ```ts
 * runBytes(run) // one read's length
 * ```
 */
export function runBytes(run: readonly AnyChunkRow[]): number {
  const last = run.at(-1)!
  return last.offset + last.record_len - run[0]!.offset
}

function unavailable(segment: number, cause: unknown): PStorageError {
  return new PStorageError(
    'service_unavailable',
    `[pstorage] [engine] cannot read segment ${segment}`,
    { cause },
  )
}

/**
 * Reads, verifies, decodes and caches chunks on the calling thread (small reads, partial
 * block merges, GC). The caller has pinned their segments. Fails on the first corrupt one.
 *
 * @example
 * ```ts
 * const decoded = await readChunks(ctx, rows) // Map of chunk id → content
 * ```
 */
export async function readChunks(
  ctx: EngineContext,
  rows: readonly AnyChunkRow[],
  useCache = true,
): Promise<Map<number, CachedChunk>> {
  const found = new Map<number, CachedChunk>()
  const misses = new Map<number, AnyChunkRow>()
  for (const row of rows) {
    if (found.has(row.id) || misses.has(row.id)) continue
    const cached = useCache ? ctx.cache.get(row.id) : undefined
    // A chunk compacted since it was cached holds its members at other offsets.
    if (cached && cached.mask >>> 0 === row.mask >>> 0) found.set(row.id, cached)
    else misses.set(row.id, row)
  }
  await Promise.all(
    recordRuns([...misses.values()]).map(async (run) => {
      const first = run[0]!
      let bytes: Buffer
      try {
        bytes = await ctx.files.read(first.segment, first.offset, runBytes(run))
      } catch (cause) {
        throw unavailable(first.segment, cause)
      }
      for (const row of run) {
        let content = verifyChunk(expectation(row), bytes, row.offset - first.offset)
        if (typeof content === 'string') throw corruption(row, content)
        // A raw chunk is a view of the run's buffer: copy it so the cache holds only it (a
        // Buffer's `slice()` would be another view, pinning the whole run).
        if (content.buffer === bytes.buffer) content = new Uint8Array(content)
        const entry = { mask: row.mask, content }
        if (useCache) ctx.cache.set(row.id, entry)
        found.set(row.id, entry)
      }
    }),
  )
  return found
}
