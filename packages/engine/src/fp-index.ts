import type { BlockIndex } from './block-index.js'
import { FpTable } from './fp-table.js'
import type { MetaTable, SqliteDatabase } from './metadata-db.js'

/**
 * Bits of the smallest and of the largest filter of the SQLite index (1 MiB, 8 MiB). The
 * smallest holds 800k keys (3 GiB of unique blocks) before it must be rebuilt larger: a
 * rebuild reads every key of the index, 200 ms per 200k keys, while the writes wait.
 */
const MIN_FILTER_BITS = 1 << 23
const MAX_FILTER_BITS = 1 << 26
/** Hash functions of the filter: 4 at 10+ bits per key is about a 1% false-positive rate. */
const FILTER_HASHES = 4

/**
 * A Bloom filter over the keys of the SQLite dedupe index (the first 8 bytes of each
 * fingerprint, as two 32-bit words): most fingerprints of new data are not there, and the
 * filter says so without an index lookup. Deleted keys stay set (a false positive costs one
 * lookup); the filter is rebuilt from the index, twice as large, when it gets full.
 */
class KeyFilter {
  #bits: Uint32Array
  #mask: number
  #keys = 0

  constructor(bits: number) {
    this.#bits = new Uint32Array(bits >>> 5)
    this.#mask = bits - 1
  }

  /** Filter bits per key for `keys` keys. */
  static bitsFor(keys: number): number {
    let bits = MIN_FILTER_BITS
    while (bits < MAX_FILTER_BITS && bits < keys * 16) bits *= 2
    return bits
  }

