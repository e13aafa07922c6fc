import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import {
  type ChunkJob,
  ENCODED_FIELDS,
  FP_BYTES,
  type ReadJob,
  type SlabLayout,
} from './compute.js'
import { type ComputeJob, type JobResult, runJob } from './compute-jobs.js'

/** Blocks below which analysis runs inline: a worker round trip costs more. */
const INLINE_ANALYZE_BLOCKS = 32
/** Raw bytes below which encoding runs inline. */
const INLINE_ENCODE_BYTES = 128 * 1024
/** Smallest piece of analysis handed to one worker. */
const MIN_ANALYZE_PIECE = 256
/** Smallest piece of encoding handed to one worker, in chunks. */
const MIN_ENCODE_PIECE = 8
/** Heap limits of a compute worker, MiB. */
const WORKER_YOUNG_MB = 4
const WORKER_OLD_MB = 96

interface Slot {
  readonly worker: Worker
  pending: number
}

interface PendingJob {
  readonly slot: Slot
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
}

/**
 * Worker threads for the CPU-heavy steps of the data path (hashing, compression, verified
 * decoding), fed through shared memory: a write's data is copied once into a slab (a
 * SharedArrayBuffer) that the workers read in place, and results come back as transferred
 * buffers, never copies. With `threads` 0 every job runs inline on the calling thread.
 * Idle workers do not keep the process alive.
 *
 * @example
 * ```ts
 * const pool = ComputePool.shared(2)
 * await pool.analyze(slab, layout)
 * ```
 */
export class ComputePool {
  readonly threads: number
  readonly #slots: Slot[] = []
  readonly #jobs = new Map<number, PendingJob>()
  #nextId = 1

  constructor(threads: number) {
    this.threads = threads
  }

  static #shared: ComputePool | undefined
  static #inline = new ComputePool(0)

  /**
   * The process-wide pool (engines share it), grown to at least `threads` workers; 0 gives
   * an inline pool.
   */
  static shared(threads: number): ComputePool {
    if (threads <= 0) return ComputePool.#inline
    const current = ComputePool.#shared
    if (current && current.threads >= threads) return current
    // A pool outgrown by a later engine stays usable by the engines that hold it.
    ComputePool.#shared = new ComputePool(threads)
    return ComputePool.#shared
  }

  /** The default number of workers: one per CPU, at most 4. */
  static defaultThreads(): number {
    return Math.max(1, Math.min(4, availableParallelism()))
  }

  /** Fingerprints and classifies every block of a write's slab (in place). */
  async analyze(slab: Uint8Array, layout: SlabLayout): Promise<void> {
    const { blocks } = layout
    if (this.threads === 0 || blocks < INLINE_ANALYZE_BLOCKS) {
      runJob({ op: 'analyze', slab, layout, first: 0, count: blocks })
      return
    }
    const pieces = Math.max(1, Math.min(this.threads, Math.floor(blocks / MIN_ANALYZE_PIECE)))
    const per = Math.ceil(blocks / pieces)
    const runs: Promise<unknown>[] = []
    for (let first = 0; first < blocks; first += per) {
      runs.push(
        this.#run({ op: 'analyze', slab, layout, first, count: Math.min(per, blocks - first) }),
      )
    }
    await settleAll(runs)
  }

