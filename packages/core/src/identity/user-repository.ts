import { type Kysely, sql } from 'kysely'
import type { Database } from '../store/database.js'
import { likePattern, pageOf } from './dto.js'
import type { NewUserRow, UserRow, UserRowUpdate } from './tables.js'

/** A parsed `ListUsersQuery` with `skip` folded into `offset`. */
export interface UserListQuery {
  readonly limit: number
  readonly offset: number
  readonly order: 'asc' | 'desc'
  readonly sort?: string | undefined
  readonly search?: string | undefined
  readonly role?: string | undefined
  readonly is_active?: boolean | undefined
}

/**
 * Portable queries over `users`. Counter updates are single statements (`x = x + 1`), so
 * concurrent failed logins are all counted.
 *
 * @example
 * ```ts
 * const users = userRepository(store.db)
 * const row = await users.findByUsername('alice')
 * ```
 */
export function userRepository(db: Kysely<Database>) {
  return Object.freeze({
    find: (id: string): Promise<UserRow | undefined> =>
      db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst(),

    findByUsername: (username: string): Promise<UserRow | undefined> =>
      db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst(),

    count: async (): Promise<number> => {
      const row = await db
        .selectFrom('users')
        .select(sql<number>`count(*)`.as('count'))
        .executeTakeFirstOrThrow()
      return Number(row.count)
    },

    /** Active admins other than `exceptId`: the last one may not be removed or demoted. */
    countOtherActiveAdmins: async (exceptId: string): Promise<number> => {
      const row = await db
        .selectFrom('users')
        .select(sql<number>`count(*)`.as('count'))
        .where('role', '=', 'admin')
        .where('is_active', '=', 1)
        .where('id', '<>', exceptId)
        .executeTakeFirstOrThrow()
      return Number(row.count)
    },

    list: (query: UserListQuery) => {
      let base = db.selectFrom('users')
      if (query.role !== undefined) base = base.where('role', '=', query.role)
      if (query.is_active !== undefined)
        base = base.where('is_active', '=', query.is_active ? 1 : 0)
      if (query.search !== undefined) {
        const p = likePattern(query.search)
        base = base.where(
          sql<boolean>`(lower(username) LIKE ${p} ESCAPE '\\' OR lower(coalesce(email, '')) LIKE ${p} ESCAPE '\\' OR lower(coalesce(full_name, '')) LIKE ${p} ESCAPE '\\')`,
        )
      }
      return pageOf<'users', UserRow>(base, query, 'created_at')
    },

    insert: async (row: NewUserRow): Promise<void> => {
      await db.insertInto('users').values(row).execute()
    },

    update: async (id: string, patch: UserRowUpdate): Promise<void> => {
      await db.updateTable('users').set(patch).where('id', '=', id).execute()
    },

    /** Sets `patch` and bumps `token_version`, invalidating every access token of the user. */
    updateAndBump: async (id: string, patch: UserRowUpdate): Promise<void> => {
      await db
        .updateTable('users')
        .set({ ...patch, token_version: sql<number>`token_version + 1` })
        .where('id', '=', id)
        .execute()
    },

    /**
     * Counts one failed login; at `max` consecutive failures it locks the account until
     * `lockedUntil` and restarts the count. True if this failure locked the account.
     */
    recordFailure: async (id: string, max: number, lockedUntil: string): Promise<boolean> => {
      const row = await db
        .updateTable('users')
        .set({ failed_logins: sql<number>`failed_logins + 1` })
        .where('id', '=', id)
        .returning('failed_logins')
        .executeTakeFirst()
      if (!row || Number(row.failed_logins) < max) return false
      await db
        .updateTable('users')
        .set({ failed_logins: 0, locked_until: lockedUntil })
        .where('id', '=', id)
        .execute()
      return true
    },

    remove: async (id: string): Promise<void> => {
      await db.deleteFrom('users').where('id', '=', id).execute()
    },
  })
}

export type UserRepository = ReturnType<typeof userRepository>
