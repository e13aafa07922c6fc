import { BLOCK_SIZE } from '@pstorage/core'
import { type BlockLocation, readBlock, readBlocks } from './block-reader.js'
import type { EngineContext } from './context.js'
import type { EntryRow, LocatedEntryRow } from './map-index.js'
import { fillPattern } from './pattern.js'

/** Blocks looked up and read per step, bounding the rows and pins held at once. */
const WINDOW = 256

/**
 * The location of an entry that references a physical block.
 *
 * @example
 * ```ts
 * const location = locationOf(row) // undefined for a pattern entry
 * ```
 */
export function locationOf(row: LocatedEntryRow): BlockLocation | undefined {
  if (row.pblock === null || row.segment === null || row.fingerprint === null) return undefined
  return {
    id: row.pblock,
    segment: row.segment,
    offset: row.offset ?? 0,
    record_len: row.record_len ?? 0,
    logical_len: row.logical_len ?? 0,
    codec: row.codec ?? 0,
    fingerprint: row.fingerprint,
  }
}

/**
 * Reads bytes `[offset, end)` of a block map: never-written blocks are zeros, patterns are
 * materialised, stored blocks are read, decompressed and verified.
 *
 * @example
 * ```ts
 * const bytes = await readRange(ctx, volume.id, 0, 12)
 * ```
 */
export async function readRange(
  ctx: EngineContext,
  mapId: number,
  offset: number,
  end: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(Math.max(0, end - offset))
  if (end <= offset) return out
  const last = Math.ceil(end / BLOCK_SIZE)
  for (let from = Math.floor(offset / BLOCK_SIZE); from < last; from += WINDOW) {
    const rows = ctx.maps.range(mapId, from, Math.min(last, from + WINDOW))
    const locations = rows.map(locationOf)
    // Pin in the same synchronous step as the lookup: GC cannot erase in between.
    for (const location of locations) if (location) ctx.files.pin(location.segment)
    try {
      const blocks = await readBlocks(
        ctx,
        locations.filter((l) => l !== undefined),
      )
      for (const [i, row] of rows.entries()) {
        const start = row.idx * BLOCK_SIZE
        const lo = Math.max(offset, start)
        const hi = Math.min(end, start + row.len)
        if (hi <= lo) continue
        const id = locations[i]?.id
        const block =
          id === undefined
            ? fillPattern(new Uint8Array(row.len), row.pattern ?? new Uint8Array(1))
            : blocks.get(id)!
        out.set(block.subarray(lo - start, hi - start), lo - offset)
      }
    } finally {
      for (const location of locations) if (location) ctx.files.unpin(location.segment)
    }
  }
  return out
}

/**
 * The current bytes of one block-map entry (the old content a partial write merges with).
 *
 * @example
 * ```ts
 * const old = await entryContent(ctx, entry)
 * ```
 */
export async function entryContent(ctx: EngineContext, entry: EntryRow): Promise<Uint8Array> {
  if (entry.pblock === null)
    return fillPattern(new Uint8Array(entry.len), entry.pattern ?? new Uint8Array(1))
  const row = ctx.blocks.get(entry.pblock)
  if (!row) throw new Error(`block map references missing block ${entry.pblock}`)
  ctx.files.pin(row.segment)
  try {
    return await readBlock(ctx, row)
  } finally {
    ctx.files.unpin(row.segment)
  }
}
