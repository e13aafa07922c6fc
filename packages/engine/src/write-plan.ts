import { BLOCK_SIZE, checkWrite, notFound } from '@pstorage/core'
import { CODEC_BROTLI, CODEC_LZ4, CODEC_RAW, CODEC_ZSTD } from './codec.js'
import {
  analyzeBlocks,
  type ChunkJob,
  DIGEST_MEMBERS,
  ENCODED_FIELDS,
  FP_BYTES,
  fullMask,
  maxRecordBytes,
} from './compute.js'
import { SLABS, settleAll } from './compute-pool.js'
import type { EngineContext, InflightPlanner } from './context.js'
import { type Counters, reductionRatio, zeroCounters } from './counters.js'
import { FpTable } from './fp-table.js'
import type { Extent } from './map-index.js'
import { chunkBlocksFor, POLICY_SPECS } from './policy.js'
import { readRange } from './read-path.js'
import { liveShare } from './reap.js'
import { RECORD_HEADER_SIZE } from './segment-format.js'
import type { RecordSpec } from './segment-writer.js'
import type { ItemPlan, NewChunk, WriteRequest } from './write-request.js'

/** Probe hits after which the following fingerprints are prefetched into the dedupe cache. */
const PREFETCH_MIN_HITS = 32
/** New blocks a pooled batch table holds (an 8 MiB batch is 2048 blocks). */
const SPARE_TABLE_ENTRIES = 4096
/** Batch tables kept between batches: allocating one per batch churns external memory. */
const spareTables: FpTable[] = []

function takeTable(): FpTable {
  return spareTables.pop() ?? new FpTable(2 * SPARE_TABLE_ENTRIES)
}

function giveTable(table: FpTable): void {
  if (table.limit !== SPARE_TABLE_ENTRIES || spareTables.length >= 4) return
  table.clear()
  spareTables.push(table)
}

/**
 * Buffers reused by every plan: `known` and the probe keys live only within one synchronous
 * step of {@link WritePlanner.plan}, so batches planned one after another (or a re-plan
 * interleaved with the next batch's planning) never use them at the same time.
 */
const scratch = {
  knownBuffer: new Float64Array(2048),
  keysBuffer: Buffer.alloc(64 * 1024),
  known(n: number): Float64Array {
    if (this.knownBuffer.length < n) this.knownBuffer = new Float64Array(n)
    const view = this.knownBuffer.subarray(0, n)
    view.fill(0)
    return view
  },
  keys(bytes: number): Buffer {
    if (this.keysBuffer.length < bytes) this.keysBuffer = Buffer.alloc(bytes)
    return this.keysBuffer.subarray(0, bytes)
  },
  wordsBuffer: new Int32Array(4096 * (FP_BYTES / 4)),
  /** `bytes` (whole fingerprints) copied into aligned 32-bit words. */
  words(bytes: Uint8Array): Int32Array {
    const n = bytes.length >> 2
    if (this.wordsBuffer.length < n) this.wordsBuffer = new Int32Array(n)
    new Uint8Array(this.wordsBuffer.buffer, 0, n * 4).set(bytes.subarray(0, n * 4))
    return this.wordsBuffer
  },
}

/**
 * Builds the extents of a write block by block, joining runs without an object per block.
 */
class RunBuilder {
  readonly runs: Extent[] = []
  #idx = 0
  #n = 0
  #tail = 0
  #pblock = -1
  #step = 1
  #pattern: Uint8Array | null = null

  pattern(idx: number, len: number, unit: Uint8Array): void {
    const p = this.#pattern
    if (
      this.#n > 0 &&
      p !== null &&
      this.#tail === BLOCK_SIZE &&
      p.length === unit.length &&
      p.every((v, i) => v === unit[i])
    ) {
      this.#n++
      this.#tail = len
      return
    }
    this.#flush()
    this.#start(idx, len, -1, unit)
  }

  block(idx: number, len: number, pblock: number): void {
    if (this.#n > 0 && this.#pattern === null && this.#tail === BLOCK_SIZE) {
      const step =
        this.#n > 1
          ? this.#step
          : pblock === this.#pblock + 1
            ? 1
            : pblock === this.#pblock
              ? 0
              : -1
      if (step >= 0 && pblock === this.#pblock + this.#n * step) {
        this.#step = step
        this.#n++
        this.#tail = len
        return
      }
    }
    this.#flush()
    this.#start(idx, len, pblock, null)
  }

