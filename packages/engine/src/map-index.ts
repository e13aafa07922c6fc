import type { ReductionPolicy } from '@pstorage/core'
import type SQLite from 'better-sqlite3'
import type { SqliteDatabase } from './metadata-db.js'
import { RECORD_HEADER_SIZE } from './segment-format.js'

/**
 * Whether a block map belongs to a volume or a snapshot (separate id namespaces).
 *
 * @example
 * ```ts
 * maps.find('snapshot' satisfies MapKind, 'daily')
 * ```
 */
export type MapKind = 'volume' | 'snapshot'

/**
 * A volume or snapshot.
 *
 * @example
 * ```ts
 * const volume: MapRow | undefined = maps.find('volume', 'v1')
 * ```
 */
export interface MapRow {
  readonly id: number
  readonly kind: MapKind
  readonly name: string
  readonly size: number
  readonly policy: ReductionPolicy
  readonly used_bytes: number
}

/**
 * One block of a block map: a physical block reference or a pattern.
 *
 * @example
 * ```ts
 * const entry: EntryRow | undefined = maps.entry(volume.id, 0)
 * ```
 */
export interface EntryRow {
  readonly idx: number
  readonly len: number
  readonly pblock: number | null
  readonly pattern: Buffer | null
}

/**
 * A block-map entry joined with its physical block's location (null for patterns).
 *
 * @example
 * ```ts
 * const rows: LocatedEntryRow[] = maps.range(volume.id, 0, 256)
 * ```
 */
export interface LocatedEntryRow extends EntryRow {
  readonly segment: number | null
  readonly offset: number | null
  readonly record_len: number | null
  readonly logical_len: number | null
  readonly codec: number | null
  readonly fingerprint: Buffer | null
}

/**
 * Volumes, snapshots and their block maps in SQLite. Copying a map (snapshot, clone,
 * restore) is one INSERT … SELECT plus one grouped reference-count update: no data moves
 * and no block map passes through JavaScript memory.
 *
 * @example
 * ```ts
 * const maps = new MapIndex(db)
 * const volume = maps.find('volume', 'v1')
 * ```
 */
export class MapIndex {
  readonly #find: SQLite.Statement<[MapKind, string], MapRow>
  readonly #insert: SQLite.Statement<[MapKind, string, number, string, number, number]>
  readonly #delete: SQLite.Statement<[number]>
  readonly #deleteEntries: SQLite.Statement<[number]>
  readonly #resize: SQLite.Statement<[number, number]>
  readonly #addUsed: SQLite.Statement<[number, number]>
  readonly #entry: SQLite.Statement<[number, number], EntryRow>
  readonly #upsert: SQLite.Statement<[number, number, number, number | null, Buffer | null]>
  readonly #range: SQLite.Statement<[number, number, number], LocatedEntryRow>
  readonly #last: SQLite.Statement<[number], EntryRow>
  readonly #copy: SQLite.Statement<[number, number]>
  readonly #refsUp: SQLite.Statement<[number]>
  readonly #refsDown: SQLite.Statement<[number]>
  readonly #count: SQLite.Statement<[], { volumes: number; snapshots: number }>
  readonly #physical: SQLite.Statement<[number], { bytes: number }>

