import { PStorageError } from '@pstorage/core'
import type { ReadChunkRow } from './block-index.js'
import { corruption, readChunks, recordRuns, runBytes } from './chunk-reader.js'
import {
  BLOCK,
  FP_BYTES,
  fillPatternAt,
  memberOffset,
  PIECE_CHUNK,
  PIECE_FIELDS,
  PIECE_PATTERN,
  READ_CHUNK_FIELDS,
} from './compute.js'
import { SLABS, settleAll } from './compute-pool.js'
import type { EngineContext } from './context.js'

/** Blocks looked up and read per step, bounding the rows, pins and memory held at once. */
const WINDOW_BLOCKS = 2048
/** Reads at least this long are decoded and verified by the compute workers. */
const WORKER_READ_BYTES = 256 * 1024

/**
 * Where every byte of one window of a read comes from: distinct chunks, pieces (see
 * compute.ts, `PIECE_*`) with output offsets relative to the window, and pattern units.
 */
interface WindowPlan {
  readonly chunks: ReadChunkRow[]
  /** {@link PIECE_FIELDS} numbers per piece; `count` pieces are used. */
  pieces: Float64Array
  count: number
  readonly units: number[]
}

function missing(id: number): PStorageError {
  return new PStorageError(
    'data_corruption',
    `Block ${id} is referenced but no chunk holds it (run fsck)`,
    { details: { pblock: id } },
  )
}

/** Looks up bytes `[from, to)` of a map (at most one window). Synchronous: pin right after. */
function planWindow(ctx: EngineContext, mapId: number, from: number, to: number): WindowPlan {
  const firstBlock = Math.floor(from / BLOCK)
  const endBlock = Math.ceil(to / BLOCK)
  const extents = ctx.maps.extents(mapId, firstBlock, endBlock)
  // At most one piece per block and per extent.
  const plan: WindowPlan = {
    chunks: [],
    pieces: new Float64Array(PIECE_FIELDS * (endBlock - firstBlock + extents.length)),
    count: 0,
    units: [],
  }
  const index = new Map<number, number>()
  const pieces = plan.pieces
  const push = (at: number, kind: number, a: number, b: number, c: number, length: number) => {
    const f = plan.count++ * PIECE_FIELDS
    pieces[f] = at
    pieces[f + 1] = kind
    pieces[f + 2] = a
    pieces[f + 3] = b
    pieces[f + 4] = c
    pieces[f + 5] = length
  }
  for (const e of extents) {
    const s = Math.max(e.idx, firstBlock)
    const t = Math.min(e.idx + e.n, endBlock)
    const extentEnd = (e.idx + e.n - 1) * BLOCK + e.tail
    if (e.pattern !== null) {
      const lo = Math.max(from, s * BLOCK)
      const hi = Math.min(to, t * BLOCK, extentEnd)
      const unit = e.pattern
      if (hi <= lo || (unit.length === 1 && unit[0] === 0)) continue
      const u = plan.units.length / 8
      for (let k = 0; k < 8; k++) plan.units.push(unit[k] ?? 0)
      push(lo - from, PIECE_PATTERN, u, unit.length, lo % unit.length, hi - lo)
      continue
    }
    const base = e.pblock!
    const firstId = base + (s - e.idx) * e.step
    const lastId = base + (t - 1 - e.idx) * e.step
    const rows = ctx.chunks.covering(firstId, lastId)
    let r = 0
    for (let b = s; b < t; b++) {
      const id = base + (b - e.idx) * e.step
      while (r < rows.length - 1 && rows[r + 1]!.id <= id) r++
      const row = rows[r]
      if (!row || id < row.id || id >= row.id + row.span) throw missing(id)
      const blockStart = b * BLOCK
      const lo = Math.max(from, blockStart)
      const hi = Math.min(to, blockStart + BLOCK, extentEnd)
      if (hi <= lo) continue
      let c = index.get(row.id)
      if (c === undefined) {
        c = plan.chunks.length
        index.set(row.id, c)
        plan.chunks.push(row)
      }
      const src = memberOffset(row.mask, id - row.id) + (lo - blockStart)
      const f = (plan.count - 1) * PIECE_FIELDS
      // Consecutive members of one chunk: one piece.
      if (
        plan.count > 0 &&
        pieces[f + 1] === PIECE_CHUNK &&
        pieces[f + 2] === c &&
        pieces[f]! + pieces[f + 5]! === lo - from &&
        pieces[f + 3]! + pieces[f + 5]! === src
      ) {
        pieces[f + 5]! += hi - lo
      } else push(lo - from, PIECE_CHUNK, c, src, 0, hi - lo)
    }
  }
  return plan
}

