import type SQLite from 'better-sqlite3'
import type { SqliteDatabase } from './metadata-db.js'

/**
 * A live physical block: its fingerprint, reference count and place in its chunk.
 *
 * @example
 * ```ts
 * const row: PblockRow | undefined = blocks.get(42)
 * ```
 */
export interface PblockRow {
  readonly id: number
  readonly fp: Buffer
  readonly refs: number
  /** Index in its chunk: the chunk's id is `id - slot`. */
  readonly slot: number
}

/** Rows per multi-row insert statement. */
const INSERT_ROWS = 64

/**
 * The reference counts and fingerprints of physical blocks (`pblocks`) and the dedupe
 * index below the watermark (`fp_index`). A block whose count reaches zero is reaped in
 * the same transaction, so a fingerprint found here always names live data.
 *
 * @example
 * ```ts
 * const blocks = new BlockIndex(db)
 * const hits = blocks.probe(fps, 2)
 * ```
 */
export class BlockIndex {
  readonly #probe: SQLite.Statement<[Buffer, number], { i: number; id: number }>
  readonly #byId: SQLite.Statement<[number], PblockRow>
  readonly #insertMany: SQLite.Statement<(number | Buffer)[]>
  readonly #insertOne: SQLite.Statement<(number | Buffer)[]>
  readonly #addRefsRange: SQLite.Statement<[number, number, number]>
  readonly #inRange: SQLite.Statement<[number, number], { id: number; slot: number }>
  readonly #following: SQLite.Statement<
    [number, number],
    { first: number | null; last: number | null; n: number; fps: Buffer | null }
  >
  readonly #followingIds: SQLite.Statement<[number, number], { ids: string | null }>
  readonly #from: SQLite.Statement<[number], { id: number; fp: Buffer }>
  readonly #countFrom: SQLite.Statement<[number], { n: number }>
  readonly #merge: SQLite.Statement<[number, number]>
  readonly #allKeys: SQLite.Statement<[], Buffer>
  readonly #indexed: SQLite.Statement<[], number>
  readonly #dead: SQLite.Statement<[], { id: number; fp: Buffer; slot: number }>
  readonly #unindexDead: SQLite.Statement<[]>
  readonly #deleteDead: SQLite.Statement<[]>
  readonly #maxId: SQLite.Statement<[], { id: number | null }>

