import { PStorageError } from '../errors.js'

/** Options of {@link createSemaphore}. */
export interface SemaphoreOptions {
  /** Tasks allowed to run at once (positive integer). */
  readonly max: number
  /**
   * Tasks allowed to queue behind them; one more fails fast with `service_unavailable` rather
   * than piling up memory and latency (OWASP API4: unrestricted resource consumption).
   * @default Infinity
   */
  readonly maxWaiting?: number
}

/**
 * Bounds how many async tasks run concurrently, in FIFO order.
 *
 * @example
 * ```ts
 * const hashes = createSemaphore({ max: 2 })
 * const key = await hashes.run(() => scryptAsync(password, salt, 64))
 * ```
 */
export interface Semaphore {
  /** Runs `task` once a slot is free; the slot is released however the task settles. */
  run<T>(task: () => Promise<T>): Promise<T>
  /** Tasks running now. */
  readonly active: number
  /** Tasks queued for a slot. */
  readonly waiting: number
}

/**
 * Creates a {@link Semaphore}.
 *
 * @example
 * ```ts
 * const jobs = createSemaphore({ max: 4, maxWaiting: 100 })
 * await jobs.run(async () => scrub(volume))
 * ```
 */
export function createSemaphore(options: SemaphoreOptions): Semaphore {
  const { max, maxWaiting = Number.POSITIVE_INFINITY } = options
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new PStorageError('internal_error', `[pstorage] semaphore max must be >= 1, got ${max}`)
  }
  if (!(maxWaiting >= 0)) {
    throw new PStorageError('internal_error', `[pstorage] semaphore maxWaiting must be >= 0`)
  }
  let active = 0
  const queue: Array<() => void> = []

  const release = () => {
    const next = queue.shift()
    // Hand the slot straight to the next waiter, so `active` never dips and lets a newcomer cut in.
    if (next) next()
    else active--
  }

  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (active < max) {
        active++
      } else {
        if (queue.length >= maxWaiting) {
          throw new PStorageError('service_unavailable', 'Server busy, retry shortly', {
            details: { reason: 'queue_full' },
          })
        }
        await new Promise<void>((resolve) => queue.push(resolve))
      }
      try {
        return await task()
      } finally {
        release()
      }
    },
    get active() {
      return active
    },
    get waiting() {
      return queue.length
    },
  }
}
