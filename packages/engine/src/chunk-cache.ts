/**
 * A decoded, verified chunk: the members its record held (`mask`) and their bytes.
 *
 * @example
 * ```ts
 * const entry: CachedChunk = { mask: 0xff, content }
 * ```
 */
export interface CachedChunk {
  readonly mask: number
  readonly content: Uint8Array
}

/**
 * A least-recently-used cache of decoded, verified chunks keyed by chunk id, bounded in
 * bytes. A chunk's live members never change their bytes (GC only drops dead members and
 * moves records), so an entry stays valid for every member its mask holds.
 *
 * @example
 * ```ts
 * const cache = new ChunkCache(16 << 20)
 * cache.set(42, { mask: 1, content })
 * cache.get(42)
 * ```
 */
export class ChunkCache {
  readonly #limit: number
  readonly #entries = new Map<number, CachedChunk>()
  #bytes = 0
  #hits = 0
  #misses = 0

  constructor(limitBytes: number) {
    this.#limit = limitBytes
  }

  /** The cached chunk, refreshed as most recently used. */
  get(id: number): CachedChunk | undefined {
    const entry = this.#entries.get(id)
    if (entry === undefined) {
      this.#misses++
      return undefined
    }
    this.#hits++
    this.#entries.delete(id)
    this.#entries.set(id, entry)
    return entry
  }

  /** Caches a chunk; callers must never mutate its content afterwards. */
  set(id: number, entry: CachedChunk): void {
    if (entry.content.length > this.#limit) return
    this.delete(id)
    this.#entries.set(id, entry)
    this.#bytes += entry.content.length
    for (const [oldest, value] of this.#entries) {
      if (this.#bytes <= this.#limit) break
      this.#entries.delete(oldest)
      this.#bytes -= value.content.length
    }
  }

  /** Drops a chunk (scrub found its record corrupt: the next read must see the medium). */
  delete(id: number): void {
    const old = this.#entries.get(id)
    if (old === undefined) return
    this.#entries.delete(id)
    this.#bytes -= old.content.length
  }

  /** Drops everything. */
  clear(): void {
    this.#entries.clear()
    this.#bytes = 0
  }

  /** Size and effectiveness figures. */
  figures(): { bytes: number; limit_bytes: number; entries: number; hits: number; misses: number } {
    return {
      bytes: this.#bytes,
      limit_bytes: this.#limit,
      entries: this.#entries.size,
      hits: this.#hits,
      misses: this.#misses,
    }
  }
}
