import { BLOCK_SIZE, checkWrite, notFound, type ReductionPolicy } from '@pstorage/core'
import { CODEC_RAW, encodeBlock } from './codec.js'
import type { EngineContext } from './context.js'
import { type Counters, reductionRatio, zeroCounters } from './counters.js'
import { fingerprint } from './fingerprint.js'
import { detectPattern } from './pattern.js'
import { entryContent } from './read-path.js'
import { recordSize } from './segment-format.js'
import {
  type AppendResult,
  commitAppend,
  hostFreeSegments,
  openRemaining,
  segmentsNeeded,
} from './segment-writer.js'
import type { ItemPlan, MakeRoom, NewBlock, Slot, Tally, WriteRequest } from './write-request.js'

function bump(deltas: Map<number, number>, id: number, by: number): void {
  deltas.set(id, (deltas.get(id) ?? 0) + by)
}

/**
 * The planning half of a group commit: decides, write by write, what each block becomes
 * (pattern, reference to a stored block, or a new compressed record), tracks reference
 * deltas and admits a write only if the medium has room for it. Nothing touches the
 * medium or the metadata until {@link WritePlanner.apply} runs inside the commit.
 *
 * @example
 * ```ts
 * const planner = new WritePlanner(ctx)
 * const plan = await planner.plan(request)
 * if (await planner.admit(plan, makeRoom)) accepted.push(plan)
 * ```
 */
export class WritePlanner {
  readonly #ctx: EngineContext
  readonly #slots = new Map<string, Slot>()
  readonly #refDelta = new Map<number, number>()
  readonly #newById = new Map<number, NewBlock>()
  readonly #newByFp = new Map<string, NewBlock>()
  readonly #usedDelta = new Map<number, number>()
  readonly #counters = zeroCounters()
  /** Current refs and record size of existing blocks this batch touches. */
  readonly #base = new Map<number, { refs: number; bytes: number }>()
  readonly newBlocks: NewBlock[] = []
  #newBytes = 0
  #freedBytes = 0
  #cursor: { remaining: number; fresh: number }
  /** Live record bytes at the start: GC moves data but never changes this. */
  readonly #live: number
  /** Free segments host writes may take; re-read only after foreground GC. */
  #hostFree: number

  constructor(ctx: EngineContext) {
    this.#ctx = ctx
    this.#cursor = { remaining: openRemaining(ctx, 'user'), fresh: 0 }
    this.#live = ctx.segments.counts().live
    this.#hostFree = hostFreeSegments(ctx)
  }

  /** Plans one write against the state the batch's earlier writes leave. */
  async plan(request: WriteRequest): Promise<ItemPlan> {
    const ctx = this.#ctx
    const { offset, data } = request
    const map = ctx.maps.find('volume', request.volumeId)
    if (!map) throw notFound('Volume', request.volumeId)
    checkWrite(offset, data.length, map.size)
    const plan: ItemPlan = {
      request,
      mapId: map.id,
      slots: [],
      newBlocks: [],
      refDelta: new Map(),
      counters: zeroCounters(),
      usedDelta: 0,
      result: {
        size: data.length,
        reduction_ratio: 1,
        was_deduplicated: false,
        was_compressed: false,
      },
    }
    const tally: Tally = { produced: 0, stored: 0, deduplicated: false, compressed: false }
    const local = new Map<string, NewBlock>()
    for (let at = 0; at < data.length; at += BLOCK_SIZE) {
      const idx = (offset + at) / BLOCK_SIZE
      const chunk = data.subarray(at, Math.min(at + BLOCK_SIZE, data.length))
      const pending = this.#slots.get(`${map.id}:${idx}`)
      const stored = pending ? undefined : ctx.maps.entry(map.id, idx)
      const old = pending ?? stored
      let block = chunk
      if (old && old.len > chunk.length) {
        // Byte-precise writes: the bytes of the block past this write keep their values.
        block = new Uint8Array(old.len)
        block.set(pending ? pending.content : stored ? await entryContent(ctx, stored) : block)
        block.set(chunk)
      }
      const target = this.#classify(block, map.policy, plan, local, tally)
      if (target.pblock !== null) bump(plan.refDelta, target.pblock, 1)
      if (old && old.pblock !== null) bump(plan.refDelta, old.pblock, -1)
      plan.usedDelta += block.length - (old?.len ?? 0)
      plan.slots.push({ mapId: map.id, idx, len: block.length, ...target, content: block })
    }
    plan.result = {
      size: data.length,
      reduction_ratio: reductionRatio(tally.produced, tally.stored),
      was_deduplicated: tally.deduplicated,
      was_compressed: tally.compressed,
    }
    return plan
  }

