import { PStorageError } from '../errors.js'
import type { Clock } from '../ports/clock.js'

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Requests allowed in a burst, and per `windowMs` sustained (positive integer). */
  readonly limit: number
  /** Time for an empty bucket to refill completely, in ms (positive integer). */
  readonly windowMs: number
  readonly clock: Clock
  /**
   * Most keys tracked at once; past it the least recently used key is dropped. Bounds memory
   * against key floods (e.g. rotating IPv6 sources; OWASP API4). @default 10000
   */
  readonly maxKeys?: number
}

/** Outcome of one {@link RateLimiter.take}: everything the rate-limit headers need. */
export interface RateLimitResult {
  readonly allowed: boolean
  /** `X-RateLimit-Limit`. */
  readonly limit: number
  /** `X-RateLimit-Remaining`: requests still allowed right now. */
  readonly remaining: number
  /** `X-RateLimit-Reset`: epoch seconds when the bucket is full again. */
  readonly resetAt: number
  /** `Retry-After` (RFC 9110 §10.2.3) when denied: seconds until one request fits; else 0. */
  readonly retryAfterSeconds: number
}

/**
 * Keyed request limiter.
 *
 * @example
 * ```ts
 * const result = limiter.take(`login:${username}`)
 * if (!result.allowed) throw new PStorageError('rate_limited', 'Too many attempts')
 * ```
 */
export interface RateLimiter {
  /** Spends one request of `key`'s budget, if there is one. */
  take(key: string): RateLimitResult
  /** Forgets `key` (its budget is full again), e.g. after a successful login. */
  reset(key: string): void
  /** Keys tracked now. */
  readonly size: number
}

/**
 * Creates an in-memory token-bucket {@link RateLimiter}: bursts of up to `limit`, refilled
 * continuously at `limit / windowMs` (the reference's per-key token buckets). Chosen over a
 * sliding log (O(limit) memory per key) and fixed windows (2× bursts at the boundary): state
 * is one integer pair per key, and a bucket idle for `windowMs` is full, exactly like an
 * absent one, so idle keys are evicted without changing any answer.
 *
 * Implemented as GCRA (ITU-T I.371 virtual scheduling), the integer form of a token bucket:
 * the backlog is kept in ms × limit units, so there is no floating-point drift at boundaries.
 *
 * @example
 * ```ts
 * const login = createRateLimiter({ limit: 5, windowMs: 60_000, clock: systemClock })
 * ```
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { limit, windowMs, clock, maxKeys = 10_000 } = options
  for (const [name, value] of Object.entries({ limit, windowMs, maxKeys })) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new PStorageError('internal_error', `[pstorage] rate limiter ${name} must be >= 1`)
    }
  }
  // Capacity in backlog units: each request adds `windowMs`, each ms drains `limit`.
  const capacity = windowMs * limit
  if (!Number.isSafeInteger(capacity)) {
    throw new PStorageError('internal_error', '[pstorage] rate limiter limit × windowMs too large')
  }
  // Insertion order = least recently used first, because every touch re-inserts the key.
  const buckets = new Map<string, { backlog: number; at: number }>()

  const sweep = (now: number) => {
    for (const [key, bucket] of buckets) {
      if (now - bucket.at < windowMs) break
      buckets.delete(key)
    }
  }

  return {
    take(key: string): RateLimitResult {
      const now = clock.now().getTime()
      sweep(now)
      const previous = buckets.get(key)
      let backlog = 0
      if (previous) {
        buckets.delete(key)
        // A clock stepping backwards drains nothing rather than adding budget.
        const elapsed = Math.max(0, now - previous.at)
        backlog = elapsed >= windowMs ? 0 : Math.max(0, previous.backlog - elapsed * limit)
      }
      const allowed = backlog + windowMs <= capacity
      if (allowed) backlog += windowMs
      // The LRU key has drained the longest, so evicting it is the least generous choice.
      if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value!)
      buckets.set(key, { backlog, at: now })

      const retryMs = allowed ? 0 : Math.ceil((backlog + windowMs - capacity) / limit)
      return {
        allowed,
        limit,
        remaining: Math.floor((capacity - backlog) / windowMs),
        resetAt: Math.ceil((now + Math.ceil(backlog / limit)) / 1000),
        retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(retryMs / 1000)),
      }
    },
    reset(key: string): void {
      buckets.delete(key)
    },
    get size() {
      return buckets.size
    },
  }
}

/**
 * The response headers for a {@link RateLimitResult}; `Retry-After` only when denied.
 *
 * @example
 * ```ts
 * for (const [name, value] of Object.entries(rateLimitHeaders(result))) c.header(name, value)
 * ```
 */
export function rateLimitHeaders(result: RateLimitResult): Record<string, string> {
  const headers: Record<string, string> = {
    'X-RateLimit-Limit': String(result.limit),
    'X-RateLimit-Remaining': String(result.remaining),
    'X-RateLimit-Reset': String(result.resetAt),
  }
  if (!result.allowed) headers['Retry-After'] = String(result.retryAfterSeconds)
  return headers
}
