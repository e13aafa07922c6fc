import { commit, type EngineContext } from './context.js'
import type { Counters } from './counters.js'
import { encodeSegmentHeader, SEGMENT_HEADER_SIZE } from './segment-format.js'
import type { SegmentRow } from './segment-table.js'
import { appendRecords, commitAppend, segmentsNeeded } from './segment-writer.js'

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
 * Empties a sealed segment: copies its live records verbatim to the relocation stream,
 * fsyncs them, repoints the index, marks the segment free with its erase count + 1 in one
 * transaction, then erases the file. A crash before the commit leaves the old locations
 * valid (the copies are a torn tail); after it, the segment is free and is erased again
 * when allocated. Returns false when there is no room to relocate into.
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
  const live = ctx.blocks.inSegment(victim.id)
  const relocation = ctx.segments.open('relocation')[0]
  const cursor = {
    remaining: relocation ? ctx.geometry.segmentSize - relocation.write_offset : 0,
    fresh: 0,
  }
  const need = segmentsNeeded(
    cursor,
    live.map((b) => b.record_len),
    ctx.geometry.segmentSize,
  )
  if (need.fresh > ctx.segments.counts().free) return false
  const bytes =
    live.length > 0 ? await ctx.files.read(victim.id, 0, victim.write_offset) : Buffer.alloc(0)
  const append = await appendRecords(
    ctx,
    'relocation',
    live.map((b) => ({
      size: b.record_len,
      encode: (out: Buffer, at: number) =>
        void bytes.copy(out, at, b.offset, b.offset + b.record_len),
    })),
  )
  const moved = live.reduce((n, b) => n + b.record_len, 0)
  const eraseCount = victim.erase_count + 1
  const delta: Partial<Counters> =
    reason === 'gc'
      ? {
          gc_runs: firstOfRun ? 1 : 0,
          gc_blocks_moved: live.length,
          gc_blocks_reclaimed: victim.records - victim.live_blocks,
          gc_segments_erased: 1,
          gc_medium_bytes: moved,
        }
      : {
          wl_blocks_moved: live.length,
          wl_segments_erased: 1,
          wl_medium_bytes: moved,
          gc_blocks_reclaimed: victim.records - victim.live_blocks,
        }
  commit(ctx, () => {
    for (const [i, block] of live.entries()) {
      const place = append.placements[i]!
      ctx.blocks.move(block.id, place.segment, place.offset)
    }
    commitAppend(ctx, append)
    ctx.segments.update(victim.id, {
      state: 'free',
      role: null,
      erase_count: eraseCount,
      write_offset: SEGMENT_HEADER_SIZE,
      live_bytes: 0,
      live_blocks: 0,
      records: 0,
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
