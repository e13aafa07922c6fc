import type { FileHandle } from 'node:fs/promises'
import { open, stat } from 'node:fs/promises'
import { PStorageError } from '@pstorage/core'
import SQLite from 'better-sqlite3'

/**
 * The SQLite connection type used by the index classes.
 *
 * @example
 * ```ts
 * const db: SqliteDatabase = openMetadataDb(path, cacheBytes)
 * ```
 */
export type SqliteDatabase = SQLite.Database

/**
 * Version of the metadata schema below; bump it with a migration, never edit a shipped one.
 * Version 1 (format 1: one row per written block, one record per stored block) is not
 * migrated: no data of it was ever deployed.
 *
 * @example
 * ```ts
 * db.pragma('user_version', { simple: true }) === SCHEMA_VERSION
 * ```
 */
export const SCHEMA_VERSION = 3

/**
 * Schema v2.
 *
 * - `extents`: block maps as runs. Blocks `[idx, idx + n)` of a map are either a pattern
 *   (`pattern`, 1-8 bytes) or physical blocks `pblock + k * step` (step 1: consecutive ids,
 *   step 0: one id repeated). Every block is 4096 bytes but the last, which is `tail` long.
 * - `pblocks`: live physical blocks (refs > 0 after each commit): fingerprint, reference
 *   count and `slot`, its place in its chunk (chunk id = id - slot).
 * - `fp_index`: the dedupe index, the first 8 bytes of each fingerprint (the full one is
 *   compared in `pblocks`), for every live block below the watermark `fp_index_watermark`
 *   in `meta`. Blocks at or above it are indexed in memory and merged in sorted batches.
 * - `chunks`: the records on the medium. A chunk covers ids `[id, id + span)`; `mask` marks
 *   the members whose bytes it holds, `live` how many of them are still referenced.
 *   `sha` is the SHA-256 of the decoded content, checked by every read (v3: see `digest`).
 * - `segments`: the segment table. `live_bytes` counts each live chunk's record bytes in
 *   proportion to its live members (all of it when all are live).
 */