  constructor(db: SqliteDatabase) {
    // One statement for all fingerprints of a write: position i of the concatenated
    // fingerprints is looked up in fp_index by its first 8 bytes, then compared whole.
    this.#probe = db.prepare(
      `WITH RECURSIVE f(b) AS (SELECT ?), k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < ?)
       SELECT k.i AS i, p.id AS id FROM f, k
       JOIN fp_index x ON x.key = substr(f.b, k.i * 32 + 1, 8)
       JOIN pblocks p ON p.id = x.id AND p.fp = substr(f.b, k.i * 32 + 1, 32)`,
    )
    this.#byId = db.prepare('SELECT id, fp, refs, slot FROM pblocks WHERE id = ?')
    const row = '(?, ?, ?, ?)'
    this.#insertMany = db.prepare(
      `INSERT INTO pblocks (id, fp, refs, slot) VALUES ${Array.from({ length: INSERT_ROWS }, () => row).join(', ')}`,
    )
    this.#insertOne = db.prepare(`INSERT INTO pblocks (id, fp, refs, slot) VALUES ${row}`)
    this.#addRefsRange = db.prepare('UPDATE pblocks SET refs = refs + ? WHERE id >= ? AND id <= ?')
    this.#inRange = db.prepare('SELECT id, slot FROM pblocks WHERE id >= ? AND id <= ? ORDER BY id')
    // The fingerprints as one blob (group_concat copies each value's bytes as they are),
    // and the ids as their range when it has no gap: one value instead of a row per block.
    this.#following = db.prepare(
      `SELECT min(id) AS first, max(id) AS last, count(*) AS n,
              CAST(group_concat(fp, '') AS BLOB) AS fps
       FROM (SELECT id, fp FROM pblocks WHERE id > ? ORDER BY id LIMIT ?)`,
    )
    this.#followingIds = db.prepare(
      'SELECT group_concat(id) AS ids FROM (SELECT id FROM pblocks WHERE id > ? ORDER BY id LIMIT ?)',
    )
    this.#from = db.prepare('SELECT id, fp FROM pblocks WHERE id >= ? ORDER BY id')
    this.#countFrom = db.prepare('SELECT COUNT(*) AS n FROM pblocks WHERE id >= ?')
    // Sorted by key: a bulk merge touches each index page once.
    this.#merge = db.prepare(
      'INSERT INTO fp_index (key, id) SELECT substr(fp, 1, 8), id FROM pblocks WHERE id >= ? AND id < ? ORDER BY 1, 2',
    )
    this.#allKeys = db.prepare<[], Buffer>('SELECT key FROM fp_index').pluck()
    this.#indexed = db.prepare<[], number>('SELECT COUNT(*) FROM fp_index').pluck()
    // These match the partial index pblocks_dead, so reaping costs O(dead blocks).
    this.#dead = db.prepare('SELECT id, fp, slot FROM pblocks WHERE refs <= 0')
    this.#unindexDead = db.prepare(
      'DELETE FROM fp_index WHERE (key, id) IN (SELECT substr(fp, 1, 8), id FROM pblocks WHERE refs <= 0)',
    )
    this.#deleteDead = db.prepare('DELETE FROM pblocks WHERE refs <= 0')
    this.#maxId = db.prepare('SELECT MAX(id) AS id FROM pblocks')
  }

  /**
   * Looks up `n` fingerprints (concatenated in `fps`) in the index below the watermark:
   * the position and block id of each one found.
   */
  probe(fps: Buffer, n: number): { i: number; id: number }[] {
    return n === 0 ? [] : this.#probe.all(fps, n)
  }

  /** Up to `limit` blocks after `id`, in id order, with their fingerprints back to back. */
  following(id: number, limit: number): { ids: number[]; fps: Buffer } {
    const row = this.#following.get(id, limit)
    const { first, last, n, fps } = row ?? { first: null, last: null, n: 0, fps: null }
    if (first === null || last === null || fps === null || fps.length !== n * 32)
      return { ids: [], fps: Buffer.alloc(0) }
    if (last - first + 1 === n) return { ids: Array.from({ length: n }, (_, k) => first + k), fps }
    const ids = this.#followingIds.get(id, limit)?.ids?.split(',').map(Number) ?? []
    return ids.length === n ? { ids, fps } : { ids: [], fps: Buffer.alloc(0) }
  }

  /** Blocks with ids from `id` on (the ones above the index watermark). */
  from(id: number): { id: number; fp: Buffer }[] {
    return this.#from.all(id)
  }

  /** How many blocks have ids from `id` on. */
  countFrom(id: number): number {
    return this.#countFrom.get(id)?.n ?? 0
  }

  /** Adds the blocks with ids in `[from, to)` to the index (inside a transaction). */
  index(from: number, to: number): void {
    this.#merge.run(from, to)
  }

  /** Every key of the index. */
  indexKeys(): IterableIterator<Buffer> {
    return this.#allKeys.iterate()
  }

  /** Number of index entries. */
  indexedCount(): number {
    return this.#indexed.get() ?? 0
  }

  /** A live block by id. */
  get(id: number): PblockRow | undefined {
    return this.#byId.get(id)
  }

  /** Records new blocks with their first reference counts. */
  insert(blocks: readonly { id: number; fp: Uint8Array; slot: number; refs: number }[]): void {
    let at = 0
    const params: (number | Buffer)[] = []
    const fp = (b: { fp: Uint8Array }) =>
      Buffer.isBuffer(b.fp) ? b.fp : Buffer.from(b.fp.buffer, b.fp.byteOffset, b.fp.byteLength)
    for (; at + INSERT_ROWS <= blocks.length; at += INSERT_ROWS) {
      params.length = 0
      for (let i = at; i < at + INSERT_ROWS; i++) {
        const b = blocks[i]!
        params.push(b.id, fp(b), b.refs, b.slot)
      }
      this.#insertMany.run(...params)
    }
    for (; at < blocks.length; at++) {
      const b = blocks[at]!
      this.#insertOne.run(b.id, fp(b), b.refs, b.slot)
    }
  }

  /** Adds `delta` (possibly negative) to the counts of blocks `[first, last]`. */
  addRefs(first: number, last: number, delta: number): void {
    if (delta !== 0 && last >= first) this.#addRefsRange.run(delta, first, last)
  }

  /** Live blocks with ids in `[first, last]` (the live members of a chunk). */
  inRange(first: number, last: number): { id: number; slot: number }[] {
    return this.#inRange.all(first, last)
  }

  /** Blocks without references (about to be reaped). */
  dead(): { id: number; fp: Buffer; slot: number }[] {
    return this.#dead.all()
  }

  /** Deletes every block without references, and its index entry. */
  deleteDead(): void {
    this.#unindexDead.run()
    this.#deleteDead.run()
  }

  /** The highest block id in use (0 when empty). */
  maxId(): number {
    return this.#maxId.get()?.id ?? 0
  }
}

/**
 * A chunk record on the medium: ids `[id, id + span)`, the members it holds (`mask`) and
 * how many of them are live, its location, codec and the SHA-256 of its decoded content.
 *
 * @example
 * ```ts
 * const chunk: ChunkRow | undefined = chunks.get(7)
 * ```
 */
