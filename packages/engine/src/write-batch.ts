import { type EngineWriteResult, PStorageError } from '@pstorage/core'
import { FP_BYTES } from './compute.js'
import { SLABS } from './compute-pool.js'
import { commitUnsynced, type EngineContext } from './context.js'
import { reapDead } from './reap.js'
import {
  type AppendResult,
  appendRecords,
  commitAppend,
  hostFreeSegments,
  openRemaining,
  segmentsNeeded,
} from './segment-writer.js'
import { WritePlanner } from './write-plan.js'
import type { ItemPlan, MakeRoom, WriteRequest } from './write-request.js'

export type { MakeRoom, WriteRequest } from './write-request.js'

/**
 * A batch after the first stage of a group commit: planned, its encoding under way, not yet
 * written.
 *
 * @example
 * ```ts
 * const prepared = await prepareWriteBatch(ctx, requests)
 * await finishWriteBatch(ctx, prepared, makeRoom)
 * ```
 */
export interface PreparedBatch {
  readonly requests: readonly WriteRequest[]
  readonly planner: WritePlanner
  /** The write epoch the plan was made in. */
  readonly epoch: number
  /** Writes already refused while planning (settled). */
  readonly failed: ReadonlySet<WriteRequest>
  /**
   * Settles when the workers have encoded the batch's chunks (rejects if they could not):
   * compression runs while the lane prepares the next batch and finishes earlier ones.
   */
  readonly encoded: Promise<void>
  /** A failure of the whole batch while preparing (the finish stage settles it). */
  readonly error?: unknown
}

/**
 * First stage of a group commit (ARCHITECTURE.md, the data path): plans every write in call
 * order against the state the earlier ones leave (so writes to the same block land in call
 * order), using the fingerprints the compute workers took when the writes were called, then
 * sets the workers compressing the batch's new chunks and returns without waiting for them
 * (`encoded`), so the next batch is planned meanwhile. It may run while earlier batches are
 * in {@link finishWriteBatch}; a write that cannot be planned (unknown volume, bad offset)
 * is refused on its own.
 *
 * @example
 * ```ts
 * const lane = new Lane({ prepare: (batch) => prepareWriteBatch(ctx, batch), finish })
 * ```
 */
export async function prepareWriteBatch(
  ctx: EngineContext,
  requests: readonly WriteRequest[],
  oldest = false,
): Promise<PreparedBatch> {
  const epoch = ctx.state.writeEpoch
  const planner = new WritePlanner(ctx, oldest)
  const failed = new Set<WriteRequest>()
  const done = Promise.resolve()
  try {
    for (const request of requests) {
      try {
        await planner.plan(request)
      } catch (error) {
        failed.add(request)
        request.reject(error)
      }
    }
    const encoded = planner.plans.length > 0 ? planner.encode() : done
    // Observed by the finish stage; not an unhandled rejection meanwhile.
    encoded.catch(() => undefined)
    return { requests, planner, epoch, failed, encoded }
  } catch (error) {
    return { requests, planner, epoch, failed, encoded: done, error }
  }
}

/**
 * Second stage of a group commit, one batch at a time in order: admits the batch if the
 * free space holds it as it is, appends all records with one fsync per segment, commits
 * block maps, fingerprints, reference counts and counters in one transaction, and only then
 * acknowledges the writes. A batch planned before the write epoch changed (an earlier batch
 * was dropped, re-planned or reaped blocks) is planned again first.
 *
 * When the batch does not fit the free space without garbage collection, its writes are
 * committed one at a time instead, each admitted only if the medium has room for it
 * (running foreground GC if needed): a refused write changes nothing. A failed append or
 * commit fails every write of its batch and changes nothing (the appended bytes are a
 * torn tail).
 *
 * @example
 * ```ts
 * await finishWriteBatch(ctx, prepared, () => maintenance.makeRoom())
 * ```
 */
export async function finishWriteBatch(
  ctx: EngineContext,
  prepared: PreparedBatch,
  makeRoom: MakeRoom,
): Promise<void> {
  try {
    await finish(ctx, prepared, makeRoom)
  } finally {
    // The slabs go back once their analysis is over too (a refused write may not wait for it).
    for (const request of prepared.requests)
      void request.analyzed.catch(() => undefined).finally(() => SLABS.give(request.slab))
  }
}

