import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely'
import type { MetadataStore } from '../ports/metadata-store.js'
import type { Database } from './database.js'
import { migrationProvider } from './migrations.js'

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** Path of the database file, or `':memory:'`. Parent directories are created. */
  readonly filename: string
}

/**
 * The embedded metadata store: SQLite through better-sqlite3, in WAL mode with
 * `synchronous=FULL`, so a committed write survives a power loss, not just a crash.
 *
 * @example
 * ```ts
 * const store = createSqliteStore({ filename: './data/pstorage.db' })
 * await store.migrate()
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions): MetadataStore {
  if (options.filename !== ':memory:') mkdirSync(dirname(options.filename), { recursive: true })
  const sqlite = new SQLite(options.filename)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 5000')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
  return Object.freeze({
    db,
    async migrate() {
      const { error, results } = await new Migrator({
        db,
        provider: migrationProvider,
      }).migrateToLatest()
      const failed = results?.find((result) => result.status === 'Error')
      if (error || failed) {
        throw new Error(`[pstorage] [store] migration ${failed?.migrationName ?? ''} failed`, {
          cause: error,
        })
      }
    },
    async ping() {
      try {
        await sql`SELECT 1`.execute(db)
        return true
      } catch {
        return false
      }
    },
    async close() {
      await db.destroy()
    },
  })
}