  /**
   * Steps 2-5 of the data path for one block: a pattern, a reference to a block with the
   * same fingerprint (stored, or new in this batch or write), or a new encoded block.
   */
  #classify(
    block: Uint8Array,
    policy: ReductionPolicy,
    plan: ItemPlan,
    local: Map<string, NewBlock>,
    tally: Tally,
  ): { pblock: number | null; pattern: Uint8Array | null } {
    const c = plan.counters
    tally.produced += block.length
    c.host_blocks++
    c.host_logical_bytes += block.length
    const pattern = detectPattern(block)
    if (pattern) {
      if (pattern.zero) c.zero_blocks++
      else c.pattern_blocks++
      c.pattern_bytes += block.length
      return { pblock: null, pattern: pattern.unit }
    }
    const fp = fingerprint(block)
    const key = fp.toString('latin1')
    const known =
      local.get(key)?.id ?? this.#newByFp.get(key)?.id ?? this.#ctx.blocks.byFingerprint(fp)
    if (known !== undefined) {
      tally.deduplicated = true
      c.duplicate_blocks++
      c.duplicate_bytes += block.length
      return { pblock: known, pattern: null }
    }
    const encoded = encodeBlock(block, policy)
    const fresh: NewBlock = {
      id: this.#ctx.state.nextPblockId++,
      fingerprint: fp,
      logicalLength: block.length,
      codec: encoded.codec,
      payload: encoded.payload,
      recordLength: recordSize(encoded.payload.length),
    }
    local.set(key, fresh)
    plan.newBlocks.push(fresh)
    tally.stored += encoded.payload.length
    c.unique_blocks++
    c.unique_logical_bytes += block.length
    c.unique_stored_bytes += encoded.payload.length
    if (encoded.codec !== CODEC_RAW) {
      tally.compressed = true
      c.compressed_blocks++
    }
    return { pblock: fresh.id, pattern: null }
  }

  /** Admits a planned write if the medium has room for it, and merges it into the batch. */
  async admit(plan: ItemPlan, makeRoom: MakeRoom): Promise<boolean> {
    const ctx = this.#ctx
    const newBytes = plan.newBlocks.reduce((n, b) => n + b.recordLength, 0)
    const freedBytes = this.#freedAfter(plan)
    const live = this.#live + this.#newBytes + newBytes - freedBytes
    if (newBytes > 0 && live > ctx.geometry.usableBytes) return false
    const cursor = segmentsNeeded(
      this.#cursor,
      plan.newBlocks.map((b) => b.recordLength),
      ctx.geometry.segmentSize,
    )
    while (cursor.fresh > this.#hostFree) {
      if (!(await makeRoom())) return false
      this.#hostFree = hostFreeSegments(ctx)
    }
    this.#cursor = cursor
    this.#newBytes += newBytes
    this.#freedBytes = freedBytes
    for (const [id, by] of plan.refDelta) bump(this.#refDelta, id, by)
    for (const block of plan.newBlocks) {
      this.newBlocks.push(block)
      this.#newById.set(block.id, block)
      this.#newByFp.set(block.fingerprint.toString('latin1'), block)
    }
    for (const slot of plan.slots) this.#slots.set(`${slot.mapId}:${slot.idx}`, slot)
    this.#usedDelta.set(plan.mapId, (this.#usedDelta.get(plan.mapId) ?? 0) + plan.usedDelta)
    for (const [key, value] of Object.entries(plan.counters) as [keyof Counters, number][])
      this.#counters[key] += value
    return true
  }

  /** Record bytes the batch would leave dead if `plan` joined it. */
  #freedAfter(plan: ItemPlan): number {
    let freed = this.#freedBytes
    const local = new Map(plan.newBlocks.map((b) => [b.id, b]))
    for (const [id, by] of plan.refDelta) {
      const before = this.#refDelta.get(id) ?? 0
      const fresh = this.#newById.get(id) ?? local.get(id)
      let base: { refs: number; bytes: number }
      if (fresh) base = { refs: 0, bytes: fresh.recordLength }
      else {
        let known = this.#base.get(id)
        if (!known) {
          const row = this.#ctx.blocks.get(id)
          known = { refs: row?.refs ?? 0, bytes: row?.record_len ?? 0 }
          this.#base.set(id, known)
        }
        base = known
      }
      const deadBefore = !local.has(id) && base.refs + before <= 0
      const deadAfter = base.refs + before + by <= 0
      if (deadAfter && !deadBefore) freed += base.bytes
      if (!deadAfter && deadBefore) freed -= base.bytes
    }
    return freed
  }

  /** Writes the batch's metadata (inside the commit transaction). */
  apply(append: AppendResult): void {
    const ctx = this.#ctx
    for (const [i, block] of this.newBlocks.entries()) {
      const place = append.placements[i]!
      ctx.blocks.insert({
        id: block.id,
        fingerprint: block.fingerprint,
        refs: this.#refDelta.get(block.id) ?? 0,
        segment: place.segment,
        offset: place.offset,
        recordLength: block.recordLength,
        logicalLength: block.logicalLength,
        codec: block.codec,
      })
    }
    for (const [id, by] of this.#refDelta) if (!this.#newById.has(id)) ctx.blocks.addRefs(id, by)
    for (const slot of this.#slots.values())
      ctx.maps.put(slot.mapId, slot.idx, slot.len, slot.pblock, slot.pattern)
    for (const [mapId, delta] of this.#usedDelta) ctx.maps.addUsed(mapId, delta)
    commitAppend(ctx, append)
    for (const dead of ctx.blocks.reapDead())
      ctx.segments.addLive(dead.segment, -dead.bytes, -dead.blocks)
    ctx.counters.add({ ...this.#counters, host_medium_bytes: this.#newBytes })
    ctx.meta.set('next_pblock_id', ctx.state.nextPblockId)
  }
}
