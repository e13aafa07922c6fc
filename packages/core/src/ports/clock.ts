/**
 * The source of time. Services never call `Date.now()` themselves, so tests control time.
 *
 * @example
 * ```ts
 * const clock: Clock = { now: () => new Date('2024-01-15T10:30:00Z') }
 * ```
 */
export interface Clock {
  /** The current instant. */
  now(): Date
}

/** The wall clock. */
export const systemClock: Clock = Object.freeze({ now: () => new Date() })