  /** Whether `more` keys would leave fewer than 10 bits per key (and it can still grow). */
  needsGrowth(more: number): boolean {
    return (this.#keys + more) * 10 > this.#mask + 1 && this.#mask + 1 < MAX_FILTER_BITS
  }

  add(w0: number, w1: number): void {
    this.#keys++
    for (let i = 0; i < FILTER_HASHES; i++) {
      const bit = (w0 + Math.imul(i, w1)) & this.#mask
      this.#bits[bit >>> 5]! |= 1 << (bit & 31)
    }
  }

  has(w0: number, w1: number): boolean {
    for (let i = 0; i < FILTER_HASHES; i++) {
      const bit = (w0 + Math.imul(i, w1)) & this.#mask
      if ((this.#bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false
    }
    return true
  }

  addKey(key: Buffer): void {
    this.add(key.readInt32LE(0), key.readInt32LE(4))
  }
}

/** Slots of the staging table (40 bytes each: 5 MiB); half can be filled. */
const STAGING_SLOTS = 1 << 17
/** Staged blocks that trigger a merge into the SQLite index. */
const MERGE_AT = 48 * 1024
const WATERMARK = 'fp_index_watermark'

/**
 * The dedupe index of the engine, in two parts. Blocks below the watermark are in SQLite
 * (`fp_index`, keyed by the fingerprint's first 8 bytes). Newer blocks are staged in a
 * bounded in-memory table and merged into SQLite in one sorted batch once enough of them
 * gathered: random inserts into a B-tree at every commit would dirty most of its pages
 * each time (and write them all to the WAL), a sorted merge touches each page once.
 * Staged entries need no persistence of their own: they are the blocks at or above the
 * watermark in `pblocks`, reloaded at open.
 *
 * @example
 * ```ts
 * const index = new FingerprintIndex(db, blocks, meta)
 * index.staged(fps, 0) // the id of a recent block with that fingerprint, or 0
 * ```
 */
export class FingerprintIndex {
  readonly #db: SqliteDatabase
  readonly #blocks: BlockIndex
  readonly #meta: MetaTable
  readonly #staging = new FpTable(STAGING_SLOTS)
  readonly #mergeAt: number
  #watermark: number
  #filter: KeyFilter

  constructor(
    db: SqliteDatabase,
    blocks: BlockIndex,
    meta: MetaTable,
    nextId: number,
    mergeAt = MERGE_AT,
  ) {
    this.#db = db
    this.#blocks = blocks
    this.#meta = meta
    this.#mergeAt = Math.min(mergeAt, MERGE_AT)
    this.#watermark = meta.get<number>(WATERMARK) ?? 1
    if (blocks.countFrom(this.#watermark) > this.#mergeAt) this.#indexBelow(nextId)
    this.#filter = this.#buildFilter()
    for (const row of blocks.from(this.#watermark)) this.#staging.setBytes(row.fp, row.id)
  }

  /** A filter of every key of the SQLite index. */
  #buildFilter(): KeyFilter {
    const filter = new KeyFilter(KeyFilter.bitsFor(this.#blocks.indexedCount()))
    for (const key of this.#blocks.indexKeys()) filter.addKey(key)
    return filter
  }

  /**
   * Whether the SQLite index may hold the fingerprint at word `at` of `fps` (false: it
   * surely does not, no lookup needed).
   */
  mayBeIndexed(fps: Int32Array, at: number): boolean {
    return this.#filter.has(fps[at]!, fps[at + 1]!)
  }

  /** Ids below this are in SQLite; the others are staged in memory. */
  get watermark(): number {
    return this.#watermark
  }

  /** Blocks staged in memory. */
  get stagedCount(): number {
    return this.#staging.size
  }

  /** The staged block with the fingerprint at word `at` of `fps`, or 0. */
  staged(fps: Int32Array, at: number): number {
    return this.#staging.get(fps, at)
  }

  /** The staged block with this fingerprint, or 0. */
  stagedBytes(fp: Uint8Array): number {
    return this.#staging.getBytes(fp)
  }

  /**
   * Makes room for `count` blocks just committed: when they would not fit, every block
   * below `committedBelow` (all ids below it are committed) is merged into SQLite first.
   */
  reserve(count: number, committedBelow: number): void {
    if (this.#staging.size + count > this.#mergeAt) this.merge(committedBelow)
  }

  /**
   * Stages a committed block whose fingerprint is at word `at` of `fps`. A block below the
   * watermark is in SQLite already (the merge of {@link FingerprintIndex.reserve} that
   * made room for it took it from `pblocks`): its key joins the filter here.
   */
  put(fps: Int32Array, at: number, id: number): void {
    if (id >= this.#watermark) this.#staging.set(fps, at, id)
    else this.#filter.add(fps[at]!, fps[at + 1]!)
  }

  /** Forgets a block that died (its SQLite entry, if any, goes with the reaping). */
  forget(fp: Uint8Array, id: number): void {
    if (id >= this.#watermark) this.#staging.deleteBytes(fp)
  }

  /**
   * Moves the blocks below `upTo` into SQLite, in its own transaction. Every id below
   * `upTo` must be committed (or never used): a batch still in flight takes ids from its
   * own first id on, so callers pass the lowest first id of the batches in flight.
   */
  merge(upTo: number): void {
    if (upTo <= this.#watermark) return
    const grow = this.#filter.needsGrowth(upTo - this.#watermark)
    this.#indexBelow(upTo)
    // The merged keys join the filter from the staging table, which holds every block
    // staged (`put`) at or above the old watermark: no read of the index. The blocks of the
    // batch that asked for this merge are staged after it: `put` adds theirs. A filter
    // that would get too full is rebuilt larger from the index (which holds them all).
    const filter = this.#filter
    this.#staging.keepFrom(
      upTo,
      grow ? undefined : (keys, at) => filter.add(keys[at]!, keys[at + 1]!),
    )
    if (grow) this.#filter = this.#buildFilter()
  }

  /** Indexes the blocks from the watermark up to `upTo` in SQLite and moves the watermark. */
  #indexBelow(upTo: number): void {
    this.#db.transaction(() => {
      this.#blocks.index(this.#watermark, upTo)
      this.#meta.set(WATERMARK, upTo)
    })()
    this.#watermark = upTo
  }

  /** Drops the staging table and reloads it (after a rolled-back commit). */
  reload(): void {
    this.#staging.clear()
    for (const row of this.#blocks.from(this.#watermark)) this.#staging.setBytes(row.fp, row.id)
  }
}
