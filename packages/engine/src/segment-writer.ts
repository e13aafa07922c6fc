import { PStorageError } from '@pstorage/core'
import { type EngineContext, GC_RESERVE_SEGMENTS } from './context.js'
import { encodeSegmentHeader, SEGMENT_HEADER_SIZE } from './segment-format.js'
import type { SegmentRole, SegmentRow } from './segment-table.js'

/**
 * A record to append, whole (header and payload), with what it holds for the live
 * accounting of its segment.
 *
 * @example
 * ```ts
 * const spec: RecordSpec = { bytes: record, blocks: 8, liveBlocks: 8, liveBytes: record.length }
 * ```
 */
export interface RecordSpec {
  readonly bytes: Uint8Array
  /** Member blocks present in the record. */
  readonly blocks: number
  readonly liveBlocks: number
  /** Its live share of bytes (all of it when every member is live). */
  readonly liveBytes: number
}

/**
 * Where one record landed.
 *
 * @example
 * ```ts
 * const { segment, offset }: Placement = result.placements[0]!
 * ```
 */
export interface Placement {
  readonly segment: number
  readonly offset: number
}

/**
 * What an append did to one segment, applied to the table by {@link commitAppend}.
 *
 * @example
 * ```ts
 * for (const plan of result.plans) if (plan.sealed) console.log(`segment ${plan.id} is full`)
 * ```
 */
export interface SegmentPlan {
  readonly id: number
  readonly start: number
  end: number
  records: number
  liveBytes: number
  blocks: number
  liveBlocks: number
  /** Newly allocated (erased and given a header) by this append. */
  readonly fresh: boolean
  readonly generation: number
  /** Filled: the append moved on to another segment. */
  sealed: boolean
}

/**
 * The outcome of {@link appendRecords}: durable on the medium, not yet in the metadata.
 *
 * @example
 * ```ts
 * const result: AppendResult = await appendRecords(ctx, 'user', specs)
 * ```
 */
export interface AppendResult {
  readonly role: SegmentRole
  readonly placements: Placement[]
  readonly plans: SegmentPlan[]
}

/**
 * Counts the fresh segments that appending records of `sizes` needs, given `remaining`
 * bytes in the open segment; the write path uses it to check space before writing anything.
 *
 * @example
 * ```ts
 * const need = segmentsNeeded({ remaining: 100, fresh: 0 }, [4160, 4160], 1 << 20)
 * ```
 */
export function segmentsNeeded(
  cursor: { remaining: number; fresh: number },
  sizes: readonly number[],
  segmentSize: number,
): { remaining: number; fresh: number } {
  let { remaining, fresh } = cursor
  for (const size of sizes) {
    if (size > remaining) {
      fresh++
      remaining = segmentSize - SEGMENT_HEADER_SIZE
    }
    remaining -= size
  }
  return { remaining, fresh }
}

/**
 * Bytes left in the open segment of `role` (0 when there is none).
 *
 * @example
 * ```ts
 * openRemaining(ctx, 'user') // bytes left in the open host segment
 * ```
 */
export function openRemaining(ctx: EngineContext, role: SegmentRole): number {
  const open = ctx.segments.open(role)[0]
  return open ? ctx.geometry.segmentSize - open.write_offset : 0
}

/**
 * Free segments host writes may still take (GC keeps its reserve).
 *
 * @example
 * ```ts
 * if (hostFreeSegments(ctx) === 0) await makeRoom()
 * ```
 */
export function hostFreeSegments(ctx: EngineContext): number {
  return Math.max(0, ctx.segments.counts().free - GC_RESERVE_SEGMENTS)
}

/**
 * Appends records to the open segment of `role`, taking fresh segments as needed (least
 * worn for host data, most worn for relocated cold data), writes them with one write per
 * segment and fsyncs. The caller then commits the metadata with {@link commitAppend}; if it
 * never does, recovery discards the bytes as a torn tail.
 *
 * @example
 * ```ts
 * const result = await appendRecords(ctx, 'user', specs)
 * commit(ctx, () => commitAppend(ctx, result))
 * ```
 */