  /**
   * Encodes chunks (of one write's `data`, its fingerprints at `fpsAt`) into records in
   * `out`; returns per chunk the record length, codec and raw length, and the digests, in
   * job order.
   */
  async encode(
    data: Uint8Array,
    fpsAt: number,
    out: Uint8Array,
    chunks: readonly ChunkJob[],
  ): Promise<JobResult<'encode'>> {
    const raw = chunks.reduce((n, c) => n + c.members.length, 0) * 4096
    if (this.threads === 0 || raw < INLINE_ENCODE_BYTES) {
      return runJob({ op: 'encode', data, fpsAt, out, chunks }).result as JobResult<'encode'>
    }
    // Two pieces a worker: the fingerprints of the next write, which its planning waits
    // for, queue behind one piece of compression at most, not half a batch.
    const pieces = Math.max(
      1,
      Math.min(2 * this.threads, Math.floor(chunks.length / MIN_ENCODE_PIECE)),
    )
    const per = Math.ceil(chunks.length / pieces)
    const parts = await settleAll(
      Array.from({ length: Math.ceil(chunks.length / per) }, (_, i) =>
        this.#run({
          op: 'encode',
          data,
          fpsAt,
          out,
          chunks: chunks.slice(i * per, (i + 1) * per),
        }),
      ),
    )
    if (parts.length === 1) return parts[0] as JobResult<'encode'>
    const meta = new Float64Array(chunks.length * ENCODED_FIELDS)
    const hashes = new Uint8Array(chunks.length * FP_BYTES)
    for (const [i, part] of (parts as JobResult<'encode'>[]).entries()) {
      meta.set(part.meta, i * per * ENCODED_FIELDS)
      hashes.set(part.hashes, i * per * FP_BYTES)
    }
    return { meta, hashes }
  }

  /**
   * Verifies, decodes and scatters a read; an ArrayBuffer output is transferred there and
   * back, a view of shared memory is written in place.
   */
  async read(job: ReadJob): Promise<JobResult<'read'>> {
    if (this.threads === 0) return runJob({ op: 'read', read: job }).result as JobResult<'read'>
    const transfer = [job.output, job.chunks.buffer, job.hashes.buffer, job.pieces.buffer].filter(
      (b): b is ArrayBuffer => b instanceof ArrayBuffer && b.byteLength > 0,
    )
    return (await this.#run({ op: 'read', read: job }, transfer)) as JobResult<'read'>
  }

  /** Terminates the workers (pending jobs fail). */
  close(): void {
    for (const slot of this.#slots.splice(0)) void slot.worker.terminate()
  }

  #run(job: ComputeJob, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const slot = this.#pick()
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#jobs.set(id, { slot, resolve, reject })
      if (slot.pending++ === 0) slot.worker.ref()
      slot.worker.postMessage({ id, job }, transfer)
    })
  }

  #pick(): Slot {
    let best: Slot | undefined
    for (const slot of this.#slots) if (!best || slot.pending < best.pending) best = slot
    if (best && (best.pending === 0 || this.#slots.length >= this.threads)) return best
    return this.#spawn()
  }

  #spawn(): Slot {
    const url = new URL(
      import.meta.url.endsWith('.ts') ? './compute-worker.ts' : './compute-worker.js',
      import.meta.url,
    )
    // Small heaps: a worker's garbage is short-lived (strings, views); its big buffers are
    // shared slabs or transferred. V8's defaults let each worker's young generation grow
    // to tens of MiB of resident memory.
    const worker = new Worker(url, {
      name: 'pstorage-compute',
      resourceLimits: {
        maxYoungGenerationSizeMb: WORKER_YOUNG_MB,
        maxOldGenerationSizeMb: WORKER_OLD_MB,
      },
    })
    const slot: Slot = { worker, pending: 0 }
    worker.unref()
    const fail = (error: unknown) => {
      const index = this.#slots.indexOf(slot)
      if (index >= 0) this.#slots.splice(index, 1)
      for (const [id, job] of this.#jobs) {
        if (job.slot !== slot) continue
        this.#jobs.delete(id)
        job.reject(error)
      }
    }
    worker.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const job = this.#jobs.get(message.id)
      if (!job) return
      this.#jobs.delete(message.id)
      if (--slot.pending === 0) worker.unref()
      if (message.error !== undefined) job.reject(new Error(`compute worker: ${message.error}`))
      else job.resolve(message.result)
    })
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`compute worker exited with code ${code}`)))
    this.#slots.push(slot)
    return slot
  }
}