  constructor(db: SqliteDatabase) {
    this.#physical = db.prepare(
      `SELECT COALESCE(SUM(record_len - ${RECORD_HEADER_SIZE}), 0) AS bytes FROM pblocks
       WHERE id IN (SELECT DISTINCT pblock FROM block_map WHERE map_id = ? AND pblock IS NOT NULL)`,
    )
    this.#find = db.prepare(
      'SELECT id, kind, name, size, policy, used_bytes FROM maps WHERE kind = ? AND name = ?',
    )
    this.#insert = db.prepare(
      'INSERT INTO maps (kind, name, size, policy, used_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    )
    this.#delete = db.prepare('DELETE FROM maps WHERE id = ?')
    this.#deleteEntries = db.prepare('DELETE FROM block_map WHERE map_id = ?')
    this.#resize = db.prepare('UPDATE maps SET size = ? WHERE id = ?')
    this.#addUsed = db.prepare('UPDATE maps SET used_bytes = used_bytes + ? WHERE id = ?')
    this.#entry = db.prepare(
      'SELECT idx, len, pblock, pattern FROM block_map WHERE map_id = ? AND idx = ?',
    )
    this.#upsert = db.prepare(
      `INSERT INTO block_map (map_id, idx, len, pblock, pattern) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (map_id, idx) DO UPDATE SET len = excluded.len, pblock = excluded.pblock, pattern = excluded.pattern`,
    )
    this.#range = db.prepare(
      `SELECT m.idx, m.len, m.pblock, m.pattern, p.segment, p.offset, p.record_len, p.logical_len, p.codec, p.fingerprint
       FROM block_map m LEFT JOIN pblocks p ON p.id = m.pblock
       WHERE m.map_id = ? AND m.idx >= ? AND m.idx < ? ORDER BY m.idx`,
    )
    this.#last = db.prepare(
      'SELECT idx, len, pblock, pattern FROM block_map WHERE map_id = ? ORDER BY idx DESC LIMIT 1',
    )
    this.#copy = db.prepare(
      'INSERT INTO block_map (map_id, idx, len, pblock, pattern) SELECT ?, idx, len, pblock, pattern FROM block_map WHERE map_id = ?',
    )
    this.#refsUp = db.prepare(
      `UPDATE pblocks SET refs = refs + t.n
       FROM (SELECT pblock, COUNT(*) AS n FROM block_map WHERE map_id = ? AND pblock IS NOT NULL GROUP BY pblock) AS t
       WHERE pblocks.id = t.pblock`,
    )
    this.#refsDown = db.prepare(
      `UPDATE pblocks SET refs = refs - t.n
       FROM (SELECT pblock, COUNT(*) AS n FROM block_map WHERE map_id = ? AND pblock IS NOT NULL GROUP BY pblock) AS t
       WHERE pblocks.id = t.pblock`,
    )
    this.#count = db.prepare(
      `SELECT COALESCE(SUM(kind = 'volume'), 0) AS volumes, COALESCE(SUM(kind = 'snapshot'), 0) AS snapshots FROM maps`,
    )
  }

  /** The volume or snapshot called `name`, or undefined. */
  find(kind: MapKind, name: string): MapRow | undefined {
    return this.#find.get(kind, name)
  }

  /** Creates an empty map and returns its id. */
  create(kind: MapKind, name: string, size: number, policy: ReductionPolicy, now: number): number {
    return Number(this.#insert.run(kind, name, size, policy, 0, now).lastInsertRowid)
  }

  /** Creates a map holding a copy of `source`'s block map, adding a reference per entry. */
  copy(kind: MapKind, name: string, source: MapRow, size: number, now: number): number {
    const id = Number(
      this.#insert.run(kind, name, size, source.policy, source.used_bytes, now).lastInsertRowid,
    )
    this.#copy.run(id, source.id)
    this.#refsUp.run(id)
    return id
  }

  /** Drops a map's entries and their references (the caller reaps dead blocks). */
  clear(id: number): void {
    this.#refsDown.run(id)
    this.#deleteEntries.run(id)
  }

  /** Deletes a map with its entries and references. */
  remove(id: number): void {
    this.clear(id)
    this.#delete.run(id)
  }

  /** Replaces `target`'s content with a copy of `source`'s (restore in place). */
  replaceWith(target: MapRow, source: MapRow): void {
    // References of the source go up before the target's go down, so a block both share
    // never touches zero and is never reaped.
    this.#refsUp.run(source.id)
    this.clear(target.id)
    this.#copy.run(target.id, source.id)
    this.#addUsed.run(source.used_bytes - target.used_bytes, target.id)
    if (source.size > target.size) this.#resize.run(source.size, target.id)
  }

  /** Sets a map's logical size. */
  resize(id: number, size: number): void {
    this.#resize.run(size, id)
  }

  /** Adjusts a map's used byte count by `delta`. */
  addUsed(id: number, delta: number): void {
    if (delta !== 0) this.#addUsed.run(delta, id)
  }

  /** The entry of block `idx`, or undefined if never written. */
  entry(mapId: number, idx: number): EntryRow | undefined {
    return this.#entry.get(mapId, idx)
  }

  /** Sets the entry of block `idx`. */
  put(
    mapId: number,
    idx: number,
    len: number,
    pblock: number | null,
    pattern: Uint8Array | null,
  ): void {
    this.#upsert.run(mapId, idx, len, pblock, pattern === null ? null : Buffer.from(pattern))
  }

  /** Entries of blocks `[from, to)` with their physical locations, in block order. */
  range(mapId: number, from: number, to: number): LocatedEntryRow[] {
    return this.#range.all(mapId, from, to)
  }

  /** The highest written block of a map, or undefined for an empty map. */
  last(mapId: number): EntryRow | undefined {
    return this.#last.get(mapId)
  }

  /** Payload bytes of the distinct physical blocks a map references (shared ones in full). */
  physicalBytes(mapId: number): number {
    return this.#physical.get(mapId)?.bytes ?? 0
  }

  /** Number of volumes and snapshots. */
  counts(): { volumes: number; snapshots: number } {
    return this.#count.get() ?? { volumes: 0, snapshots: 0 }
  }
}
