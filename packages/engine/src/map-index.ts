import type { ReductionPolicy } from '@pstorage/core'
import type SQLite from 'better-sqlite3'
import type { SqliteDatabase } from './metadata-db.js'
import { RECORD_HEADER_SIZE } from './segment-format.js'

const BLOCK = 4096

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
 * A run of a block map: blocks `[idx, idx + n)` are a pattern, or the physical blocks
 * `pblock + k * step`. Every block is 4096 bytes but the last, which is `tail` bytes.
 *
 * @example
 * ```ts
 * const run: Extent = { idx: 0, n: 8, tail: 4096, pblock: 100, step: 1, pattern: null }
 * ```
 */
export interface Extent {
  readonly idx: number
  readonly n: number
  readonly tail: number
  readonly pblock: number | null
  /** 1: consecutive ids; 0: one id repeated. Always 1 when `n` is 1. */
  readonly step: number
  readonly pattern: Uint8Array | null
}

/**
 * References an extent gave up: `n` blocks from `pblock` by `step`.
 *
 * @example
 * ```ts
 * for (const r of released) blocks.addRefs(r.pblock, r.pblock + (r.n - 1) * r.step, -1)
 * ```
 */
export interface Released {
  readonly pblock: number
  readonly step: number
  readonly n: number
}

/**
 * Logical bytes of an extent.
 *
 * @example
 * ```ts
 * extentBytes({ idx: 0, n: 2, tail: 12, pblock: 1, step: 1, pattern: null }) // 4108
 * ```
 */
export function extentBytes(e: Extent): number {
  return (e.n - 1) * BLOCK + e.tail
}

