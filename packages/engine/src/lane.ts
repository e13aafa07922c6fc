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
 * The single lane of every mutation. Writes that queue up while a batch commits are taken
 * together (group commit: one segment append, one fsync, one SQLite transaction); other
 * operations (snapshots, deletes, GC steps) run alone, in arrival order. Serialising
 * mutations is what makes concurrent writes to the same block land in call order.
 *
 * @example
 * ```ts
 * const lane = new Lane<MyWrite>(async (batch) => commit(batch))
 * lane.write(request)
 * await lane.run(async () => snapshot())
 * ```
 */
export class Lane<W extends LaneWrite> {
  readonly #commit: (batch: W[]) => Promise<void>
  readonly #queue: (Task<W> | undefined)[] = []
  #head = 0
  #draining: Promise<void> | undefined

  constructor(commit: (batch: W[]) => Promise<void>) {
    this.#commit = commit
  }

  /** Queues a write; `commit` settles it. */
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
    if (this.#draining) return
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
    while (this.#head < this.#queue.length) {
      const task = this.#queue[this.#head]!
      if (task.kind === 'op') {
        this.#take(1)
        await task.run()
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
      // commit settles every write itself; an escaping error must not stop the lane.
      await this.#commit(batch).catch(() => undefined)
    }
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