  finish(): Extent[] {
    this.#flush()
    return this.runs
  }

  #start(idx: number, len: number, pblock: number, pattern: Uint8Array | null): void {
    this.#idx = idx
    this.#n = 1
    this.#tail = len
    this.#pblock = pblock
    this.#step = 1
    this.#pattern = pattern
  }

  #flush(): void {
    if (this.#n === 0) return
    this.runs.push({
      idx: this.#idx,
      n: this.#n,
      tail: this.#tail,
      pblock: this.#pattern === null ? this.#pblock : null,
      step: this.#n > 1 ? this.#step : 1,
      pattern: this.#pattern,
    })
    this.#n = 0
  }
}

/**
 * The planning half of a group commit: decides, write by write and in call order, what
 * each block becomes (a pattern, a reference to a stored block, or a member of a new
 * chunk), using the fingerprints the compute workers already took, the batch's own new
 * blocks, the dedupe cache and, for the rest, one batched index lookup per write. Then
 * {@link encode} has the workers compress the batch's chunks into records. Nothing touches
 * the medium or the metadata until the commit.
 *
 * @example
 * ```ts
 * const planner = new WritePlanner(ctx)
 * const plan = await planner.plan(request)
 * await planner.encode()
 * ```
 */
export class WritePlanner implements InflightPlanner {
  readonly #ctx: EngineContext
  readonly plans: ItemPlan[] = []
  /** Fingerprints of the blocks this batch stores, to the ids they get (grows as needed). */
  #batch: FpTable = takeTable()
  readonly #firstId: number
  /** The first id the batch gives a new block. */
  get firstId(): number {
    return this.#firstId
  }
  #out: Uint8Array | undefined
  #released = false

  /**
   * `oldest`: the batch comes before every batch in flight (a re-plan of the batch being
   * committed); otherwise it comes after them.
   */
  constructor(ctx: EngineContext, oldest = false) {
    this.#ctx = ctx
    this.#firstId = ctx.state.nextPblockId
    if (oldest) ctx.inflight.unshift(this)
    else ctx.inflight.push(this)
  }

  /** The id this batch gives a new block with this fingerprint, or 0. */
  newBlock(fps: Int32Array, at: number): number {
    return this.#batch.get(fps, at)
  }