export interface ChunkRow {
  readonly id: number
  readonly span: number
  readonly mask: number
  readonly present: number
  readonly live: number
  readonly segment: number
  readonly offset: number
  readonly record_len: number
  readonly codec: number
  readonly raw_len: number
  /** How `sha` is defined (`DIGEST_CONTENT` or `DIGEST_MEMBERS` of compute.ts). */
  readonly digest: number
  /** The chunk's digest, checked by every read. */
  readonly sha: Buffer
}

/**
 * A chunk as the read path looks it up: the row without its content hash, which comes as
 * hex text (`sha_hex`) rather than one Buffer per row.
 *
 * @example
 * ```ts
 * const rows: ReadChunkRow[] = chunks.covering(100, 140)
 * ```
 */
export interface ReadChunkRow extends Omit<ChunkRow, 'sha'> {
  readonly sha_hex: string
}

/**
 * The chunk table: where each record is and what it must decode to.
 *
 * @example
 * ```ts
 * const chunks = new ChunkIndex(db)
 * const covering = chunks.covering(100, 140)
 * ```
 */
export class ChunkIndex {
  readonly #get: SQLite.Statement<[number], ChunkRow>
  readonly #insert: SQLite.Statement<
    [number, number, number, number, number, number, number, number, number, number, number, Buffer]
  >
  readonly #covering: SQLite.Statement<[number, number, number], ReadChunkRow>
  readonly #inSegment: SQLite.Statement<[number], ChunkRow>
  readonly #setLive: SQLite.Statement<[number, number]>
  readonly #delete: SQLite.Statement<[number]>
  readonly #relocate: SQLite.Statement<
    [number, number, number, number, number, number, number, number, Buffer, number]
  >
  readonly #maxEnd: SQLite.Statement<[], { end: number | null }>

  constructor(db: SqliteDatabase) {
    this.#get = db.prepare('SELECT * FROM chunks WHERE id = ?')
    this.#insert = db.prepare(
      'INSERT INTO chunks (id, span, mask, present, live, segment, offset, record_len, codec, raw_len, digest, sha) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    // The chunk holding `first` is the one with the greatest id <= first.
    this.#covering = db.prepare(
      `SELECT id, span, mask, present, live, segment, offset, record_len, codec, raw_len, digest, hex(sha) AS sha_hex
       FROM chunks WHERE id >= COALESCE((SELECT MAX(id) FROM chunks WHERE id <= ?), ?)
       AND id <= ? ORDER BY id`,
    )
    this.#inSegment = db.prepare('SELECT * FROM chunks WHERE segment = ? ORDER BY offset')
    this.#setLive = db.prepare('UPDATE chunks SET live = ? WHERE id = ?')
    this.#delete = db.prepare('DELETE FROM chunks WHERE id = ?')
    this.#relocate = db.prepare(
      'UPDATE chunks SET segment = ?, offset = ?, record_len = ?, mask = ?, present = ?, codec = ?, raw_len = ?, digest = ?, sha = ? WHERE id = ?',
    )
    this.#maxEnd = db.prepare('SELECT MAX(id + span) AS end FROM chunks')
  }

  /** One chunk. */
  get(id: number): ChunkRow | undefined {
    return this.#get.get(id)
  }

  /** Records a new chunk (all members present and live). */
  insert(chunk: ChunkRow): void {
    this.#insert.run(
      chunk.id,
      chunk.span,
      chunk.mask,
      chunk.present,
      chunk.live,
      chunk.segment,
      chunk.offset,
      chunk.record_len,
      chunk.codec,
      chunk.raw_len,
      chunk.digest,
      chunk.sha,
    )
  }

  /** Chunks holding any of the block ids `[first, last]`, in id order. */
  covering(first: number, last: number): ReadChunkRow[] {
    return this.#covering.all(first, first, last)
  }

  /** Chunks of a segment in record order. Bounded by the segment size, not by data. */
  inSegment(segment: number): ChunkRow[] {
    return this.#inSegment.all(segment)
  }

  /** Sets the number of live members. */
  setLive(id: number, live: number): void {
    this.#setLive.run(live, id)
  }

  /** Deletes a chunk whose members are all dead. */
  delete(id: number): void {
    this.#delete.run(id)
  }

  /** Points a chunk at its new record after GC moved (and perhaps compacted) it. */
  relocate(
    id: number,
    to: {
      segment: number
      offset: number
      record_len: number
      mask: number
      present: number
      codec: number
      raw_len: number
      digest: number
      sha: Buffer
    },
  ): void {
    this.#relocate.run(
      to.segment,
      to.offset,
      to.record_len,
      to.mask,
      to.present,
      to.codec,
      to.raw_len,
      to.digest,
      to.sha,
      id,
    )
  }

  /** One past the highest id any chunk covers (1 when empty). */
  endId(): number {
    return this.#maxEnd.get()?.end ?? 1
  }
}
