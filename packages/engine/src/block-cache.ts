/**
 * A least-recently-used cache of decoded, verified blocks keyed by physical block id,
 * bounded in bytes. Physical blocks are immutable and their ids never reused, so entries
 * never go stale; GC moves records without changing ids.
 *
 * @example
 * ```ts
 * const cache = new BlockCache(16 << 20)
 * cache.set(42, bytes)
 * cache.get(42)
 * ```
 */
export class BlockCache {
  readonly #limit: number
  readonly #entries = new Map<number, Uint8Array>()
  #bytes = 0
  #hits = 0
  #misses = 0

  constructor(limitBytes: number) {
    this.#limit = limitBytes
  }

  /** The cached block, refreshed as most recently used. */
  get(id: number): Uint8Array | undefined {
    const block = this.#entries.get(id)
    if (block === undefined) {
      this.#misses++
      return undefined
    }
    this.#hits++
    this.#entries.delete(id)
    this.#entries.set(id, block)
    return block
  }

  /** Caches a block; callers must never mutate it afterwards. */
  set(id: number, block: Uint8Array): void {
    if (block.length > this.#limit) return
    this.delete(id)
    this.#entries.set(id, block)
    this.#bytes += block.length
    for (const [oldest, value] of this.#entries) {
      if (this.#bytes <= this.#limit) break
      this.#entries.delete(oldest)
      this.#bytes -= value.length
    }
  }

  /** Drops a block (scrub found its record corrupt: the next read must see the medium). */
  delete(id: number): void {
    const old = this.#entries.get(id)
    if (old === undefined) return
    this.#entries.delete(id)
    this.#bytes -= old.length
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
