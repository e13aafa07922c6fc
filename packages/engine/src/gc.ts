import type { ChunkRow } from './block-index.js'
import { expectation } from './chunk-reader.js'
import { CODEC_RAW, encodePayload } from './codec.js'
import { BLOCK, DIGEST_MEMBERS, memberOffset, membersDigest, verifyChunk } from './compute.js'
import { commit, type EngineContext } from './context.js'
import type { Counters } from './counters.js'
import { liveShare } from './reap.js'
import {
  encodeRecordInto,
  encodeSegmentHeader,
  RECORD_HEADER_SIZE,
  SEGMENT_HEADER_SIZE,
} from './segment-format.js'
import type { SegmentRow } from './segment-table.js'
import { appendRecords, commitAppend, type RecordSpec, segmentsNeeded } from './segment-writer.js'

/**
 * Why a segment is being emptied: reclaiming dead space, or freeing cold, little-worn flash.
 *
 * @example
 * ```ts
 * await relocateSegment(ctx, victim, 'gc' satisfies RelocationReason, true)
 * ```
 */
export type RelocationReason = 'gc' | 'wear-leveling'

/**
 * The cost-benefit score of LFS (Rosenblum & Ousterhout, 1992): the free space a victim
 * yields, `1 - u`, weighted by the age of its data, over the cost of reading the whole
 * segment and writing back its live part, `1 + u`. Old, mostly dead segments go first;
 * young ones get time for more of their data to die.
 *
 * @example
 * ```ts
 * costBenefit(0.25, 60_000) // > costBenefit(0.25, 1_000)
 * ```
 */
export function costBenefit(utilization: number, ageMs: number): number {
  return ((1 - utilization) * (ageMs + 1)) / (1 + utilization)
}

/**
 * Fraction of a segment's written bytes that are still live.
 *
 * @example
 * ```ts
 * utilization(segment) // 0.25: a quarter of its written bytes are live
 * ```
 */
export function utilization(segment: SegmentRow): number {
  const written = segment.write_offset - SEGMENT_HEADER_SIZE
  return written <= 0 ? 0 : segment.live_bytes / written
}

/**
 * Picks the GC victim with the best cost-benefit score among sealed segments with dead
 * records whose dead fraction is at least `minDeadFraction`.
 *
 * @example
 * ```ts
 * const victim = pickVictim(ctx, 0.1)
 * ```
 */
export function pickVictim(ctx: EngineContext, minDeadFraction: number): SegmentRow | undefined {
  const now = ctx.options.clock.now().getTime()
  let best: SegmentRow | undefined
  let bestScore = -1
  for (const segment of ctx.segments.withDeadRecords()) {
    const u = utilization(segment)
    if (1 - u < minDeadFraction) continue
    const score = costBenefit(u, Math.max(0, now - (segment.sealed_at ?? now)))
    if (score > bestScore) {
      best = segment
      bestScore = score
    }
  }
  return best
}

/**
 * The records a segment's chunks become when moved: a chunk whose present members all live
 * is copied verbatim; one with dead members is compacted (decoded, verified, its live
 * members re-encoded with the same codec), so GC reclaims dead members too. A chunk that
 * fails verification is copied verbatim: it stays reported by scrub and reads.
 */
function relocationRecords(
  ctx: EngineContext,
  chunks: readonly ChunkRow[],
  bytes: Buffer,
): {
  row: ChunkRow
  spec: RecordSpec
  to: Omit<ChunkRow, 'id' | 'span' | 'live' | 'segment' | 'offset'>
}[] {
  return chunks.map((row) => {
    const record = bytes.subarray(row.offset, row.offset + row.record_len)
    const verbatim = {
      row,
      spec: {
        bytes: record,
        blocks: row.present,
        liveBlocks: row.live,
        liveBytes: liveShare(row.record_len, row.live, row.present),
      },
      to: row,
    }
    if (row.live >= row.present) return verbatim
    const content = verifyChunk(expectation(row), bytes, row.offset)
    if (typeof content === 'string') return verbatim
    const slots = ctx.blocks.inRange(row.id, row.id + row.span - 1).map((b) => b.slot)
    let mask = 0
    const kept = new Uint8Array(slots.length * BLOCK)
    for (const [i, slot] of slots.entries()) {
      mask |= 1 << slot
      const at = memberOffset(row.mask, slot)
      kept.set(content.subarray(at, at + BLOCK), i * BLOCK)
    }
    mask >>>= 0
    const packed = encodePayload(kept, row.codec)
    const payload = packed ?? kept
    const codec = packed ? row.codec : CODEC_RAW
    const out = new Uint8Array(RECORD_HEADER_SIZE + payload.length)
    encodeRecordInto(out, 0, {
      chunkId: row.id,
      codec,
      span: row.span,
      mask,
      rawLength: kept.length,
      storedLength: payload.length,
      payload,
    })
    return {
      row,
      spec: { bytes: out, blocks: slots.length, liveBlocks: slots.length, liveBytes: out.length },
      to: {
        mask,
        present: slots.length,
        record_len: out.length,
        codec,
        raw_len: kept.length,
        digest: DIGEST_MEMBERS,
        sha: membersDigest(kept),
      },
    }
  })
}

