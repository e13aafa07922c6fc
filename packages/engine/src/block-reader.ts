import { PStorageError } from '@pstorage/core'
import { decodeBlock } from './codec.js'
import type { EngineContext } from './context.js'
import { fingerprint } from './fingerprint.js'
import { decodeRecord } from './segment-format.js'

/**
 * Where a physical block's record is, and what it must decode to.
 *
 * @example
 * ```ts
 * const location: BlockLocation = ctx.blocks.get(id)!
 * ```
 */
export interface BlockLocation {
  readonly id: number
  readonly segment: number
  readonly offset: number
  readonly record_len: number
  readonly logical_len: number
  readonly codec: number
  readonly fingerprint: Buffer
}

/**
 * Verifies a record read from the medium against the index and returns the block's bytes.
 * Any mismatch (checksum, id, codec, length, fingerprint) yields the reason, never bytes.
 *
 * @example
 * ```ts
 * const result = verifyRecord(location, await files.read(location.segment, location.offset, location.record_len))
 * ```
 */
export function verifyRecord(location: BlockLocation, bytes: Buffer, at = 0): Uint8Array | string {
  const record = decodeRecord(bytes, at)
  if (typeof record === 'string') return record
  if (record.pblockId !== location.id) return `record holds block ${record.pblockId}`
  if (record.codec !== location.codec || record.logicalLength !== location.logical_len) {
    return 'record header does not match the index'
  }
  let block: Uint8Array
  try {
    block = decodeBlock(record.codec, record.payload, record.logicalLength)
  } catch (error) {
    return error instanceof Error ? error.message : 'payload does not decode'
  }
  // The end-to-end check (ARCHITECTURE.md step 3): the fingerprint of the index, not the
  // one in the record, so a record that is intact but misplaced is caught too.
  if (!fingerprint(block).equals(location.fingerprint)) return 'fingerprint mismatch'
  return block
}

/**
 * The `data_corruption` error of a block that failed verification.
 *
 * @example
 * ```ts
 * throw corruption(location, 'record checksum mismatch')
 * ```
 */
export function corruption(location: BlockLocation, reason: string): PStorageError {
  return new PStorageError(
    'data_corruption',
    `Block ${location.id} (segment ${location.segment}, offset ${location.offset}) is corrupt: ${reason}`,
    { details: { pblock: location.id, segment: location.segment, offset: location.offset } },
  )
}

/**
 * Reads, verifies and caches one physical block. The caller has pinned its segment
 * synchronously after looking the location up, so GC cannot erase it meanwhile. The
 * returned bytes may be shared with the cache: copy, never mutate.
 *
 * @example
 * ```ts
 * ctx.files.pin(location.segment)
 * try { bytes = await readBlock(ctx, location) } finally { ctx.files.unpin(location.segment) }
 * ```
 */
export async function readBlock(ctx: EngineContext, location: BlockLocation): Promise<Uint8Array> {
  const cached = ctx.cache.get(location.id)
  if (cached) return cached
  let bytes: Buffer
  try {
    bytes = await ctx.files.read(location.segment, location.offset, location.record_len)
  } catch (cause) {
    throw new PStorageError(
      'service_unavailable',
      `[pstorage] [engine] cannot read segment ${location.segment}`,
      { cause },
    )
  }
  const block = verifyRecord(location, bytes)
  if (typeof block === 'string') throw corruption(location, block)
  ctx.cache.set(location.id, block)
  return block
}

/** Largest single read when coalescing neighbouring records. */
const MAX_RUN_BYTES = 1024 * 1024

/**
 * Reads, verifies and caches many physical blocks at once: cache misses are grouped by
 * segment and records that sit back to back (a sequentially written range) are read with
 * one I/O. The caller has pinned their segments. Fails on the first corrupt block.
 *
 * @example
 * ```ts
 * const blocks = await readBlocks(ctx, locations) // Map of block id → bytes
 * ```
 */
export async function readBlocks(
  ctx: EngineContext,
  locations: readonly BlockLocation[],
): Promise<Map<number, Uint8Array>> {
  const found = new Map<number, Uint8Array>()
  const misses = new Map<number, BlockLocation>()
  for (const location of locations) {
    if (found.has(location.id) || misses.has(location.id)) continue
    const cached = ctx.cache.get(location.id)
    if (cached) found.set(location.id, cached)
    else misses.set(location.id, location)
  }
  const sorted = [...misses.values()].sort((a, b) => a.segment - b.segment || a.offset - b.offset)
  const runs: BlockLocation[][] = []
  for (const location of sorted) {
    const run = runs.at(-1)
    const tail = run?.at(-1)
    if (
      run &&
      tail &&
      tail.segment === location.segment &&
      tail.offset + tail.record_len === location.offset &&
      location.offset + location.record_len - run[0]!.offset <= MAX_RUN_BYTES
    ) {
      run.push(location)
    } else runs.push([location])
  }
  await Promise.all(
    runs.map(async (run) => {
      const first = run[0]!
      const last = run.at(-1)!
      let bytes: Buffer
      try {
        bytes = await ctx.files.read(
          first.segment,
          first.offset,
          last.offset + last.record_len - first.offset,
        )
      } catch (cause) {
        throw new PStorageError(
          'service_unavailable',
          `[pstorage] [engine] cannot read segment ${first.segment}`,
          { cause },
        )
      }
      for (const location of run) {
        const block = verifyRecord(location, bytes, location.offset - first.offset)
        if (typeof block === 'string') throw corruption(location, block)
        ctx.cache.set(location.id, block)
        found.set(location.id, block)
      }
    }),
  )
  return found
}