/**
 * The results of `jobs` once every one has settled, or the first failure: a job that fails
 * must not let its caller hand back (or reuse) memory the other jobs still read or write,
 * as `Promise.all` would by rejecting at once.
 *
 * @example
 * ```ts
 * await settleAll(pieces.map((piece) => files.readInto(piece.segment, piece.at, piece.into)))
 * ```
 */
export async function settleAll<T>(jobs: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(jobs)
  const failure = settled.find((r) => r.status === 'rejected')
  if (failure) throw failure.reason
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value)
}

/** Slabs kept for reuse at most, in bytes. */
const MAX_RETAINED = 48 * 1024 * 1024
const MiB = 1024 * 1024
/** Size step of slabs above 1 MiB. */
const GRANULE = 256 * 1024
/** Kept buffers are dropped after this long without a take. */
const IDLE_TRIM_MS = 1000

/**
 * Reusable SharedArrayBuffers for write data, encoded records and read records, so the
 * data path neither allocates nor page-faults fresh memory for every write and memory stays
 * flat. Sizes round up to a power of two below 1 MiB and to 256 KiB steps above; a request takes
 * the smallest free buffer that fits and is at most twice its size. At most 48 MiB are kept;
 * a buffer nobody took for a second is dropped.
 *
 * @example
 * ```ts
 * const slab = SLABS.take(8 << 20)
 * try { use(slab) } finally { SLABS.give(slab) }
 * ```
 */
export class SlabPool {
  /** Free buffers, smallest first, with when each was given back. */
  readonly #free: { readonly buffer: SharedArrayBuffer; readonly since: number }[] = []
  #retained = 0
  #trimTimer: NodeJS.Timeout | undefined

  /** A view of `bytes` bytes at the start of a (possibly reused) shared buffer. */
  take(bytes: number): Uint8Array {
    const size =
      bytes <= MiB
        ? 2 ** Math.max(16, Math.ceil(Math.log2(Math.max(1, bytes))))
        : Math.ceil(bytes / GRANULE) * GRANULE
    const i = this.#free.findIndex((f) => f.buffer.byteLength >= size)
    const fit = i >= 0 ? this.#free[i]!.buffer : undefined
    if (fit && fit.byteLength <= 2 * size) {
      this.#free.splice(i, 1)
      this.#retained -= fit.byteLength
      return new Uint8Array(fit, 0, bytes)
    }
    return new Uint8Array(new SharedArrayBuffer(size), 0, bytes)
  }

  /** Returns a view's buffer for reuse; the caller must not use it afterwards. */
  give(view: Uint8Array): void {
    const buffer = view.buffer
    if (!(buffer instanceof SharedArrayBuffer) || this.#free.some((f) => f.buffer === buffer))
      return
    this.#free.push({ buffer, since: Date.now() })
    this.#free.sort((a, b) => a.buffer.byteLength - b.buffer.byteLength)
    this.#retained += buffer.byteLength
    // Over the limit, the smallest go first: the large ones are the costly ones to fault in.
    while (this.#retained > MAX_RETAINED && this.#free.length > 0)
      this.#retained -= this.#free.shift()!.buffer.byteLength
    this.#armTrim()
  }

  /** Drops buffers nobody took for a second (a workload that needed them stopped). */
  #armTrim(): void {
    if (this.#trimTimer) return
    this.#trimTimer = setTimeout(() => {
      this.#trimTimer = undefined
      const now = Date.now()
      for (let i = this.#free.length - 1; i >= 0; i--) {
        const entry = this.#free[i]!
        if (now - entry.since < IDLE_TRIM_MS) continue
        this.#free.splice(i, 1)
        this.#retained -= entry.buffer.byteLength
      }
      if (this.#free.length > 0) this.#armTrim()
    }, IDLE_TRIM_MS)
    this.#trimTimer.unref()
  }

  /** Bytes held for reuse. */
  get retainedBytes(): number {
    return this.#retained
  }
}

/**
 * The process-wide slab pool.
 *
 * @example
 * ```ts
 * const slab = SLABS.take(4096)
 * ```
 */
export const SLABS = new SlabPool()
