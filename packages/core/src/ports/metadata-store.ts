import type { Kysely } from 'kysely'
import type { Database } from '../store/database.js'

/**
 * Where PStorage keeps its metadata: a Kysely database whose schema the migrations of
 * `store/migrations.ts` define. The default is SQLite through better-sqlite3
 * (`createSqliteStore`); scale-out uses Kysely's PostgreSQL dialect with the same
 * migrations, so repositories use only SQL that runs on both.
 *
 * Contract: `migrate()` is idempotent and brings an empty or older database to the current
 * schema; writes committed before `close()` resolves are durable.
 *
 * @example
 * ```ts
 * const store = createSqliteStore({ filename: './data/pstorage.db' })
 * await store.migrate()
 * ```
 */
export interface MetadataStore {
  /** The query builder over the metadata schema. */
  readonly db: Kysely<Database>
  /** Applies every pending migration. */
  migrate(): Promise<void>
  /** True if the database answers a trivial query. */
  ping(): Promise<boolean>
  /** Closes the connection. */
  close(): Promise<void>
}