async function finish(
  ctx: EngineContext,
  prepared: PreparedBatch,
  makeRoom: MakeRoom | undefined,
): Promise<void> {
  const { planner, requests, failed } = prepared
  const live = requests.filter((r) => !failed.has(r))
  let committed = false
  try {
    // First: nothing below may release the planner (its records' buffer) while the
    // workers still write into it.
    await prepared.encoded
    if (prepared.error !== undefined) throw prepared.error
    if (planner.plans.length === 0) return
    if (ctx.state.writeEpoch !== prepared.epoch) {
      // Planned against a state that changed under it: plan again (the analyses stand).
      planner.release(false)
      return await finish(ctx, await prepareWriteBatch(ctx, live, true), makeRoom)
    }
    const records = planner.records()
    const sizes = records.map((r) => r.bytes.length)
    const newBytes = sizes.reduce((n, s) => n + s, 0)
    const cursor = () =>
      segmentsNeeded(
        { remaining: openRemaining(ctx, 'user'), fresh: 0 },
        sizes,
        ctx.geometry.segmentSize,
      )
    const liveNow = ctx.segments.counts().live
    const fits = newBytes === 0 || liveNow + newBytes <= ctx.geometry.usableBytes
    if (!fits || cursor().fresh > hostFreeSegments(ctx)) {
      if (!makeRoom || live.length > 1) {
        // Not without GC: one write at a time, each with foreground GC.
        planner.release(false)
        for (const request of live) {
          const single = await prepareWriteBatch(ctx, [request], true)
          await finish(ctx, single, makeRoom ?? (async () => false))
        }
        return
      }
      if (newBytes > 0 && liveNow + newBytes - planner.freedBytes() > ctx.geometry.usableBytes)
        throw insufficient(newBytes)
      while (cursor().fresh > hostFreeSegments(ctx)) {
        if (!(await makeRoom())) throw insufficient(newBytes)
      }
    }
    const append = await appendRecords(ctx, 'user', records)
    // The commit's fsync runs off the main thread, which meanwhile plans the next batch.
    const reaped = commitUnsynced(ctx, () => apply(ctx, planner, append, newBytes))
    committed = true
    // Batches planned meanwhile may reference a block this one reaped.
    if (reaped.size > 0) ctx.state.writeEpoch++
    stageNewBlocks(ctx, planner, reaped)
    // Durable: only now are the writes acknowledged.
    await ctx.wal.sync()
    for (const plan of planner.plans)
      plan.request.resolve(planner.result(plan) as EngineWriteResult)
  } catch (cause) {
    const error =
      cause instanceof PStorageError
        ? cause
        : new PStorageError(
            'service_unavailable',
            '[pstorage] [engine] the write could not be made durable',
            { cause },
          )
    for (const request of live) request.reject(error)
  } finally {
    planner.release(committed)
  }
}

/**
 * Adds a committed batch's new blocks to the dedupe index, but not those it reaped itself
 * (a later write of the batch overwrote them). Never fails the writes: they are durable,
 * and an index that missed them only misses dedupe chances.
 */
function stageNewBlocks(ctx: EngineContext, planner: WritePlanner, reaped: Set<number>): void {
  try {
    const chunks = planner.chunks()
    const added = chunks.reduce((n, c) => n + c.members.length, 0)
    // Ids from the first one of a batch still in flight on may not be committed yet.
    let committedBelow = ctx.state.nextPblockId
    for (const other of ctx.inflight)
      if (other !== planner) committedBelow = Math.min(committedBelow, other.firstId)
    ctx.fpIndex.reserve(added, committedBelow)
    for (const chunk of chunks) {
      for (const [i, b] of chunk.members.entries())
        if (!reaped.has(chunk.id + i)) ctx.fpIndex.put(chunk.fps, b * 8, chunk.id + i)
    }
  } catch {
    ctx.fpIndex.reload()
  }
}

function insufficient(bytes: number): PStorageError {
  return new PStorageError(
    'insufficient_capacity',
    `The write needs ${bytes} bytes the medium does not have`,
  )
}

/** Writes the batch's metadata (inside the commit transaction); returns the blocks reaped. */
function apply(
  ctx: EngineContext,
  planner: WritePlanner,
  append: AppendResult,
  newBytes: number,
): Set<number> {
  const chunks = planner.chunks()
  const firstNew = planner.firstId
  // New blocks get their first reference counts at insert: one write per row.
  const newRefs = new Float64Array(Math.max(0, ctx.state.nextPblockId - firstNew))
  for (const plan of planner.plans) {
    for (const run of plan.runs) {
      if (run.pblock === null) continue
      if (run.step === 0) {
        if (run.pblock >= firstNew) newRefs[run.pblock - firstNew]! += run.n
        continue
      }
      for (let id = Math.max(run.pblock, firstNew); id < run.pblock + run.n; id++)
        newRefs[id - firstNew]!++
    }
  }
  const fresh: { id: number; fp: Buffer; slot: number; refs: number }[] = []
  for (const [i, chunk] of chunks.entries()) {
    const place = append.placements[i]!
    ctx.chunks.insert(WritePlanner.chunkRow(chunk, place.segment, place.offset))
    const fps = chunk.fps
    for (const [slot, b] of chunk.members.entries()) {
      const id = chunk.id + slot
      const fp = Buffer.from(fps.buffer, fps.byteOffset + b * FP_BYTES, FP_BYTES)
      fresh.push({ id, fp, slot, refs: newRefs[id - firstNew]! })
    }
  }
  ctx.blocks.insert(fresh)
  for (const plan of planner.plans) applyPlan(ctx, plan, firstNew)
  commitAppend(ctx, append)
  const reaped = reapDead(ctx)
  ctx.counters.add({ ...planner.counters(), host_medium_bytes: newBytes })
  ctx.meta.set('next_pblock_id', ctx.state.nextPblockId)
  return reaped
}

function applyPlan(ctx: EngineContext, plan: ItemPlan, firstNew: number): void {
  if (plan.to === plan.from) return
  const { released, usedDelta } = ctx.maps.write(plan.mapId, plan.from, plan.to, plan.runs)
  // References up before down: a block both gain and lose never touches zero in between.
  // Blocks new in this batch were inserted with theirs.
  for (const run of plan.runs) {
    if (run.pblock === null || run.pblock >= firstNew) continue
    if (run.step === 0) ctx.blocks.addRefs(run.pblock, run.pblock, run.n)
    else ctx.blocks.addRefs(run.pblock, Math.min(run.pblock + run.n, firstNew) - 1, 1)
  }
  for (const r of released) {
    if (r.step === 0) ctx.blocks.addRefs(r.pblock, r.pblock, -r.n)
    else ctx.blocks.addRefs(r.pblock, r.pblock + r.n - 1, -1)
  }
  ctx.maps.addUsed(plan.mapId, usedDelta)
}
