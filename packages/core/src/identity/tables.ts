import type { Insertable, Selectable, Updateable } from 'kysely'

/**
 * Row of `users`. Flags and counters are INTEGER (0/1 for `is_active`): better-sqlite3 cannot
 * bind booleans, and PostgreSQL returns INTEGER as a number where BIGINT comes back a string.
 * Timestamps are RFC 3339 UTC strings from `Date#toISOString()`, so they compare as text.
 */
export interface UsersTable {
  id: string
  /** Lower case, `^[a-z0-9][a-z0-9._-]{2,63}$`, unique. */
  username: string
  email: string | null
  full_name: string | null
  /** One of `ROLES`. */
  role: string
  /** Encoded scrypt hash (`scrypt$ln=…`). Never leaves the identity services. */
  password_hash: string
  /** Bumped to invalidate every access token of the user (`tv` claim). */
  token_version: number
  /** Consecutive failed logins since the last success or lock. */
  failed_logins: number
  /** Login refused (`account_locked`) until this instant. */
  locked_until: string | null
  /** 1 = may log in, 0 = disabled. */
  is_active: number
  created_at: string
  updated_at: string
  last_login: string | null
}

/**
 * Row of `refresh_tokens`: one per issued refresh token, stored as its SHA-256 only. Tokens
 * rotated from one login share a `family_id` and its absolute deadline (RFC 9700 §4.14).
 */
export interface RefreshTokensTable {
  id: string
  family_id: string
  user_id: string
  token_hash: string
  created_at: string
  /** This token's own expiry: never past `family_expires_at`. */
  expires_at: string
  /** Absolute end of the family, fixed at login. */
  family_expires_at: string
  /** Set when rotated; presenting it again is reuse. */
  used_at: string | null
  revoked_at: string | null
}

/** Row of `api_keys`. The key itself is never stored: only its SHA-256 (`key_hash`). */
export interface ApiKeysTable {
  id: string
  /** Public 8-character id embedded in the key (`psk_<key_id>_<secret>`), unique. */
  key_id: string
  name: string
  role: string
  owner_id: string
  key_hash: string
  created_at: string
  expires_at: string | null
  last_used_at: string | null
  revoked_at: string | null
}

/** Row of `audit_log`: append-only; nothing in PStorage updates or deletes one. */
export interface AuditLogTable {
  id: string
  at: string
  request_id: string | null
  actor_type: string
  actor_id: string | null
  actor_name: string | null
  role: string | null
  ip: string | null
  user_agent: string | null
  method: string | null
  route: string | null
  action: string
  resource_type: string | null
  resource_id: string | null
  outcome: string
  status: number | null
  detail: string | null
}

/** Row of `revoked_access_tokens`: the `jti` denylist of logged-out access tokens. */
export interface RevokedAccessTokensTable {
  jti: string
  /** The token's own `exp`; the row is useless (and purged) afterwards. */
  expires_at: string
}

/** The identity tables of the metadata schema (see identity/migrations.ts). */
export interface IdentityTables {
  users: UsersTable
  refresh_tokens: RefreshTokensTable
  api_keys: ApiKeysTable
  audit_log: AuditLogTable
  revoked_access_tokens: RevokedAccessTokensTable
}

export type UserRow = Selectable<UsersTable>
export type NewUserRow = Insertable<UsersTable>
export type UserRowUpdate = Updateable<UsersTable>
export type RefreshTokenRow = Selectable<RefreshTokensTable>
export type ApiKeyRow = Selectable<ApiKeysTable>
export type AuditLogRow = Selectable<AuditLogTable>
