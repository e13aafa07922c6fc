import { type Kysely, type SelectQueryBuilder, sql } from 'kysely'
import { PStorageError } from '../errors.js'
import type { ListQuery } from '../schemas/common.js'
import type {
  Database,
  NewSnapshotRow,
  NewVolumeRow,
  SnapshotRow,
  VolumeRow,
  VolumeRowUpdate,
} from './database.js'

/** A page of rows and the number of rows matching the query without paging. */
export interface Page<T> {
  readonly rows: T[]
  readonly total: number
}

/**
 * Maps a unique-constraint violation from SQLite or PostgreSQL to `conflict`, so a race
 * between two creates with one name answers 409 rather than 500.
 */
export function uniqueViolationToConflict(error: unknown, detail: string): never {
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505') {
    throw new PStorageError('conflict', detail, { cause: error })
  }
  throw error
}

/** Escapes LIKE wildcards so a search for `50%` means the three characters. */
function likePattern(search: string): string {
  return `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

/**
 * One page of a list query: name search, count without paging, stable order (`id` breaks
 * ties), limit and offset. `ESCAPE` is spelled out: SQLite has no default LIKE escape.
 */
export async function page<DB, TB extends keyof DB & string, R>(
  base: SelectQueryBuilder<DB, TB, object>,
  query: ListQuery<string>,
  defaultSort: string,
): Promise<Page<R>> {
  const filtered = query.search
    ? base.where(sql<boolean>`lower(name) LIKE ${likePattern(query.search)} ESCAPE '\\'`)
    : base
  const counted = await filtered.select(sql<number>`count(*)`.as('count')).executeTakeFirstOrThrow()
  const rows = await filtered
    .selectAll()
    .orderBy(sql.ref(query.sort ?? defaultSort), query.order)
    .orderBy(sql.ref('id'), 'asc')
    .limit(query.limit)
    .offset(query.offset)
    .execute()
  return { rows: rows as R[], total: Number((counted as { count: number | string }).count) }
}

/**
 * Portable queries over `volumes`.
 *
 * @example
 * ```ts
 * const volumes = volumeRepository(store.db)
 * const row = await volumes.find(id)
 * ```
 */
export function volumeRepository(db: Kysely<Database>) {
  return Object.freeze({
    find: (id: string): Promise<VolumeRow | undefined> =>
      db.selectFrom('volumes').selectAll().where('id', '=', id).executeTakeFirst(),
    findByName: (name: string): Promise<VolumeRow | undefined> =>
      db.selectFrom('volumes').selectAll().where('name', '=', name).executeTakeFirst(),
    list: (query: ListQuery<string>): Promise<Page<VolumeRow>> =>
      page(
        db.selectFrom('volumes') as SelectQueryBuilder<Database, 'volumes', object>,
        query,
        'created_at',
      ),
    all: (): Promise<VolumeRow[]> => db.selectFrom('volumes').selectAll().execute(),
    insert: async (row: NewVolumeRow): Promise<void> => {
      await db.insertInto('volumes').values(row).execute()
    },
    update: async (id: string, patch: VolumeRowUpdate): Promise<void> => {
      await db.updateTable('volumes').set(patch).where('id', '=', id).execute()
    },
    remove: async (id: string): Promise<void> => {
      await db.deleteFrom('volumes').where('id', '=', id).execute()
    },
  })
}

/**
 * Portable queries over `snapshots`.
 *
 * @example
 * ```ts
 * const { rows, total } = await snapshotRepository(store.db).list(query, volumeId)
 * ```
 */
export function snapshotRepository(db: Kysely<Database>) {
  return Object.freeze({
    find: (id: string): Promise<SnapshotRow | undefined> =>
      db.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirst(),
    findByName: (volumeId: string, name: string): Promise<SnapshotRow | undefined> =>
      db
        .selectFrom('snapshots')
        .selectAll()
        .where('volume_id', '=', volumeId)
        .where('name', '=', name)
        .executeTakeFirst(),
    list: (query: ListQuery<string>, volumeId?: string): Promise<Page<SnapshotRow>> => {
      const base = db.selectFrom('snapshots')
      const scoped = volumeId === undefined ? base : base.where('volume_id', '=', volumeId)
      return page(scoped, query, 'created_at')
    },
    countByVolume: async (): Promise<Record<string, number>> => {
      const rows = await db
        .selectFrom('snapshots')
        .select(({ fn }) => ['volume_id', fn.countAll<number>().as('count')])
        .groupBy('volume_id')
        .execute()
      return Object.fromEntries(rows.map((row) => [row.volume_id, Number(row.count)]))
    },
    insert: async (row: NewSnapshotRow): Promise<void> => {
      await db.insertInto('snapshots').values(row).execute()
    },
    remove: async (id: string): Promise<void> => {
      await db.deleteFrom('snapshots').where('id', '=', id).execute()
    },
  })
}

export type VolumeRepository = ReturnType<typeof volumeRepository>
export type SnapshotRepository = ReturnType<typeof snapshotRepository>
