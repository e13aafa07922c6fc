import type { Kysely } from 'kysely'
import type { Database } from '../store/database.js'
import type { RefreshTokenRow } from './tables.js'

/**
 * Portable queries over `refresh_tokens` and the `revoked_access_tokens` denylist.
 * Revocations only set `revoked_at` where it is still NULL, so the first time is kept and
 * every revoke is idempotent.
 *
 * @example
 * ```ts
 * const tokens = tokenRepository(store.db)
 * await tokens.revokeFamily(row.family_id, now)
 * ```
 */
export function tokenRepository(db: Kysely<Database>) {
  return Object.freeze({
    insert: async (row: RefreshTokenRow): Promise<void> => {
      await db.insertInto('refresh_tokens').values(row).execute()
    },

    findByHash: (hash: string): Promise<RefreshTokenRow | undefined> =>
      db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst(),

    /**
     * Marks a token used if it is still live; false if another request rotated or revoked it
     * first (a concurrent reuse), so exactly one caller wins the rotation.
     */
    markUsed: async (id: string, now: string): Promise<boolean> => {
      const result = await db
        .updateTable('refresh_tokens')
        .set({ used_at: now })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },

    revokeFamily: async (familyId: string, now: string): Promise<void> => {
      await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: now })
        .where('family_id', '=', familyId)
        .where('revoked_at', 'is', null)
        .execute()
    },

    /** Ends every session of a user (password change, deactivation, logout everywhere). */
    revokeUser: async (userId: string, now: string): Promise<void> => {
      await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: now })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .execute()
    },

    /** Drops a user's rows whose family is over: they can no longer be used or reused. */
    purgeExpired: async (userId: string, now: string): Promise<void> => {
      await db
        .deleteFrom('refresh_tokens')
        .where('user_id', '=', userId)
        .where('family_expires_at', '<=', now)
        .execute()
    },

    /** Puts an access token on the denylist until its own expiry. */
    denyAccessToken: async (jti: string, expiresAt: string, now: string): Promise<void> => {
      await db.deleteFrom('revoked_access_tokens').where('expires_at', '<=', now).execute()
      await db
        .insertInto('revoked_access_tokens')
        .values({ jti, expires_at: expiresAt })
        .onConflict((oc) => oc.column('jti').doNothing())
        .execute()
    },

    isAccessTokenDenied: async (jti: string): Promise<boolean> => {
      const row = await db
        .selectFrom('revoked_access_tokens')
        .select('jti')
        .where('jti', '=', jti)
        .executeTakeFirst()
      return row !== undefined
    },
  })
}

export type TokenRepository = ReturnType<typeof tokenRepository>
