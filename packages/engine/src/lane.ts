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
 * The two stages of a group commit. `prepare` of a batch may run while the previous batch
 * is still in `finish`; `finish` runs one batch at a time, in order. Both settle the
 * writes themselves and must not throw.
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
 * The single lane of every mutation. Writes that queue up while a batch commits are taken
 * together (group commit: one segment append, one fsync, one SQLite transaction); other
 * operations (snapshots, deletes, GC steps) run alone, in arrival order, once every batch
 * before them finished. Serialising mutations is what makes concurrent writes to the same
 * block land in call order. With two stages, the next batch is prepared (planned and
 * compressed) while the previous one is written and committed: a pipeline of depth two.
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
  readonly #queue: (Task<W> | undefined)[] = []
  #head = 0
  #draining: Promise<void> | undefined
  /** Wakes a drain waiting for its last batch to finish when new tasks arrive. */
  #wake: (() => void) | undefined

  constructor(stages: LaneStages<W, P> | ((batch: W[]) => Promise<void>)) {
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
    // The batch being finished, if any; the next one is prepared meanwhile.
    let finishing: Promise<void> | undefined
    try {
      for (;;) {
        if (this.#head >= this.#queue.length) {
          if (!finishing) break
          // Nothing queued: wait for the last batch, or for a write to prepare meanwhile.
          const done = await Promise.race([
            finishing.then(() => true),
            new Promise<false>((resolve) => {
              this.#wake = () => resolve(false)
            }),
          ])
          this.#wake = undefined
          if (done) finishing = undefined
          continue
        }
        const task = this.#queue[this.#head]!
        if (task.kind === 'op') {
          await finishing
          finishing = undefined
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
        // The stages settle every write themselves; an escaping error must not stop the lane.
        let prepared: P
        try {
          prepared = await this.#stages.prepare(batch)
        } catch {
          continue
        }
        const previous = finishing
        finishing = (async () => {
          await previous
          await this.#stages.finish(prepared).catch(() => undefined)
        })()
        // At most one batch prepared ahead of the one finishing.
        await previous
      }
    } finally {
      await finishing
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