function pin(ctx: EngineContext, rows: readonly ReadChunkRow[]): () => void {
  const segments = rows.map((r) => r.segment)
  for (const s of segments) ctx.files.pin(s)
  let done = false
  return () => {
    if (done) return
    done = true
    for (const s of segments) ctx.files.unpin(s)
  }
}

/** A window on this thread: cached chunks stay cached. */
async function readWindowHere(
  ctx: EngineContext,
  mapId: number,
  from: number,
  to: number,
  out: Uint8Array,
): Promise<void> {
  const plan = planWindow(ctx, mapId, from, to)
  // Pin in the same synchronous step as the lookup: GC cannot erase in between.
  const unpin = pin(ctx, plan.chunks)
  let decoded: Awaited<ReturnType<typeof readChunks>>
  try {
    decoded = await readChunks(ctx, plan.chunks)
  } finally {
    unpin()
  }
  const units = Uint8Array.from(plan.units)
  const p = plan.pieces
  for (let i = 0; i < plan.count * PIECE_FIELDS; i += PIECE_FIELDS) {
    const at = p[i]!
    const length = p[i + 5]!
    if (p[i + 1] === PIECE_CHUNK) {
      const content = decoded.get(plan.chunks[p[i + 2]!]!.id)!.content
      out.set(content.subarray(p[i + 3]!, p[i + 3]! + length), at)
    } else fillPatternAt(out.subarray(at, at + length), units, p[i + 2]! * 8, p[i + 3]!, p[i + 4]!)
  }
}

/**
 * A window decoded and verified by a compute worker. Without `into`, returns a new buffer
 * of its bytes. With `into`, fills it: in place when it is shared memory, else through a
 * pooled shared slab and one copy (either way, no new buffer per read).
 */
async function readWindowInWorker(
  ctx: EngineContext,
  mapId: number,
  from: number,
  to: number,
  into?: Uint8Array,
): Promise<Uint8Array> {
  const { job, unpin } = windowJob(ctx, mapId, from, to)
  const records = SLABS.take(Math.max(1, job.recordBytes))
  try {
    try {
      const r = job.reads
      // All settled before `records` can go back to the pool, even when one read fails.
      await settleAll(
        Array.from({ length: r.length / READ_FIELDS }, (_, k) => {
          const [segment, offset, start, length] = r.subarray(k * READ_FIELDS)
          return ctx.files
            .readInto(segment!, offset!, records.subarray(start!, start! + length!))
            .catch((cause: unknown) => {
              throw new PStorageError(
                'service_unavailable',
                `[pstorage] [engine] cannot read segment ${segment}`,
                { cause },
              )
            })
        }),
      )
    } finally {
      unpin()
    }
    const shared = into?.buffer instanceof SharedArrayBuffer
    const staging = into && !shared ? SLABS.take(to - from) : undefined
    try {
      const result = await ctx.pool.read({
        records,
        chunks: job.chunks,
        hashes: job.hashes,
        pieces: job.pieces,
        units: job.units,
        // Not zero-filled here: the worker zeroes what no piece covers.
        output:
          staging ?? (shared ? into! : (Buffer.allocUnsafeSlow(to - from).buffer as ArrayBuffer)),
      })
      if (!(result instanceof ArrayBuffer || result instanceof Uint8Array)) {
        // `job.chunks` went to the worker (transferred): the report comes from `places`.
        const [id, span, segment, offset] = job.places.subarray(result.chunk * PLACE_FIELDS)
        ctx.cache.delete(id!)
        throw corruption(
          { id: id!, span: span!, segment: segment!, offset: offset! },
          result.reason,
        )
      }
      if (staging) into!.set(staging)
      return into ?? new Uint8Array(result as ArrayBuffer)
    } finally {
      if (staging) SLABS.give(staging)
    }
  } finally {
    SLABS.give(records)
  }
}

/** Numbers per segment read of a window job: segment, offset, start in the records, bytes. */
const READ_FIELDS = 4
/** Numbers per chunk of a window job's `places`: id, span, segment, offset. */
const PLACE_FIELDS = 4

/**
 * Plans bytes `[from, to)` of a map (one window) for a worker and pins the segments it
 * reads, in the same synchronous step as the lookup (GC cannot erase in between). The job
 * is typed arrays only: the segment reads (record runs, {@link READ_FIELDS} numbers each,
 * `recordBytes` in all), the chunks as the worker checks them (transferred to it), their
 * content hashes, each chunk's id, span and place (segment, offset: for a corruption
 * report), the pieces and the pattern units. So the index's row objects die young: kept
 * across the reads' awaits, as they were, V8's small young generation promoted every one,
 * and the main thread's old generation grew by tens of MB during a long read-back before a
 * full collection.
 */
