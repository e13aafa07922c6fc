/** Bytes of host data one group commit takes at most, so a batch's memory stays bounded. */
const MAX_BATCH_BYTES = 8 * 1024 * 1024

/**
 * A queued write, processed in a group commit with the writes queued next to it.
 *
 * @example
 * ```ts
 * const write: LaneWrite = { data: new Uint8Array(4096) }
 * ```
 */
export interface LaneWrite {
  readonly data: Uint8Array
}

type Task<W> =
  | { readonly kind: 'write'; readonly write: W }
  | { readonly kind: 'op'; readonly run: () => Promise<void> }

/**
 * The two stages of a group commit. `prepare` of a batch runs while earlier batches are
 * still in `finish`; `finish` runs one batch at a time, in order. Both settle the writes
 * themselves and must not throw.
 *
 * @example
 * ```ts
 * const stages: LaneStages<MyWrite, Planned> = { prepare: plan, finish: commit }
 * ```
 */
export interface LaneStages<W, P> {
  prepare(batch: W[]): Promise<P>
  finish(prepared: P): Promise<void>
}

/**
 * Batches in the pipeline at once by default: one finishing and up to two prepared behind
 * it (the second only for a whole batch of writes).
 */
export const DEFAULT_LANE_DEPTH = 3

/**
 * The single lane of every mutation. Writes that queue up while a batch commits are taken
 * together (group commit: one segment append, one fsync, one SQLite transaction); other
 * operations (snapshots, deletes, GC steps) run alone, in arrival order, once every batch
 * before them finished. Serialising mutations is what makes concurrent writes to the same
 * block land in call order. The stages form a pipeline of `depth` batches: batches are
 * prepared one after another, in order, while up to `depth - 1` earlier ones wait for or
 * run their `finish` (so a `prepare` that returns before its batch's slow part is done, as
 * the engine's does with compression, lets that part overlap the batches around it). Past
 * two batches, a batch is prepared only when a whole one (`MAX_BATCH_BYTES`) is queued:
 * a stream of large writes fills the pipeline, small writes keep gathering into the next
 * group commit.
 *
 * @example
 * ```ts
 * const lane = new Lane<MyWrite>(async (batch) => commit(batch))
 * lane.write(request)
 * await lane.run(async () => snapshot())
 * ```
 */
export class Lane<W extends LaneWrite, P = W[]> {
  readonly #stages: LaneStages<W, P>
  readonly #depth: number
  readonly #queue: (Task<W> | undefined)[] = []
  #head = 0
  #draining: Promise<void> | undefined
  /** Wakes a drain waiting for a batch to finish when new tasks arrive. */
  #wake: (() => void) | undefined

  constructor(
    stages: LaneStages<W, P> | ((batch: W[]) => Promise<void>),
    depth = DEFAULT_LANE_DEPTH,
  ) {
    if (!(Number.isInteger(depth) && depth >= 1)) throw new RangeError('depth must be >= 1')
    this.#depth = depth
    this.#stages =
      typeof stages === 'function'
        ? ({
            prepare: async (batch: W[]) => batch,
            finish: (batch: W[]) => stages(batch),
          } as unknown as LaneStages<W, P>)
        : stages
  }

  /** Queues a write; the stages settle it. */
  write(write: W): void {
    this.#queue.push({ kind: 'write', write })
    this.#kick()
  }

  /** Runs `fn` alone on the lane and returns its result. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ kind: 'op', run: () => Promise.resolve().then(fn).then(resolve, reject) })
      this.#kick()
    })
  }

  /** Number of tasks waiting. */
  get pending(): number {
    return this.#queue.length - this.#head
  }

  /** Resolves when the lane has nothing left to do. */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining
  }

  #kick(): void {
    if (this.#draining) {
      this.#wake?.()
      return
    }
    // Start on the next microtask, so the writes issued in one synchronous run (a
    // Promise.all of writes) form one batch instead of the first going alone.
    this.#draining = Promise.resolve()
      .then(() => this.#drain())
      .finally(() => {
        this.#draining = undefined
        if (this.pending > 0) this.#kick()
      })
  }

  async #drain(): Promise<void> {
    // The finish of each batch prepared and not yet finished, oldest first; each one
    // starts when the one before it is done.
    const finishing: Promise<void>[] = []
    const settleOldest = async () => {
      await finishing[0]
      finishing.shift()
    }
    // Waits for the oldest batch to finish or for a new task, whichever comes first.
    const oldestOrNews = async () => {
      const done = await Promise.race([
        finishing[0]!.then(() => true),
        new Promise<false>((resolve) => {
          this.#wake = () => resolve(false)
        }),
      ])
      this.#wake = undefined
      if (done) finishing.shift()
    }
    try {
      for (;;) {
        if (this.#head >= this.#queue.length) {
          if (finishing.length === 0) break
          // Nothing queued: wait for a batch to finish, or for a write to prepare meanwhile.
          await oldestOrNews()
          continue
        }
        const task = this.#queue[this.#head]!
        if (task.kind === 'op') {
          while (finishing.length > 0) await settleOldest()
          this.#take(1)
          await task.run()
          continue
        }
        if (finishing.length >= this.#depth) {
          await settleOldest()
          continue
        }
        if (finishing.length >= 2 && this.#queuedBytes() < MAX_BATCH_BYTES) {
          // A third batch in the pipeline only when a whole one is waiting: smaller writes
          // keep gathering into one batch (one fsync) until an earlier batch is done.
          await oldestOrNews()
          continue
        }
        const batch: W[] = []
        let bytes = 0
        while (this.#head < this.#queue.length) {
          const next = this.#queue[this.#head]!
          if (
            next.kind !== 'write' ||
            (batch.length > 0 && bytes + next.write.data.length > MAX_BATCH_BYTES)
          )
            break
          batch.push(next.write)
          bytes += next.write.data.length
          this.#take(1)
        }
        // The stages settle every write themselves; an escaping error must not stop the lane.
        let prepared: P
        try {
          prepared = await this.#stages.prepare(batch)
        } catch {
          continue
        }
        const previous = finishing.at(-1)
        finishing.push(
          (async () => {
            await previous
            await this.#stages.finish(prepared).catch(() => undefined)
          })(),
        )
      }
    } finally {
      while (finishing.length > 0) await settleOldest()
    }
  }

  /** Bytes of the writes at the head of the queue, counted up to one batch's worth. */
  #queuedBytes(): number {
    let bytes = 0
    for (let i = this.#head; i < this.#queue.length && bytes < MAX_BATCH_BYTES; i++) {
      const task = this.#queue[i]!
      if (task.kind !== 'write') break
      bytes += task.write.data.length
    }
    return bytes
  }

  #take(n: number): void {
    // Release each taken task at once: a task holds its write's data, and a consumed task
    // kept in the array would pin that buffer (sequential 4 MiB writes once pinned every
    // byte written until a compaction, gigabytes).
    for (let i = 0; i < n; i++) this.#queue[this.#head++] = undefined
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0
      this.#head = 0
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      // Compact now and then so the array does not grow with the number of writes ever made.
      this.#queue.splice(0, this.#head)
      this.#head = 0
    }
  }
}
