const EMPTY = 0
const TOMBSTONE = -1
const WORDS = 8

/**
 * A fixed-size open-addressing hash table from fingerprints (SHA-256, 32 bytes) to block
 * ids, in typed arrays: no object per entry, no string keys. The fingerprints are uniformly
 * random, so their first word is the hash. Keys are read from an `Int32Array` at a word
 * index (`byte offset / 4`), which is how analysed writes hold them.
 *
 * It never grows: `set` returns false when the table is half full, and the owner decides
 * (the dedupe cache clears itself: a cache miss only costs an index lookup).
 *
 * @example
 * ```ts
 * const table = new FpTable(1 << 12)
 * table.set(fps, 0, 42)
 * table.get(fps, 0) // 42
 * ```
 */
export class FpTable {
  readonly #mask: number
  readonly #keys: Int32Array
  readonly #ids: Float64Array
  readonly #limit: number
  #used = 0
  #size = 0
  readonly #scratch = new Int32Array(WORDS)
  readonly #scratchBytes = new Uint8Array(this.#scratch.buffer)

  /** `capacity` is rounded up to a power of two; half of it can be filled. */
  constructor(capacity: number) {
    const cap = 2 ** Math.max(4, Math.ceil(Math.log2(capacity)))
    this.#mask = cap - 1
    this.#keys = new Int32Array(cap * WORDS)
    this.#ids = new Float64Array(cap)
    this.#limit = cap >>> 1
  }

  /** Entries held. */
  get size(): number {
    return this.#size
  }

  /** Entries it can hold. */
  get limit(): number {
    return this.#limit
  }

  /** Whether slot `i` holds the fingerprint at word `at` of `src` (its {@link WORDS} words). */
  #holds(i: number, src: Int32Array, at: number): boolean {
    const keys = this.#keys
    const k = i * WORDS
    return (
      keys[k] === src[at] &&
      keys[k + 1] === src[at + 1] &&
      keys[k + 2] === src[at + 2] &&
      keys[k + 3] === src[at + 3] &&
      keys[k + 4] === src[at + 4] &&
      keys[k + 5] === src[at + 5] &&
      keys[k + 6] === src[at + 6] &&
      keys[k + 7] === src[at + 7]
    )
  }

  /** The id stored for the fingerprint at word `at` of `src`, or 0. */
  get(src: Int32Array, at: number): number {
    const ids = this.#ids
    let i = src[at]! & this.#mask
    for (;;) {
      const id = ids[i]!
      if (id === EMPTY) return 0
      if (id !== TOMBSTONE) {
        if (this.#holds(i, src, at)) return id
      }
      i = (i + 1) & this.#mask
    }
  }

  /** Stores `id` (> 0) for the fingerprint; false when the table is full. */
  set(src: Int32Array, at: number, id: number): boolean {
    const keys = this.#keys
    const ids = this.#ids
    let i = src[at]! & this.#mask
    let free = -1
    for (;;) {
      const current = ids[i]!
      if (current === EMPTY) break
      if (current === TOMBSTONE) {
        if (free < 0) free = i
      } else {
        if (this.#holds(i, src, at)) {
          ids[i] = id
          return true
        }
      }
      i = (i + 1) & this.#mask
    }
    if (free < 0) {
      if (this.#used >= this.#limit) return false
      free = i
      this.#used++
    }
    keys.set(src.subarray(at, at + WORDS), free * WORDS)
    ids[free] = id
    this.#size++
    return true
  }

  /** Removes the fingerprint if present. */
  delete(src: Int32Array, at: number): void {
    const ids = this.#ids
    let i = src[at]! & this.#mask
    for (;;) {
      const id = ids[i]!
      if (id === EMPTY) return
      if (id !== TOMBSTONE) {
        if (this.#holds(i, src, at)) {
          ids[i] = TOMBSTONE
          this.#size--
          return
        }
      }
      i = (i + 1) & this.#mask
    }
  }

  /** `get` for a fingerprint in any byte array (copied to aligned scratch first). */
  getBytes(fp: Uint8Array): number {
    return this.get(this.#load(fp), 0)
  }

  /** `set` for a fingerprint in any byte array. */
  setBytes(fp: Uint8Array, id: number): boolean {
    return this.set(this.#load(fp), 0, id)
  }

  /** `delete` for a fingerprint in any byte array. */
  deleteBytes(fp: Uint8Array): void {
    this.delete(this.#load(fp), 0)
  }

  /** `fp` copied into the aligned scratch (no view made when it is exactly 32 bytes). */
  #load(fp: Uint8Array): Int32Array {
    this.#scratchBytes.set(fp.length === 32 ? fp : fp.subarray(0, 32))
    return this.#scratch
  }

  /** Drops every entry. */
  clear(): void {
    this.#ids.fill(EMPTY)
    this.#used = 0
    this.#size = 0
  }

  /** A table of twice the capacity holding the same entries. */
  grown(): FpTable {
    const next = new FpTable(2 * this.#ids.length)
    for (let i = 0; i < this.#ids.length; i++) {
      const id = this.#ids[i]!
      if (id !== EMPTY && id !== TOMBSTONE) next.set(this.#keys, i * WORDS, id)
    }
    return next
  }

  /**
   * Keeps only the entries with ids from `from` on (and drops the tombstones); `dropped`
   * sees each entry let go, as the word index of its fingerprint in `keys`.
   */
  keepFrom(from: number, dropped?: (keys: Int32Array, at: number, id: number) => void): void {
    const keys = this.#keys.slice()
    const ids = this.#ids.slice()
    this.clear()
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!
      if (id === EMPTY || id === TOMBSTONE) continue
      if (id >= from) this.set(keys, i * WORDS, id)
      else dropped?.(keys, i * WORDS, id)
    }
  }
}

/**
 * The dedupe cache: fingerprints of live blocks the engine stored or looked up recently,
 * bounded (cleared when full). A hit saves an index lookup; a miss costs one. Entries of
 * blocks that die are removed when they are reaped, so a hit always names a live block.
 *
 * @example
 * ```ts
 * const cache = new DedupeCache(1 << 17)
 * cache.remember(fps, 0, 42)
 * ```
 */
export class DedupeCache {
  readonly #table: FpTable
  /** The ids of the last prefetched run: `(#from, #to]`. */
  #from = 0
  #to = 0

  constructor(capacity: number) {
    this.#table = new FpTable(capacity)
  }

  /**
   * Whether the blocks after `id` need fetching: they are not in the run fetched last, or
   * fewer than `ahead` of them are.
   */
  wantsAfter(id: number, ahead: number): boolean {
    return !(id >= this.#from && id + ahead <= this.#to)
  }

  /** Records the run of ids `(from, to]` just fetched into the cache. */
  prefetched(from: number, to: number): void {
    this.#from = from
    this.#to = to
  }

  /** The live block with this fingerprint, or 0 if not cached. */
  lookup(src: Int32Array, at: number): number {
    return this.#table.get(src, at)
  }

  /** Caches a live block. */
  remember(src: Int32Array, at: number, id: number): void {
    if (!this.#table.set(src, at, id)) {
      this.clear()
      this.#table.set(src, at, id)
    }
  }

  /** Forgets a block that died. */
  forgetBytes(fp: Uint8Array): void {
    this.#table.deleteBytes(fp)
  }

  /** Forgets everything (when full, or after a rolled-back commit). */
  clear(): void {
    this.#table.clear()
    this.#from = 0
    this.#to = 0
  }

  /** Entries held. */
  get size(): number {
    return this.#table.size
  }
}
