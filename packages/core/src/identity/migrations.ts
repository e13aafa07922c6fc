/**
 * Migrations of the identity tables (users, tokens, API keys, audit), in portable SQL,
 * merged into `MIGRATIONS` by store/migrations.ts. Names sort after the core ones.
 */
export const IDENTITY_MIGRATIONS: Readonly<Record<string, readonly string[]>> = Object.freeze({})
