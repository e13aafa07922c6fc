import { type Kysely, sql } from 'kysely'
import type { Database } from '../store/database.js'
import { likePattern, pageOf } from './dto.js'
import type { ApiKeyRow } from './tables.js'

/** A parsed `ListApiKeysQuery` with `skip` folded into `offset`. */
export interface ApiKeyListQuery {
  readonly limit: number
  readonly offset: number
  readonly order: 'asc' | 'desc'
  readonly sort?: string | undefined
  readonly search?: string | undefined
  readonly owner_id?: string | undefined
}

/**
 * Portable queries over `api_keys`.
 *
 * @example
 * ```ts
 * const row = await apiKeyRepository(store.db).findByKeyId(parsed.id)
 * ```
 */
export function apiKeyRepository(db: Kysely<Database>) {
  return Object.freeze({
    find: (id: string): Promise<ApiKeyRow | undefined> =>
      db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst(),

    /** By the public id inside the key (`psk_<key_id>_…`). */
    findByKeyId: (keyId: string): Promise<ApiKeyRow | undefined> =>
      db.selectFrom('api_keys').selectAll().where('key_id', '=', keyId).executeTakeFirst(),

    list: (query: ApiKeyListQuery) => {
      let base = db.selectFrom('api_keys')
      if (query.owner_id !== undefined) base = base.where('owner_id', '=', query.owner_id)
      if (query.search !== undefined) {
        const p = likePattern(query.search)
        base = base.where(sql<boolean>`lower(name) LIKE ${p} ESCAPE '\\'`)
      }
      return pageOf<'api_keys', ApiKeyRow>(base, query, 'created_at')
    },

    insert: async (row: ApiKeyRow): Promise<void> => {
      await db.insertInto('api_keys').values(row).execute()
    },

    /** Sets `revoked_at` unless already set (the first revocation time is kept). */
    revoke: async (id: string, now: string): Promise<void> => {
      await db
        .updateTable('api_keys')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .execute()
    },

    /** Records use at `now` unless already recorded after `notAfter` (throttles writes). */
    touch: async (id: string, now: string, notAfter: string): Promise<void> => {
      await db
        .updateTable('api_keys')
        .set({ last_used_at: now })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', notAfter)]))
        .execute()
    },
  })
}

export type ApiKeyRepository = ReturnType<typeof apiKeyRepository>