function sameUnit(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * `a` and `b` (adjacent, `a` first) as one extent, or undefined if they do not form one.
 *
 * @example
 * ```ts
 * joinExtents(a, b) ?? [a, b]
 * ```
 */
export function joinExtents(a: Extent, b: Extent): Extent | undefined {
  if (a.tail !== BLOCK || a.idx + a.n !== b.idx) return undefined
  if (a.pattern !== null || b.pattern !== null) {
    if (a.pattern === null || b.pattern === null || !sameUnit(a.pattern, b.pattern))
      return undefined
    return { idx: a.idx, n: a.n + b.n, tail: b.tail, pblock: null, step: 1, pattern: a.pattern }
  }
  if (a.pblock === null || b.pblock === null) return undefined
  const step =
    a.n > 1
      ? a.step
      : b.n > 1
        ? b.step
        : b.pblock === a.pblock + 1
          ? 1
          : b.pblock === a.pblock
            ? 0
            : -1
  if (step < 0 || (a.n > 1 && a.step !== step) || (b.n > 1 && b.step !== step)) return undefined
  if (b.pblock !== a.pblock + a.n * step) return undefined
  return { idx: a.idx, n: a.n + b.n, tail: b.tail, pblock: a.pblock, step, pattern: null }
}

/**
 * Appends `next` to a list of adjacent extents, joining it with the last one if they form
 * one run.
 *
 * @example
 * ```ts
 * const runs: Extent[] = []
 * for (const block of blocks) appendExtent(runs, block)
 * ```
 */
export function appendExtent(runs: Extent[], next: Extent): void {
  const last = runs.at(-1)
  const joined = last && joinExtents(last, next)
  if (joined) runs[runs.length - 1] = joined
  else runs.push(next)
}

interface ExtentDbRow {
  readonly idx: number
  readonly n: number
  readonly tail: number
  readonly pblock: number | null
  readonly step: number
  readonly pattern: Buffer | null
}

/**
 * Volumes, snapshots and their block maps (extents) in SQLite. Copying a map (snapshot,
 * clone, restore) is one INSERT … SELECT plus one grouped reference-count update: no data
 * moves and no block map passes through JavaScript memory.
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
  readonly #deleteExtents: SQLite.Statement<[number]>
  readonly #resize: SQLite.Statement<[number, number]>
  readonly #addUsed: SQLite.Statement<[number, number]>
  readonly #overlapping: SQLite.Statement<[number, number, number, number, number], ExtentDbRow>
  readonly #at: SQLite.Statement<[number, number], ExtentDbRow>
  readonly #last: SQLite.Statement<[number], ExtentDbRow>
  readonly #deleteOne: SQLite.Statement<[number, number]>
  readonly #insertOne: SQLite.Statement<
    [number, number, number, number, number | null, number, Buffer | null]
  >
  readonly #copy: SQLite.Statement<[number, number]>
  readonly #refsUp: SQLite.Statement<[number]>
  readonly #refsDown: SQLite.Statement<[number]>
  readonly #count: SQLite.Statement<[], { volumes: number; snapshots: number }>
  readonly #physical: SQLite.Statement<[number], { bytes: number }>
  readonly #policies: SQLite.Statement<[], { policy: ReductionPolicy; n: number }>

  constructor(db: SqliteDatabase) {
    this.#find = db.prepare(
      'SELECT id, kind, name, size, policy, used_bytes FROM maps WHERE kind = ? AND name = ?',
    )
    this.#insert = db.prepare(
      'INSERT INTO maps (kind, name, size, policy, used_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    )
    this.#delete = db.prepare('DELETE FROM maps WHERE id = ?')
    this.#deleteExtents = db.prepare('DELETE FROM extents WHERE map_id = ?')
    this.#resize = db.prepare('UPDATE maps SET size = ? WHERE id = ?')
    this.#addUsed = db.prepare('UPDATE maps SET used_bytes = used_bytes + ? WHERE id = ?')
    // Extents overlapping blocks [from, to): from the one holding block `from` on.
    // Parameters: map, map, from, from, to.
    this.#overlapping = db.prepare(
      `SELECT idx, n, tail, pblock, step, pattern FROM extents
       WHERE map_id = ? AND idx >= COALESCE(
         (SELECT idx FROM extents WHERE map_id = ? AND idx <= ? ORDER BY idx DESC LIMIT 1), ?)
       AND idx < ? ORDER BY idx`,
    )
    this.#at = db.prepare(
      'SELECT idx, n, tail, pblock, step, pattern FROM extents WHERE map_id = ? AND idx <= ? ORDER BY idx DESC LIMIT 1',
    )
    this.#last = db.prepare(
      'SELECT idx, n, tail, pblock, step, pattern FROM extents WHERE map_id = ? ORDER BY idx DESC LIMIT 1',
    )
    this.#deleteOne = db.prepare('DELETE FROM extents WHERE map_id = ? AND idx = ?')
    this.#insertOne = db.prepare(
      'INSERT INTO extents (map_id, idx, n, tail, pblock, step, pattern) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    this.#copy = db.prepare(
      'INSERT INTO extents (map_id, idx, n, tail, pblock, step, pattern) SELECT ?, idx, n, tail, pblock, step, pattern FROM extents WHERE map_id = ?',
    )
    // Each physical block a map references, with how many of its blocks reference it: one
    // range scan of pblocks per extent.
    const referenced = `SELECT p.id AS id, SUM(CASE WHEN e.step = 0 THEN e.n ELSE 1 END) AS k
       FROM extents e JOIN pblocks p ON p.id BETWEEN e.pblock AND e.pblock + (e.n - 1) * e.step
       WHERE e.map_id = ? AND e.pblock IS NOT NULL GROUP BY p.id`
    this.#refsUp = db.prepare(
      `UPDATE pblocks SET refs = refs + t.k FROM (${referenced}) AS t WHERE pblocks.id = t.id`,
    )
    this.#refsDown = db.prepare(
      `UPDATE pblocks SET refs = refs - t.k FROM (${referenced}) AS t WHERE pblocks.id = t.id`,
    )
    this.#physical = db.prepare(
      `SELECT COALESCE(SUM((c.record_len - ${RECORD_HEADER_SIZE}) * 1.0 / c.present), 0) AS bytes
       FROM (${referenced}) AS t JOIN pblocks p ON p.id = t.id JOIN chunks c ON c.id = p.id - p.slot`,
    )
    this.#count = db.prepare(
      `SELECT COALESCE(SUM(kind = 'volume'), 0) AS volumes, COALESCE(SUM(kind = 'snapshot'), 0) AS snapshots FROM maps`,
    )
    this.#policies = db.prepare(
      `SELECT policy, COUNT(*) AS n FROM maps WHERE kind = 'volume' GROUP BY policy ORDER BY policy`,
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

  /** Creates a map holding a copy of `source`'s block map, adding a reference per block. */
  copy(kind: MapKind, name: string, source: MapRow, size: number, now: number): number {
    const id = Number(
      this.#insert.run(kind, name, size, source.policy, source.used_bytes, now).lastInsertRowid,
    )
    this.#copy.run(id, source.id)
    this.#refsUp.run(id)
    return id
  }

  /** Drops a map's extents and their references (the caller reaps dead blocks). */
  clear(id: number): void {
    this.#refsDown.run(id)
    this.#deleteExtents.run(id)
  }

  /** Deletes a map with its extents and references. */
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

  /** Extents overlapping blocks `[from, to)`, in block order. */
  extents(mapId: number, from: number, to: number): Extent[] {
    return this.#overlapping.all(mapId, mapId, from, from, to)
  }

  /** The block `idx` of a map: its length and what it is, or undefined if never written. */
  entry(
    mapId: number,
    idx: number,
  ): { len: number; pblock: number | null; pattern: Uint8Array | null } | undefined {
    const e = this.#at.get(mapId, idx)
    if (!e || idx >= e.idx + e.n) return undefined
    const k = idx - e.idx
    return {
      len: k === e.n - 1 ? e.tail : BLOCK,
      pblock: e.pblock === null ? null : e.pblock + k * e.step,
      pattern: e.pattern,
    }
  }

  /**
   * Sets blocks `[from, to)` of a map to `runs` (adjacent extents covering exactly that
   * range), splitting the extents it overlaps and joining it with its neighbours where they
   * form one run. Returns the references the old content gave up and the change in
   * logical bytes; the caller adjusts reference counts (inside the same transaction).
   */
  write(
    mapId: number,
    from: number,
    to: number,
    runs: readonly Extent[],
  ): { released: Released[]; usedDelta: number } {
    const old = this.extents(mapId, Math.max(0, from - 1), to + 1)
    const released: Released[] = []
    let usedDelta = runs.reduce((n, r) => n + extentBytes(r), 0)
    let left: Extent | undefined
    let right: Extent | undefined
    for (const e of old) {
      const end = e.idx + e.n
      if (end === from) {
        left = e
        this.#deleteOne.run(mapId, e.idx)
        continue
      }
      if (e.idx === to) {
        right = e
        this.#deleteOne.run(mapId, e.idx)
        continue
      }
      if (end <= from || e.idx >= to) continue
      this.#deleteOne.run(mapId, e.idx)
      const s = Math.max(from, e.idx)
      const t = Math.min(to, end)
      usedDelta -= (t - s) * BLOCK - (t === end ? BLOCK - e.tail : 0)
      if (e.pblock !== null) {
        released.push({
          pblock: e.pblock + (s - e.idx) * e.step,
          step: t - s > 1 ? e.step : 1,
          n: t - s,
        })
      }
      const piece = (idx: number, n: number, tail: number): Extent => ({
        idx,
        n,
        tail,
        pblock: e.pblock === null ? null : e.pblock + (idx - e.idx) * e.step,
        step: n > 1 ? e.step : 1,
        pattern: e.pattern,
      })
      if (s > e.idx) left = piece(e.idx, s - e.idx, BLOCK)
      if (t < end) right = piece(t, end - t, e.tail)
    }
    const merged: Extent[] = []
    if (left) merged.push(left)
    for (const run of runs) appendExtent(merged, run)
    if (right) appendExtent(merged, right)
    for (const e of merged) {
      this.#insertOne.run(
        mapId,
        e.idx,
        e.n,
        e.tail,
        e.pblock,
        e.n > 1 ? e.step : 1,
        e.pattern === null ? null : Buffer.from(e.pattern),
      )
    }
    return { released, usedDelta }
  }

  /** The last extent of a map, or undefined for an empty map. */
  last(mapId: number): Extent | undefined {
    return this.#last.get(mapId)
  }

  /** Payload bytes of the distinct physical blocks a map references (each block's share of its chunk). */
  physicalBytes(mapId: number): number {
    return Math.round(this.#physical.get(mapId)?.bytes ?? 0)
  }

  /** Number of volumes and snapshots. */
  counts(): { volumes: number; snapshots: number } {
    return this.#count.get() ?? { volumes: 0, snapshots: 0 }
  }

  /** Volumes per reduction policy. */
  policies(): { policy: ReductionPolicy; n: number }[] {
    return this.#policies.all()
  }
}