function windowJob(ctx: EngineContext, mapId: number, from: number, to: number) {
  const plan = planWindow(ctx, mapId, from, to)
  const unpin = pin(ctx, plan.chunks)
  try {
    const rows = plan.chunks
    const slot = new Map<number, number>()
    for (const [i, row] of rows.entries()) slot.set(row.id, i)
    const runs = recordRuns(rows)
    const reads = new Float64Array(runs.length * READ_FIELDS)
    const chunks = new Float64Array(rows.length * READ_CHUNK_FIELDS)
    const places = new Float64Array(rows.length * PLACE_FIELDS)
    // Its own ArrayBuffer (not the shared pool of small Buffers): it is transferred.
    const hashes = Buffer.from(new ArrayBuffer(rows.length * FP_BYTES))
    let position = 0
    for (const [k, run] of runs.entries()) {
      const first = run[0]!
      const length = runBytes(run)
      reads.set([first.segment, first.offset, position, length], k * READ_FIELDS)
      for (const row of run) {
        const i = slot.get(row.id)!
        const at = position + row.offset - first.offset
        chunks.set(
          [row.id, row.span, row.mask, row.codec, row.raw_len, row.record_len, at, row.digest],
          i * READ_CHUNK_FIELDS,
        )
        places.set([row.id, row.span, row.segment, row.offset], i * PLACE_FIELDS)
        hashes.write(row.sha_hex, i * FP_BYTES, FP_BYTES, 'hex')
      }
      position += length
    }
    const job = {
      reads,
      recordBytes: position,
      chunks,
      places,
      hashes,
      pieces: plan.pieces.slice(0, plan.count * PIECE_FIELDS),
      units: Uint8Array.from(plan.units),
    }
    return { job, unpin }
  } catch (error) {
    unpin()
    throw error
  }
}

/**
 * Reads bytes `[offset, end)` of a block map: never-written blocks are zeros, patterns are
 * materialised, stored blocks are read, decoded and verified (their chunk's SHA-256 against
 * the index). Large reads are decoded by the compute workers, window by window.
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
  const length = Math.max(0, end - offset)
  if (length >= WORKER_READ_BYTES && ctx.pool.threads > 0 && windows(offset, end).length === 1) {
    // One window: the worker's transferred output is the result, no copy.
    return readWindowInWorker(ctx, mapId, offset, end)
  }
  const out = new Uint8Array(length)
  await readRangeInto(ctx, mapId, offset, out)
  return out
}

/**
 * {@link readRange} into `out` (bytes `[offset, offset + out.length)`), for callers that
 * reuse their buffers: a streaming reader then allocates nothing per read, which keeps the
 * process's memory flat and its garbage collector idle.
 *
 * @example
 * ```ts
 * await readRangeInto(ctx, volume.id, 0, buffer)
 * ```
 */
export async function readRangeInto(
  ctx: EngineContext,
  mapId: number,
  offset: number,
  out: Uint8Array,
): Promise<void> {
  const end = offset + out.length
  const bounds = windows(offset, end)
  if (out.length < WORKER_READ_BYTES || ctx.pool.threads === 0) {
    // Windows read here write only what is stored: holes must read as zeros.
    out.fill(0)
    for (const [from, to] of bounds) {
      await readWindowHere(ctx, mapId, from, to, out.subarray(from - offset, to - offset))
    }
    return
  }
  const depth = Math.max(1, ctx.pool.threads)
  let next = 0
  let failed = false
  // No window is still being written into `out` once this rejects; after a failure no
  // new window starts.
  await settleAll(
    Array.from({ length: Math.min(depth, bounds.length) }, async () => {
      while (!failed && next < bounds.length) {
        const [from, to] = bounds[next++]!
        await readWindowInWorker(
          ctx,
          mapId,
          from,
          to,
          out.subarray(from - offset, to - offset),
        ).catch((error: unknown) => {
          failed = true
          throw error
        })
      }
    }),
  )
}

/** `[offset, end)` cut at window boundaries. */
function windows(offset: number, end: number): [number, number][] {
  const window = WINDOW_BLOCKS * BLOCK
  const bounds: [number, number][] = []
  for (let from = offset; from < end; ) {
    const to = Math.min(end, (Math.floor(from / window) + 1) * window)
    bounds.push([from, to])
    from = to
  }
  return bounds
}
