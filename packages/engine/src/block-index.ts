import type SQLite from 'better-sqlite3'
import type { SqliteDatabase } from './metadata-db.js'

/**
 * A live physical block: where its record is and how many block-map entries use it.
 *
 * @example
 * ```ts
 * const row: PblockRow | undefined = blocks.get(42)
 * ```
 */
export interface PblockRow {
  readonly id: number
  readonly fingerprint: Buffer
  readonly refs: number
  readonly segment: number
  readonly offset: number
  readonly record_len: number
  readonly logical_len: number
  readonly codec: number
}

/**
 * A new physical block for {@link BlockIndex.insert}.
 *
 * @example
 * ```ts
 * blocks.insert({ id, fingerprint: fp, refs: 1, segment: 3, offset: 64, recordLength: 4160, logicalLength: 4096, codec: CODEC_RAW })
 * ```
 */
export interface NewPblock {
  readonly id: number
  readonly fingerprint: Uint8Array
  readonly refs: number
  readonly segment: number
  readonly offset: number
  readonly recordLength: number
  readonly logicalLength: number
  readonly codec: number
}

/**
 * The fingerprint index and reference counts (`pblocks`). A block whose count reaches zero
 * is reaped in the same transaction, so a fingerprint found here always names live data.
 *
 * @example
 * ```ts
 * const blocks = new BlockIndex(db)
 * const hit = blocks.byFingerprint(fingerprint(block))
 * ```
 */
export class BlockIndex {
  readonly #byFp: SQLite.Statement<[Buffer], { id: number }>
  readonly #byId: SQLite.Statement<[number], PblockRow>
  readonly #insert: SQLite.Statement<
    [number, Buffer, number, number, number, number, number, number]
  >
  readonly #addRefs: SQLite.Statement<[number, number]>
  readonly #move: SQLite.Statement<[number, number, number]>
  readonly #inSegment: SQLite.Statement<[number], PblockRow>
  readonly #deadBySegment: SQLite.Statement<[], { segment: number; bytes: number; blocks: number }>
  readonly #deleteDead: SQLite.Statement<[]>
  readonly #count: SQLite.Statement<[], { n: number; bytes: number }>
  readonly #maxId: SQLite.Statement<[], { id: number | null }>

  constructor(db: SqliteDatabase) {
    this.#byFp = db.prepare('SELECT id FROM pblocks WHERE fingerprint = ?')
    this.#byId = db.prepare('SELECT * FROM pblocks WHERE id = ?')
    this.#insert = db.prepare(
      'INSERT INTO pblocks (id, fingerprint, refs, segment, offset, record_len, logical_len, codec) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    )
    this.#addRefs = db.prepare('UPDATE pblocks SET refs = refs + ? WHERE id = ?')
    this.#move = db.prepare('UPDATE pblocks SET segment = ?, offset = ? WHERE id = ?')
    this.#inSegment = db.prepare('SELECT * FROM pblocks WHERE segment = ? ORDER BY offset')
    // Both statements match the partial index pblocks_dead, so reaping costs O(dead blocks).
    this.#deadBySegment = db.prepare(
      'SELECT segment, SUM(record_len) AS bytes, COUNT(*) AS blocks FROM pblocks WHERE refs <= 0 GROUP BY segment',
    )
    this.#deleteDead = db.prepare('DELETE FROM pblocks WHERE refs <= 0')
    this.#count = db.prepare(
      'SELECT COUNT(*) AS n, COALESCE(SUM(record_len), 0) AS bytes FROM pblocks',
    )
    this.#maxId = db.prepare('SELECT MAX(id) AS id FROM pblocks')
  }

  /** The live block with this fingerprint, if any. */
  byFingerprint(fp: Uint8Array): number | undefined {
    return this.#byFp.get(Buffer.from(fp.buffer, fp.byteOffset, fp.byteLength))?.id
  }

  /** A live block by id. */
  get(id: number): PblockRow | undefined {
    return this.#byId.get(id)
  }

  /** Records a new block. */
  insert(block: NewPblock): void {
    const fp = Buffer.from(
      block.fingerprint.buffer,
      block.fingerprint.byteOffset,
      block.fingerprint.byteLength,
    )
    this.#insert.run(
      block.id,
      fp,
      block.refs,
      block.segment,
      block.offset,
      block.recordLength,
      block.logicalLength,
      block.codec,
    )
  }

  /** Adds `delta` (possibly negative) to a block's reference count. */
  addRefs(id: number, delta: number): void {
    if (delta !== 0) this.#addRefs.run(delta, id)
  }

  /** Points a block at its new location after GC or wear leveling moved its record. */
  move(id: number, segment: number, offset: number): void {
    this.#move.run(segment, offset, id)
  }

  /** Live blocks of a segment in record order. Bounded by the segment size, not by data. */
  inSegment(segment: number): PblockRow[] {
    return this.#inSegment.all(segment)
  }

  /**
   * Deletes every block without references and returns what each segment lost, so the
   * caller can update the segments' live accounting in the same transaction.
   */
  reapDead(): { segment: number; bytes: number; blocks: number }[] {
    const dead = this.#deadBySegment.all()
    if (dead.length > 0) this.#deleteDead.run()
    return dead
  }

  /** Number and record bytes of live blocks. */
  totals(): { n: number; bytes: number } {
    return this.#count.get() ?? { n: 0, bytes: 0 }
  }

  /** The highest block id in use (0 when empty). */
  maxId(): number {
    return this.#maxId.get()?.id ?? 0
  }
}
