import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, Migrator, type SqliteDatabase, SqliteDialect, sql } from 'kysely'
import type { MetadataStore } from '../ports/metadata-store.js'
import type { Database } from './database.js'
import { migrationProvider } from './migrations.js'

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** Path of the database file, or `':memory:'`. Parent directories are created. */
  readonly filename: string
}

/** Prepared statements kept per connection; queries are built from a bounded set of shapes. */
const STATEMENT_CACHE = 512

/**
 * `sqlite` with its prepared statements reused: Kysely prepares every query it runs, and
 * preparing costs more than running the point lookups every request makes (principal,
 * token denylist, volume row). Safe because Kysely runs one query at a time per connection
 * (a streamed query holds the connection until it ends), and SQLite re-prepares a
 * statement whose schema changed.
 */
function cached(sqlite: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>()
  return {
    close: () => sqlite.close(),
    prepare(query: string) {
      let statement = statements.get(query)
      if (statement) statements.delete(query)
      else {
        statement = sqlite.prepare(query)
        if (statements.size >= STATEMENT_CACHE) {
          statements.delete(statements.keys().next().value as string)
        }
      }
      // Most recently used last: the first key is the one evicted.
      statements.set(query, statement)
      return statement
    },
  }
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
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cached(sqlite) }) })
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