const SCHEMA_V2 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE maps (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('volume', 'snapshot')),
  name TEXT NOT NULL,
  size INTEGER NOT NULL,
  policy TEXT NOT NULL,
  used_bytes INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  UNIQUE (kind, name)
);
CREATE TABLE extents (
  map_id INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  n INTEGER NOT NULL,
  tail INTEGER NOT NULL,
  pblock INTEGER,
  step INTEGER NOT NULL DEFAULT 1,
  pattern BLOB,
  PRIMARY KEY (map_id, idx)
) WITHOUT ROWID;
CREATE TABLE pblocks (
  id INTEGER PRIMARY KEY,
  fp BLOB NOT NULL,
  refs INTEGER NOT NULL,
  slot INTEGER NOT NULL
);
CREATE TABLE fp_index (
  key BLOB NOT NULL,
  id INTEGER NOT NULL,
  PRIMARY KEY (key, id)
) WITHOUT ROWID;
CREATE INDEX pblocks_dead ON pblocks (id) WHERE refs <= 0;
CREATE TABLE chunks (
  id INTEGER PRIMARY KEY,
  span INTEGER NOT NULL,
  mask INTEGER NOT NULL,
  present INTEGER NOT NULL,
  live INTEGER NOT NULL,
  segment INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  record_len INTEGER NOT NULL,
  codec INTEGER NOT NULL,
  raw_len INTEGER NOT NULL,
  sha BLOB NOT NULL
);
CREATE INDEX chunks_by_location ON chunks (segment, offset);
CREATE TABLE segments (
  id INTEGER PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('free', 'open', 'sealed')),
  role TEXT,
  erase_count INTEGER NOT NULL DEFAULT 0,
  generation INTEGER NOT NULL DEFAULT 0,
  write_offset INTEGER NOT NULL DEFAULT 0,
  live_bytes INTEGER NOT NULL DEFAULT 0,
  live_records INTEGER NOT NULL DEFAULT 0,
  records INTEGER NOT NULL DEFAULT 0,
  live_blocks INTEGER NOT NULL DEFAULT 0,
  blocks INTEGER NOT NULL DEFAULT 0,
  sealed_at INTEGER
);
CREATE INDEX segments_by_state ON segments (state, erase_count);
`

/**
 * v2 → v3: `chunks.digest` says how `sha` is defined (compute.ts): 0, the SHA-256 of the
 * decoded content, for every chunk written before; 1, the SHA-256 of the members'
 * fingerprints, for chunks written from v3 on. Reads check either.
 */
const MIGRATION_V3 = `
ALTER TABLE chunks ADD COLUMN digest INTEGER NOT NULL DEFAULT 0;
`

/**
 * Opens (creating if needed) the metadata database: WAL with `synchronous=FULL`, so a
 * commit is durable when it returns, and `locking_mode=EXCLUSIVE`, so a second engine on
 * the same directory fails instead of corrupting it.
 *
 * @example
 * ```ts
 * const db = openMetadataDb('/data/engine/metadata.sqlite', 16 << 20)
 * ```
 */
export function openMetadataDb(filename: string, cacheBytes: number): SqliteDatabase {
  // A short busy timeout: the only other holder of the lock is another engine, which
  // keeps it until it closes, so waiting longer would not help.
  const db = new SQLite(filename, { timeout: 200 })
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    db.pragma('locking_mode = EXCLUSIVE')
    // Negative cache_size is in KiB: this bounds SQLite's page cache by the option.
    db.pragma(`cache_size = -${Math.max(256, Math.floor(cacheBytes / 1024))}`)
    // Takes the exclusive lock now rather than on the first write.
    db.exec('BEGIN IMMEDIATE; COMMIT')
    migrate(db)
  } catch (cause) {
    db.close()
    const busy =
      cause instanceof Error &&
      /SQLITE_BUSY|database is locked/i.test(
        `${(cause as { code?: string }).code} ${cause.message}`,
      )
    throw new PStorageError(
      busy ? 'conflict' : 'service_unavailable',
      busy
        ? `[pstorage] [engine] ${filename} is in use by another engine`
        : `[pstorage] [engine] cannot open ${filename}`,
      { cause },
    )
  }
  return db
}

function migrate(db: SqliteDatabase): void {
  const version = db.pragma('user_version', { simple: true }) as number
  if (version > SCHEMA_VERSION) {
    throw new Error(`metadata schema ${version} is newer than this engine (${SCHEMA_VERSION})`)
  }
  if (version === 1) {
    throw new Error(
      'metadata schema 1 (format 1, block records) is not supported by this engine: recreate the data directory',
    )
  }
  if (version === SCHEMA_VERSION) return
  db.transaction(() => {
    if (version === 0) db.exec(SCHEMA_V2)
    db.exec(MIGRATION_V3)
    db.pragma(`user_version = ${SCHEMA_VERSION}`)
  })()
}

/**
 * Small key/value settings and counters of the engine, stored as JSON.
 *
 * @example
 * ```ts
 * const meta = new MetaTable(db)
 * meta.set('segment_size', 4194304)
 * ```
 */
export class MetaTable {
  readonly #get: SQLite.Statement<[string], { value: string }>
  readonly #set: SQLite.Statement<[string, string]>

  constructor(db: SqliteDatabase) {
    this.#get = db.prepare('SELECT value FROM meta WHERE key = ?')
    this.#set = db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    )
  }

  /** The stored value of `key`, parsed, or undefined. */
  get<T>(key: string): T | undefined {
    const row = this.#get.get(key)
    return row === undefined ? undefined : (JSON.parse(row.value) as T)
  }

  /** Stores `value` under `key` (call inside the caller's transaction). */
  set(key: string, value: unknown): void {
    this.#set.run(key, JSON.stringify(value))
  }
}

/**
 * The metadata database's write-ahead log as a file. A commit made with
 * `synchronous=NORMAL` (`commitUnsynced` in context.ts) is in the log, through the page
 * cache, when it returns, which survives the process being killed but not a power loss;
 * `sync()` fsyncs the log from libuv's thread pool, after which the commit is durable,
 * while the main thread goes on. SQLite keeps the log file while the connection is open;
 * `sync()` still checks that its handle is the file at the path, and reopens it if not.
 *
 * @example
 * ```ts
 * const wal = new WalFile(`${dbPath}-wal`)
 * await wal.sync()
 * ```
 */
export class WalFile {
  readonly path: string
  #handle: Promise<FileHandle> | undefined

  constructor(path: string) {
    this.path = path
  }

  /** Makes every commit written to the log so far durable. */
  async sync(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.#handle ??= open(this.path, 'r')
      const opened = this.#handle
      try {
        const handle = await opened
        await handle.sync()
        const [mine, current] = await Promise.all([handle.stat(), stat(this.path)])
        if (mine.ino === current.ino && mine.dev === current.dev) return
      } catch (error) {
        if (attempt > 0) throw error
      }
      // Replaced (or never opened): open the file at the path and sync that one.
      if (this.#handle === opened) this.#handle = undefined
      void opened.then((handle) => handle.close()).catch(() => undefined)
      if (attempt > 0) throw new Error(`${this.path} keeps being replaced`)
    }
  }

  /** Closes the handle. */
  async close(): Promise<void> {
    const opened = this.#handle
    this.#handle = undefined
    if (opened) await (await opened.catch(() => undefined))?.close()
  }
}
