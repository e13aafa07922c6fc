import { type SelectQueryBuilder, sql } from 'kysely'
import { API_KEY_PREFIX } from '../security/opaque-tokens.js'
import type { Role } from '../security/roles.js'
import type { Database } from '../store/database.js'
import type { ApiKey } from './api-key-schemas.js'
import type { AuditActorType, AuditEntry, AuditOutcome } from './audit-schemas.js'
import type { ApiKeyRow, AuditLogRow, UserRow } from './tables.js'
import type { User, UserStatus } from './user-schemas.js'

/**
 * Status of a user at `now`: `disabled` if not active, `locked` while a lockout runs.
 *
 * @example
 * ```ts
 * userStatus(row, clock.now()) // 'locked'
 * ```
 */
export function userStatus(row: UserRow, now: Date): UserStatus {
  if (!Number(row.is_active)) return 'disabled'
  if (row.locked_until !== null && row.locked_until > now.toISOString()) return 'locked'
  return 'active'
}

/**
 * The user DTO: an allow-list of columns (OWASP API3), so the password hash, the token
 * version and the failure counters can never leak through a new column.
 *
 * @example
 * ```ts
 * return toUser(row, clock.now())
 * ```
 */
export function toUser(row: UserRow, now: Date): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    full_name: row.full_name,
    role: row.role as Role,
    status: userStatus(row, now),
    is_active: Boolean(Number(row.is_active)),
    created_at: row.created_at,
    last_login: row.last_login,
  }
}

/**
 * The API key DTO: an allow-list without the hash; `prefix` is the public `psk_<key_id>`.
 *
 * @example
 * ```ts
 * toApiKey(row).prefix // 'psk_k3x9q2ab'
 * ```
 */
export function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    prefix: `${API_KEY_PREFIX}_${row.key_id}`,
    owner_id: row.owner_id,
    created_at: row.created_at,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
  }
}

/**
 * The audit entry DTO of a row.
 *
 * @example
 * ```ts
 * const entries = rows.map(toAuditEntry)
 * ```
 */
export function toAuditEntry(row: AuditLogRow): AuditEntry {
  return {
    ...row,
    actor_type: row.actor_type as AuditActorType,
    outcome: row.outcome as AuditOutcome,
    status: row.status === null ? null : Number(row.status),
  }
}

/**
 * `%search%` for `LIKE … ESCAPE '\'`, lower-cased, with LIKE wildcards escaped so a search
 * for `50%` means those three characters.
 *
 * @example
 * ```ts
 * likePattern('a_b') // '%a\\_b%'
 * ```
 */
export function likePattern(search: string): string {
  return `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

/**
 * One page of an already filtered query: the count without paging, then rows ordered by
 * `sort` with NULLs last on both SQLite and PostgreSQL (they disagree by default) and `id`
 * breaking ties, so pages are stable.
 *
 * @example
 * ```ts
 * const { rows, total } = await pageOf<'users', UserRow>(db.selectFrom('users'), query, 'created_at')
 * ```
 */
export async function pageOf<TB extends keyof Database & string, R>(
  base: SelectQueryBuilder<Database, TB, object>,
  query: { limit: number; offset: number; order: 'asc' | 'desc'; sort?: string | undefined },
  defaultSort: string,
): Promise<{ rows: R[]; total: number }> {
  const counted = await base.select(sql<number>`count(*)`.as('count')).executeTakeFirstOrThrow()
  const column = sql.ref(query.sort ?? defaultSort)
  const rows = await base
    .selectAll()
    .orderBy(sql`CASE WHEN ${column} IS NULL THEN 1 ELSE 0 END`)
    .orderBy(column, query.order)
    .orderBy(sql.ref('id'), query.order)
    .limit(query.limit)
    .offset(query.offset)
    .execute()
  return { rows: rows as R[], total: Number((counted as { count: number | string }).count) }
}
