import { SEGMENT_HEADER_SIZE } from './segment-format.js'

/**
 * The columns of a segment row the summary aggregates.
 *
 * @example
 * ```ts
 * summary.add({ state: 'free', erase_count: 0, write_offset: 64, live_bytes: 0 }, 1)
 * ```
 */
export interface SummarisedRow {
  readonly state: 'free' | 'open' | 'sealed'
  readonly erase_count: number
  readonly write_offset: number
  readonly live_bytes: number
}

/**
 * Segment counts by state, and record bytes: live, and written since each erase.
 *
 * @example
 * ```ts
 * const { free, live }: SegmentCounts = segments.counts()
 * ```
 */
export interface SegmentCounts {
  readonly n: number
  readonly free: number
  readonly open: number
  readonly sealed: number
  readonly live: number
  readonly written: number
}

/**
 * Erase-count statistics over all segments.
 *
 * @example
 * ```ts
 * const { max, min }: WearFigures = segments.wear()
 * ```
 */
export interface WearFigures {
  readonly min: number
  readonly max: number
  readonly avg: number
  readonly variance: number
}

/**
 * Aggregates of the segment table kept in memory and updated row by row, so the checks
 * every write batch makes (free segments, live bytes, wear spread) cost O(1) instead of a
 * scan of every segment. Its size is bounded by the number of distinct erase counts.
 *
 * @example
 * ```ts
 * const summary = new SegmentSummary()
 * summary.add(row, 1)
 * summary.counts().free
 * ```
 */
export class SegmentSummary {
  #n = 0
  #free = 0
  #open = 0
  #sealed = 0
  #live = 0
  #written = 0
  #eraseSum = 0
  #eraseSquares = 0
  /** Segments per erase count; the smallest key with segments is the minimum. */
  readonly #byErase = new Map<number, number>()

  /** Adds (`sign` 1) or removes (`sign` -1) one row's contribution. */
  add(row: SummarisedRow, sign: 1 | -1): void {
    this.#n += sign
    if (row.state === 'free') this.#free += sign
    else if (row.state === 'open') this.#open += sign
    else this.#sealed += sign
    this.#live += sign * row.live_bytes
    if (row.state !== 'free') this.#written += sign * (row.write_offset - SEGMENT_HEADER_SIZE)
    const e = row.erase_count
    this.#eraseSum += sign * e
    this.#eraseSquares += sign * e * e
    const left = (this.#byErase.get(e) ?? 0) + sign
    if (left === 0) this.#byErase.delete(e)
    else this.#byErase.set(e, left)
  }

  /** Adjusts live bytes alone (blocks died or were moved). */
  addLive(bytes: number): void {
    this.#live += bytes
  }

  /** Counts by state and byte totals. */
  counts(): SegmentCounts {
    return {
      n: this.#n,
      free: this.#free,
      open: this.#open,
      sealed: this.#sealed,
      live: this.#live,
      written: this.#written,
    }
  }

  /** Erase-count minimum, maximum, mean and variance. */
  wear(): WearFigures {
    if (this.#n === 0) return { min: 0, max: 0, avg: 0, variance: 0 }
    const counts = [...this.#byErase.keys()]
    const avg = this.#eraseSum / this.#n
    return {
      min: Math.min(...counts),
      max: Math.max(...counts),
      avg,
      variance: Math.max(0, this.#eraseSquares / this.#n - avg * avg),
    }
  }
}