  /**
   * The id of a new block with this fingerprint in this batch or in a batch in flight before
   * it (never a later one: that one may be planned again and drop it), or 0.
   */
  #pending(fps: Int32Array, at: number): number {
    const inflight = this.#ctx.inflight
    for (let i = inflight.indexOf(this); i >= 0; i--) {
      const id = inflight[i]!.newBlock(fps, at)
      if (id !== 0) return id
    }
    return 0
  }

  /**
   * Ends the batch: its new blocks leave the pending table (after the commit they are in
   * the index) and the records' buffer goes back. A batch dropped without a commit bumps
   * the write epoch: batches planned after it may reference its blocks. The ids it took
   * are not given back (ids are never reused).
   */
  release(committed: boolean): void {
    if (this.#released) return
    this.#released = true
    const ctx = this.#ctx
    if (!committed) ctx.state.writeEpoch++
    const i = ctx.inflight.indexOf(this)
    if (i >= 0) ctx.inflight.splice(i, 1)
    giveTable(this.#batch)
    if (this.#out) SLABS.give(this.#out)
    this.#out = undefined
  }

  /** The bytes this batch gives block `idx` of a map, if it writes it. */
  pendingContent(mapId: number, idx: number): Uint8Array | undefined {
    for (let i = this.plans.length - 1; i >= 0; i--) {
      const plan = this.plans[i]!
      if (plan.mapId !== mapId || idx < plan.from || idx >= plan.to) continue
      const at = (idx - plan.from) * BLOCK_SIZE
      const len = idx === plan.to - 1 ? plan.lastLength : BLOCK_SIZE
      return plan.request.slab.slice(at, at + len)
    }
    return undefined
  }

  /** Plans one write against the state the batch's earlier writes leave. */
  async plan(request: WriteRequest): Promise<ItemPlan> {
    const ctx = this.#ctx
    const { offset, data, slab } = request
    const map = ctx.maps.find('volume', request.volumeId)
    if (!map) throw notFound('Volume', request.volumeId)
    checkWrite(offset, data.length, map.size)
    await request.analyzed
    let layout = request.layout
    const blocks = layout.blocks
    const from = offset / BLOCK_SIZE
    let lastLength = blocks === 0 ? 0 : data.length - (blocks - 1) * BLOCK_SIZE
    if (blocks > 0 && lastLength < BLOCK_SIZE) {
      // Byte-precise writes: the bytes of the last block past this write keep their values.
      const old = await this.#oldContent(map.id, from + blocks - 1)
      if (old && old.length > lastLength) {
        const at = (blocks - 1) * BLOCK_SIZE
        slab.set(old.subarray(lastLength), at + lastLength)
        lastLength = old.length
        layout = { ...layout, dataLength: at + lastLength }
        analyzeBlocks(slab, layout, blocks - 1, 1)
      }
    }
    const kinds = slab.subarray(layout.kindsAt, layout.kindsAt + blocks)
    const fps = new Int32Array(slab.buffer, slab.byteOffset + layout.fpsAt, blocks * (FP_BYTES / 4))
    const known = this.#lookup(kinds, fps)
    const counters = zeroCounters()
    const runs = new RunBuilder()
    const chunks: NewChunk[] = []
    const spec = POLICY_SPECS[map.policy]
    const perChunk = chunkBlocksFor(map.policy, ctx.geometry.segmentSize)
    let chunk: NewChunk | undefined
    let produced = 0
    let deduplicated = false
    for (let b = 0; b < blocks; b++) {
      const idx = from + b
      const len = b === blocks - 1 ? lastLength : BLOCK_SIZE
      produced += len
      counters.host_blocks++
      counters.host_logical_bytes += len
      const unit = kinds[b]!
      if (unit !== 0) {
        const bytes = slab.slice(layout.unitsAt + b * 8, layout.unitsAt + b * 8 + unit)
        if (unit === 1 && bytes[0] === 0) counters.zero_blocks++
        else counters.pattern_blocks++
        counters.pattern_bytes += len
        runs.pattern(idx, len, bytes)
        continue
      }
      let id = known[b] || this.#batch.get(fps, b * 8)
      if (id !== 0) {
        deduplicated = true
        counters.duplicate_blocks++
        counters.duplicate_bytes += len
      } else {
        id = ctx.state.nextPblockId++
        while (!this.#batch.set(fps, b * 8, id)) this.#batch = this.#batch.grown()
        // A partial block is a chunk of its own: members of larger chunks are whole blocks.
        if (!chunk || chunk.members.length >= perChunk || len < BLOCK_SIZE) {
          chunk = { id, members: [], fps, lastLength: BLOCK_SIZE, codec: spec.codec }
          chunks.push(chunk)
        }
        chunk.members.push(b)
        chunk.lastLength = len
        if (len < BLOCK_SIZE) chunk = undefined
        counters.unique_blocks++
        counters.unique_logical_bytes += len
      }
      runs.block(idx, len, id)
    }
    const plan: ItemPlan = {
      request,
      mapId: map.id,
      from,
      to: from + blocks,
      runs: runs.finish(),
      chunks,
      lastLength,
      counters,
      produced,
      deduplicated,
    }
    this.plans.push(plan)
    return plan
  }

  /**
   * Ids of the data blocks whose fingerprint is already stored or new in this batch
   * (0 for the rest): the batch table, the dedupe cache, the staged index, then one SQLite
   * lookup for all remaining fingerprints of the write.
   */
  #lookup(kinds: Uint8Array, fps: Int32Array): Float64Array {
    const ctx = this.#ctx
    const known = scratch.known(kinds.length)
    const probe: number[] = []
    let found = 0
    for (let b = 0; b < kinds.length; b++) {
      if (kinds[b] !== 0) continue
      const at = b * 8
      const id = this.#pending(fps, at) || ctx.dedupe.lookup(fps, at) || ctx.fpIndex.staged(fps, at)
      if (id !== 0) {
        known[b] = id
        found++
      }
      // The filter rules out most new data without an index lookup.
      else if (ctx.fpIndex.mayBeIndexed(fps, at)) probe.push(b)
    }
    if (probe.length > 0) {
      const keys = scratch.keys(probe.length * FP_BYTES)
      const bytes = new Uint8Array(fps.buffer, fps.byteOffset, fps.byteLength)
      for (const [i, b] of probe.entries())
        keys.set(bytes.subarray(b * FP_BYTES, (b + 1) * FP_BYTES), i * FP_BYTES)
      for (const { i, id } of ctx.blocks.probe(keys, probe.length)) {
        const b = probe[i]!
        if (known[b] !== 0) continue
        known[b] = id
        ctx.dedupe.remember(fps, b * 8, id)
        found++
      }
    }
    // A write made mostly of stored blocks (a clone's data) is followed by more of the same
    // run: keep the fingerprints of the blocks after the last one it references in the
    // cache, so the next writes find them there instead of in the index.
    if (found >= PREFETCH_MIN_HITS) {
      let last = 0
      for (let b = kinds.length - 1; b >= 0 && last === 0; b--) last = known[b]!
      if (ctx.dedupe.wantsAfter(last, kinds.length)) {
        const next = ctx.blocks.following(last, 2 * kinds.length)
        // As aligned words, not a Buffer view per fingerprint (about 0.3 us each).
        const words = scratch.words(next.fps)
        for (const [k, id] of next.ids.entries()) ctx.dedupe.remember(words, k * 8, id)
        ctx.dedupe.prefetched(last, next.ids.at(-1) ?? last)
      }
    }
    return known
  }

  /**
   * The current bytes of block `idx`, if written: pending in this batch or in one in flight
   * before it (newest first), or committed.
   */
  async #oldContent(mapId: number, idx: number): Promise<Uint8Array | undefined> {
    const inflight = this.#ctx.inflight
    for (let i = inflight.indexOf(this); i >= 0; i--) {
      const content = inflight[i]!.pendingContent(mapId, idx)
      if (content) return content
    }
    const entry = this.#ctx.maps.entry(mapId, idx)
    if (!entry) return undefined
    return readRange(this.#ctx, mapId, idx * BLOCK_SIZE, idx * BLOCK_SIZE + entry.len)
  }

  /** Encodes every chunk of the batch into records (compute workers, in parallel). */
  async encode(): Promise<void> {
    const jobs = this.plans.map((plan) => ({ plan, out: [] as ChunkJob[] }))
    let total = 0
    for (const { plan, out } of jobs) {
      for (const chunk of plan.chunks) {
        out.push({
          id: chunk.id,
          codec: chunk.codec,
          members: chunk.members,
          lastLength: chunk.lastLength,
          outAt: total,
        })
        total += maxRecordBytes(chunk.members.length, chunk.lastLength)
      }
    }
    if (total === 0) return
    const out = SLABS.take(total)
    this.#out = out
    // Every job settles before this does, failed or not: a caller that releases the
    // batch on a failure must not hand back buffers a worker still reads or writes.
    await settleAll(
      jobs.map(async ({ plan, out: chunkJobs }) => {
        if (chunkJobs.length === 0) return
        const { meta, hashes } = await this.#ctx.pool.encode(
          plan.request.slab,
          plan.request.layout.fpsAt,
          out,
          chunkJobs,
        )
        for (const [j, chunk] of plan.chunks.entries()) {
          const at = chunkJobs[j]!.outAt
          chunk.record = out.subarray(at, at + meta[j * ENCODED_FIELDS]!)
          chunk.storedCodec = meta[j * ENCODED_FIELDS + 1]!
          chunk.rawLength = meta[j * ENCODED_FIELDS + 2]!
          chunk.sha = Buffer.from(hashes.buffer, hashes.byteOffset + j * FP_BYTES, FP_BYTES)
        }
      }),
    )
  }

  /** Every new chunk of the batch, in id order. */
  chunks(): NewChunk[] {
    return this.plans.flatMap((plan) => plan.chunks)
  }

  /** The records to append, in id order. */
  records(): RecordSpec[] {
    return this.chunks().map((chunk) => ({
      bytes: chunk.record!,
      blocks: chunk.members.length,
      liveBlocks: chunk.members.length,
      liveBytes: chunk.record!.length,
    }))
  }

  /**
   * Record bytes of live data the batch would leave dead: what its overwrites free, from
   * the reference counts and chunks they touch. Only needed when the medium is nearly full.
   */
  freedBytes(): number {
    const ctx = this.#ctx
    const delta = new Map<number, number>()
    const bump = (first: number, step: number, n: number, by: number) => {
      if (step === 0) delta.set(first, (delta.get(first) ?? 0) + by * n)
      else for (let k = 0; k < n; k++) delta.set(first + k, (delta.get(first + k) ?? 0) + by)
    }
    for (const plan of this.plans) {
      for (const e of ctx.maps.extents(plan.mapId, plan.from, plan.to)) {
        if (e.pblock === null) continue
        const s = Math.max(e.idx, plan.from)
        const t = Math.min(e.idx + e.n, plan.to)
        if (t > s) bump(e.pblock + (s - e.idx) * e.step, t - s > 1 ? e.step : 1, t - s, -1)
      }
      for (const run of plan.runs) if (run.pblock !== null) bump(run.pblock, run.step, run.n, 1)
    }
    const dying = new Map<number, number>()
    for (const [id, by] of delta) {
      if (by >= 0) continue
      const row = ctx.blocks.get(id)
      if (!row || row.refs + by > 0) continue
      const chunk = id - row.slot
      dying.set(chunk, (dying.get(chunk) ?? 0) + 1)
    }
    let freed = 0
    for (const [id, n] of dying) {
      const chunk = ctx.chunks.get(id)
      if (!chunk) continue
      freed +=
        liveShare(chunk.record_len, chunk.live, chunk.present) -
        liveShare(chunk.record_len, chunk.live - n, chunk.present)
    }
    return freed
  }

  /** Counters of the batch (host side; medium bytes added by the caller). */
  counters(): Counters {
    const total = zeroCounters()
    for (const plan of this.plans) {
      for (const [key, value] of Object.entries(plan.counters) as [keyof Counters, number][])
        total[key] += value
      for (const chunk of plan.chunks) addCodec(total, chunk, storedLength(chunk))
    }
    return total
  }

  /** The result of each write, for its caller. */
  result(plan: ItemPlan): {
    size: number
    reduction_ratio: number
    was_deduplicated: boolean
    was_compressed: boolean
  } {
    const stored = plan.chunks.reduce((n, c) => n + storedLength(c), 0)
    return {
      size: plan.request.data.length,
      reduction_ratio: reductionRatio(plan.produced, stored),
      was_deduplicated: plan.deduplicated,
      was_compressed: plan.chunks.some((c) => c.storedCodec !== CODEC_RAW),
    }
  }

  /** The chunk rows to insert once the records are placed. */
  static chunkRow(chunk: NewChunk, segment: number, offset: number) {
    const n = chunk.members.length
    return {
      id: chunk.id,
      span: n,
      mask: fullMask(n),
      present: n,
      live: n,
      segment,
      offset,
      record_len: chunk.record!.length,
      codec: chunk.storedCodec!,
      raw_len: chunk.rawLength!,
      digest: DIGEST_MEMBERS,
      sha: chunk.sha!,
    }
  }
}

/** Payload bytes of an encoded chunk. */
function storedLength(chunk: NewChunk): number {
  return chunk.record!.length - RECORD_HEADER_SIZE
}

function addCodec(total: Counters, chunk: NewChunk, stored: number): void {
  const raw = chunk.rawLength!
  total.chunks_stored++
  total.unique_stored_bytes += stored
  switch (chunk.storedCodec) {
    case CODEC_LZ4:
      total.lz4_logical_bytes += raw
      total.lz4_stored_bytes += stored
      break
    case CODEC_ZSTD:
      total.zstd_logical_bytes += raw
      total.zstd_stored_bytes += stored
      break
    case CODEC_BROTLI:
      total.brotli_logical_bytes += raw
      total.brotli_stored_bytes += stored
      break
    default:
      total.raw_bytes += raw
  }
  if (chunk.storedCodec !== CODEC_RAW) total.compressed_blocks += chunk.members.length
}