/**
 * Empties a sealed segment: moves its live chunks (compacting those with dead members) to
 * the relocation stream, fsyncs them, repoints the index, marks the segment free with its
 * erase count + 1 in one transaction, then erases the file. A crash before the commit
 * leaves the old locations valid (the copies are a torn tail); after it, the segment is
 * free and is erased again when allocated. Returns false when there is no room to
 * relocate into.
 *
 * @example
 * ```ts
 * await relocateSegment(ctx, victim, 'gc', true)
 * ```
 */
export async function relocateSegment(
  ctx: EngineContext,
  victim: SegmentRow,
  reason: RelocationReason,
  firstOfRun: boolean,
): Promise<boolean> {
  const chunks = ctx.chunks.inSegment(victim.id)
  const bytes =
    chunks.length > 0 ? await ctx.files.read(victim.id, 0, victim.write_offset) : Buffer.alloc(0)
  const moves = relocationRecords(ctx, chunks, bytes)
  const relocation = ctx.segments.open('relocation')[0]
  const cursor = {
    remaining: relocation ? ctx.geometry.segmentSize - relocation.write_offset : 0,
    fresh: 0,
  }
  const need = segmentsNeeded(
    cursor,
    moves.map((m) => m.spec.bytes.length),
    ctx.geometry.segmentSize,
  )
  if (need.fresh > ctx.segments.counts().free) return false
  const append = await appendRecords(
    ctx,
    'relocation',
    moves.map((m) => m.spec),
  )
  const moved = moves.reduce((n, m) => n + m.spec.bytes.length, 0)
  const movedBlocks = moves.reduce((n, m) => n + m.spec.liveBlocks, 0)
  const reclaimed = victim.blocks - moves.reduce((n, m) => n + m.spec.blocks, 0)
  const eraseCount = victim.erase_count + 1
  const delta: Partial<Counters> =
    reason === 'gc'
      ? {
          gc_runs: firstOfRun ? 1 : 0,
          gc_blocks_moved: movedBlocks,
          gc_blocks_reclaimed: reclaimed,
          gc_segments_erased: 1,
          gc_medium_bytes: moved,
        }
      : {
          wl_blocks_moved: movedBlocks,
          wl_segments_erased: 1,
          wl_medium_bytes: moved,
          gc_blocks_reclaimed: reclaimed,
        }
  commit(ctx, () => {
    for (const [i, move] of moves.entries()) {
      const place = append.placements[i]!
      ctx.chunks.relocate(move.row.id, { ...move.to, segment: place.segment, offset: place.offset })
      if (move.to !== move.row) ctx.cache.delete(move.row.id)
    }
    commitAppend(ctx, append)
    ctx.segments.update(victim.id, {
      state: 'free',
      role: null,
      erase_count: eraseCount,
      write_offset: SEGMENT_HEADER_SIZE,
      live_bytes: 0,
      live_records: 0,
      records: 0,
      live_blocks: 0,
      blocks: 0,
      sealed_at: null,
    })
    ctx.counters.add(delta)
  })
  // The erase proper; waits for readers that still hold the old locations.
  const header = encodeSegmentHeader({
    segmentId: victim.id,
    segmentSize: ctx.geometry.segmentSize,
    eraseCount,
    generation: victim.generation,
    erasedAt: ctx.options.clock.now().getTime(),
  })
  await ctx.files.erase(victim.id, header).catch(() => undefined)
  return true
}

/**
 * Static wear leveling: when the erase-count spread exceeds the threshold and the least
 * worn segment holds (cold) data, that data moves to the most worn free segment and the
 * little-worn segment returns to the pool, where allocation takes it first.
 *
 * @example
 * ```ts
 * while (await wearLevelStep(ctx)) {}
 * ```
 */
export async function wearLevelStep(ctx: EngineContext): Promise<boolean> {
  const wear = ctx.segments.wear()
  if (wear.max - wear.min <= ctx.options.wearLevelingThreshold) return false
  const coldest = ctx.segments.leastWornSealed()
  // The least worn segment is free or open: allocation levels it without moving data.
  if (!coldest || coldest.erase_count > wear.min) return false
  return relocateSegment(ctx, coldest, 'wear-leveling', false)
}

/**
 * Whether background GC should run: free segments under the watermark.
 *
 * @example
 * ```ts
 * if (needsGc(ctx)) await relocateSegment(ctx, pickVictim(ctx, 0.05)!, 'gc', true)
 * ```
 */
export function needsGc(ctx: EngineContext): boolean {
  const { free, n } = ctx.segments.counts()
  return free < Math.max(3, Math.ceil(n * ctx.options.gcFreeWatermark))
}
