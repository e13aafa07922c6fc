import type SQLite from 'better-sqlite3'
import type { SqliteDatabase } from './metadata-db.js'
import { SEGMENT_HEADER_SIZE } from './segment-format.js'
import { type SegmentCounts, SegmentSummary, type WearFigures } from './segment-summary.js'

export type { SegmentCounts, WearFigures } from './segment-summary.js'

/**
 * Life cycle of a segment: free (erased) → open (being appended) → sealed → free (GC).
 *
 * @example
 * ```ts
 * segments.inState('sealed' satisfies SegmentState)
 * ```
 */
export type SegmentState = 'free' | 'open' | 'sealed'
/**
 * Which append stream an open segment serves: host writes, or GC/wear-leveling moves.
 *
 * @example
 * ```ts
 * segments.open('user' satisfies SegmentRole)
 * ```
 */
export type SegmentRole = 'user' | 'relocation'

/**
 * One segment (erase block) of the simulated flash.
 *
 * @example
 * ```ts
 * const segment: SegmentRow | undefined = segments.get(3)
 * ```
 */
export interface SegmentRow {
  readonly id: number
  readonly state: SegmentState
  readonly role: SegmentRole | null
  readonly erase_count: number
  readonly generation: number
  /** Committed end of the records; bytes past it are a torn tail after a crash. */
  readonly write_offset: number
  /** Record bytes of live chunks, each in proportion to its live members. */
  readonly live_bytes: number
  /** Chunk records with a live member. */
  readonly live_records: number
  /** Records ever appended since the last erase (live + dead). */
  readonly records: number
  /** Live member blocks of its chunks. */
  readonly live_blocks: number
  /** Member blocks ever appended since the last erase. */
  readonly blocks: number
  readonly sealed_at: number | null
}

/**
 * The segment table: state, erase counts and live accounting of every erase block.
 *
 * @example
 * ```ts
 * const segments = new SegmentTable(db)
 * const next = segments.leastWornFree([])
 * ```
 */
export class SegmentTable {
  readonly #db: SqliteDatabase
  readonly #get: SQLite.Statement<[number], SegmentRow>
  readonly #byState: SQLite.Statement<[SegmentState], SegmentRow>
  readonly #open: SQLite.Statement<[SegmentRole], SegmentRow>
  readonly #all: SQLite.Statement<[], SegmentRow>
  readonly #leastWorn: SQLite.Statement<[string], SegmentRow>
  readonly #mostWorn: SQLite.Statement<[string], SegmentRow>
  #summary: SegmentSummary | undefined
  readonly #updates = new Map<string, SQLite.Statement>()
  readonly #victims: SQLite.Statement<[], SegmentRow>
  readonly #coldest: SQLite.Statement<[], SegmentRow>
  readonly #addLive: SQLite.Statement<[number, number, number, number]>

  constructor(db: SqliteDatabase) {
    this.#db = db
    this.#get = db.prepare('SELECT * FROM segments WHERE id = ?')
    this.#byState = db.prepare('SELECT * FROM segments WHERE state = ? ORDER BY id')
    this.#open = db.prepare(
      `SELECT * FROM segments WHERE state = 'open' AND role = ? ORDER BY generation DESC`,
    )
    this.#all = db.prepare('SELECT * FROM segments')
    // Excluded ids arrive as a JSON array: segments already taken by the running batch.
    // Plain ORDER BY erase_count walks the (state, erase_count) index.
    const free = `SELECT * FROM segments WHERE state = 'free' AND id NOT IN (SELECT value FROM json_each(?))`
    this.#leastWorn = db.prepare(`${free} ORDER BY erase_count, id LIMIT 1`)
    this.#mostWorn = db.prepare(`${free} ORDER BY erase_count DESC, id LIMIT 1`)
    this.#victims = db.prepare(
      `SELECT * FROM segments WHERE state = 'sealed' AND live_bytes < write_offset - ${SEGMENT_HEADER_SIZE}`,
    )
    this.#coldest = db.prepare(
      `SELECT * FROM segments WHERE state = 'sealed' ORDER BY erase_count, sealed_at, id LIMIT 1`,
    )
    this.#addLive = db.prepare(
      'UPDATE segments SET live_bytes = live_bytes + ?, live_records = live_records + ?, live_blocks = live_blocks + ? WHERE id = ?',
    )
  }

  /** Creates free segments so the table has `count` of them. */
  ensureCount(count: number, headerSize: number): void {
    const have = this.counts().n
    if (count <= have) return
    this.#db
      .prepare(
        `INSERT INTO segments (id, state, write_offset) SELECT value, 'free', ? FROM json_each(?)`,
      )
      .run(headerSize, JSON.stringify(Array.from({ length: count - have }, (_, i) => have + i)))
    this.invalidate()
  }

  /** One segment. */
  get(id: number): SegmentRow | undefined {
    return this.#get.get(id)
  }

  /** Segments in a state, by id. */
  inState(state: SegmentState): SegmentRow[] {
    return this.#byState.all(state)
  }

  /** Open segments of a role, newest generation first (normally at most one). */
  open(role: SegmentRole): SegmentRow[] {
    return this.#open.all(role)
  }

  /** The least-worn free segment not in `exclude` (host writes: ARCHITECTURE.md step 6). */
  leastWornFree(exclude: readonly number[]): SegmentRow | undefined {
    return this.#leastWorn.get(JSON.stringify(exclude))
  }

  /** The most-worn free segment not in `exclude`: where cold, relocated data rests. */
  mostWornFree(exclude: readonly number[]): SegmentRow | undefined {
    return this.#mostWorn.get(JSON.stringify(exclude))
  }

  /** Segment counts by state and total live record bytes (from memory, O(1)). */
  counts(): SegmentCounts {
    return this.#summarise().counts()
  }

  /** Erase-count statistics (from memory). */
  wear(): WearFigures {
    return this.#summarise().wear()
  }

  /** Drops the in-memory aggregates; the next read rebuilds them (after a rollback). */
  invalidate(): void {
    this.#summary = undefined
  }

  /** Sealed segments holding dead bytes (a dead record or dead members): the candidates of GC. */
  withDeadRecords(): SegmentRow[] {
    return this.#victims.all()
  }

  /** The sealed segment with the lowest erase count (the coldest data), if any. */
  leastWornSealed(): SegmentRow | undefined {
    return this.#coldest.get()
  }

  /** Adjusts live accounting (negative when blocks die). */
  addLive(id: number, bytes: number, records: number, blocks: number): void {
    if (bytes === 0 && records === 0 && blocks === 0) return
    this.#addLive.run(bytes, records, blocks, id)
    this.#summary?.addLive(bytes)
  }

  /** Writes the given columns of a segment. */
  update(id: number, fields: Partial<Omit<SegmentRow, 'id'>>): void {
    const keys = Object.keys(fields) as (keyof typeof fields)[]
    if (keys.length === 0) return
    const sql = `UPDATE segments SET ${keys.map((k) => `${k} = @${k}`).join(', ')} WHERE id = @id`
    let statement = this.#updates.get(sql)
    if (!statement) {
      statement = this.#db.prepare(sql)
      this.#updates.set(sql, statement)
    }
    const before = this.#summary ? this.get(id) : undefined
    statement.run({ ...fields, id })
    if (before) {
      this.#summary?.add(before, -1)
      this.#summary?.add({ ...before, ...fields }, 1)
    }
  }

  #summarise(): SegmentSummary {
    if (!this.#summary) {
      const summary = new SegmentSummary()
      for (const row of this.#all.iterate()) summary.add(row, 1)
      this.#summary = summary
    }
    return this.#summary
  }
}