export async function appendRecords(
  ctx: EngineContext,
  role: SegmentRole,
  specs: readonly RecordSpec[],
): Promise<AppendResult> {
  const { segmentSize } = ctx.geometry
  const plans: SegmentPlan[] = []
  const placements: Placement[] = []
  const taken: number[] = []
  const freeAtStart = ctx.segments.counts().free
  const current = ctx.segments.open(role)[0]
  let plan: SegmentPlan | undefined = current && {
    id: current.id,
    start: current.write_offset,
    end: current.write_offset,
    records: 0,
    liveBytes: 0,
    blocks: 0,
    liveBlocks: 0,
    fresh: false,
    generation: current.generation,
    sealed: false,
  }
  if (plan) plans.push(plan)
  for (const spec of specs) {
    const size = spec.bytes.length
    if (!plan || plan.end + size > segmentSize) {
      if (plan) plan.sealed = true
      const reserve = role === 'user' ? GC_RESERVE_SEGMENTS : 0
      if (freeAtStart - taken.length <= reserve) {
        throw new PStorageError('insufficient_capacity', '[pstorage] [engine] no free segment left')
      }
      const next: SegmentRow | undefined =
        role === 'user' ? ctx.segments.leastWornFree(taken) : ctx.segments.mostWornFree(taken)
      if (!next)
        throw new PStorageError('insufficient_capacity', '[pstorage] [engine] no free segment left')
      taken.push(next.id)
      plan = {
        id: next.id,
        start: 0,
        end: SEGMENT_HEADER_SIZE,
        records: 0,
        liveBytes: 0,
        blocks: 0,
        liveBlocks: 0,
        fresh: true,
        generation: ctx.state.nextGeneration++,
        sealed: false,
      }
      plans.push(plan)
    }
    placements.push({ segment: plan.id, offset: plan.end })
    plan.end += size
    plan.records++
    plan.liveBytes += spec.liveBytes
    plan.blocks += spec.blocks
    plan.liveBlocks += spec.liveBlocks
  }
  await writePlans(ctx, plans, specs, placements)
  return { role, placements, plans: plans.filter((p) => p.records > 0 || p.sealed) }
}

async function writePlans(
  ctx: EngineContext,
  plans: readonly SegmentPlan[],
  specs: readonly RecordSpec[],
  placements: readonly Placement[],
): Promise<void> {
  const now = ctx.options.clock.now().getTime()
  const written: number[] = []
  let next = 0
  for (const plan of plans) {
    if (plan.records === 0) continue
    const views: Uint8Array[] = []
    for (let i = 0; i < plan.records; i++, next++) {
      while (placements[next]!.segment !== plan.id) next++
      const bytes = specs[next]!.bytes
      const last = views.at(-1)
      // Records encoded back to back in one buffer go out as one piece.
      if (
        last &&
        last.buffer === bytes.buffer &&
        last.byteOffset + last.byteLength === bytes.byteOffset
      ) {
        views[views.length - 1] = new Uint8Array(
          last.buffer,
          last.byteOffset,
          last.byteLength + bytes.byteLength,
        )
      } else views.push(bytes)
    }
    if (plan.fresh) {
      const row = ctx.segments.get(plan.id)
      const header = encodeSegmentHeader({
        segmentId: plan.id,
        segmentSize: ctx.geometry.segmentSize,
        eraseCount: row?.erase_count ?? 0,
        generation: plan.generation,
        erasedAt: now,
      })
      await ctx.files.erase(plan.id, header)
    }
    await ctx.files.writev(plan.id, plan.fresh ? SEGMENT_HEADER_SIZE : plan.start, views)
    written.push(plan.id)
  }
  // One fsync per touched segment, concurrently: the group commit's single durability wait.
  await Promise.all(written.map((id) => ctx.files.sync(id)))
}

/**
 * Applies an append to the segment table (call inside the commit's transaction).
 *
 * @example
 * ```ts
 * commit(ctx, () => commitAppend(ctx, result))
 * ```
 */
export function commitAppend(ctx: EngineContext, result: AppendResult): void {
  const now = ctx.options.clock.now().getTime()
  for (const plan of result.plans) {
    ctx.segments.update(plan.id, {
      state: plan.sealed ? 'sealed' : 'open',
      role: plan.sealed ? null : result.role,
      write_offset: plan.end,
      ...(plan.fresh
        ? {
            generation: plan.generation,
            records: plan.records,
            live_bytes: plan.liveBytes,
            live_records: plan.records,
            blocks: plan.blocks,
            live_blocks: plan.liveBlocks,
          }
        : {}),
      ...(plan.sealed ? { sealed_at: now } : {}),
    })
    if (!plan.fresh) {
      const row = ctx.segments.get(plan.id)
      if (row) {
        ctx.segments.update(plan.id, {
          records: row.records + plan.records,
          blocks: row.blocks + plan.blocks,
        })
      }
      ctx.segments.addLive(plan.id, plan.liveBytes, plan.records, plan.liveBlocks)
    }
  }
}
