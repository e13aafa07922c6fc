/**
 * Migrations of the identity tables (users, tokens, API keys, audit), in portable SQL,
 * merged into `MIGRATIONS` by store/migrations.ts. Names sort after the core ones.
 *
 * Portable as core's are (runs unchanged on SQLite and PostgreSQL), plus INTEGER for small
 * counters and 0/1 flags: both databases return it as a JS number. Foreign keys cascade so
 * deleting a user removes its refresh tokens and API keys (SQLite enforces them because
 * the store sets `foreign_keys = ON`). `audit_log` has no foreign key: entries outlive users.
 *
 * @example
 * ```ts
 * Object.keys(IDENTITY_MIGRATIONS) // ['0003_identity']
 * ```
 */
export const IDENTITY_MIGRATIONS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  '0003_identity': Object.freeze([
    `CREATE TABLE users (
      id TEXT PRIMARY KEY,
      username TEXT NOT NULL,
      email TEXT,
      full_name TEXT,
      role TEXT NOT NULL,
      password_hash TEXT NOT NULL,
      token_version INTEGER NOT NULL,
      failed_logins INTEGER NOT NULL,
      locked_until TEXT,
      is_active INTEGER NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      last_login TEXT
    )`,
    'CREATE UNIQUE INDEX users_username_unique ON users (username)',
    `CREATE TABLE refresh_tokens (
      id TEXT PRIMARY KEY,
      family_id TEXT NOT NULL,
      user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      token_hash TEXT NOT NULL,
      created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      family_expires_at TEXT NOT NULL,
      used_at TEXT,
      revoked_at TEXT
    )`,
    'CREATE UNIQUE INDEX refresh_tokens_hash_unique ON refresh_tokens (token_hash)',
    'CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)',
    'CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id)',
    `CREATE TABLE api_keys (
      id TEXT PRIMARY KEY,
      key_id TEXT NOT NULL,
      name TEXT NOT NULL,
      role TEXT NOT NULL,
      owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      key_hash TEXT NOT NULL,
      created_at TEXT NOT NULL,
      expires_at TEXT,
      last_used_at TEXT,
      revoked_at TEXT
    )`,
    'CREATE UNIQUE INDEX api_keys_key_id_unique ON api_keys (key_id)',
    'CREATE INDEX api_keys_owner ON api_keys (owner_id)',
    `CREATE TABLE audit_log (
      id TEXT PRIMARY KEY,
      at TEXT NOT NULL,
      request_id TEXT,
      actor_type TEXT NOT NULL,
      actor_id TEXT,
      actor_name TEXT,
      role TEXT,
      ip TEXT,
      user_agent TEXT,
      method TEXT,
      route TEXT,
      action TEXT NOT NULL,
      resource_type TEXT,
      resource_id TEXT,
      outcome TEXT NOT NULL,
      status INTEGER,
      detail TEXT
    )`,
    'CREATE INDEX audit_log_at ON audit_log (at)',
    'CREATE INDEX audit_log_actor ON audit_log (actor_id)',
    'CREATE INDEX audit_log_action ON audit_log (action)',
    `CREATE TABLE revoked_access_tokens (
      jti TEXT PRIMARY KEY,
      expires_at TEXT NOT NULL
    )`,
  ]),
})
