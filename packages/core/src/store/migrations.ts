import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely'
import { IDENTITY_MIGRATIONS } from '../identity/migrations.js'

/**
 * The metadata schema, as an ordered list of migrations in portable SQL: every statement
 * runs unchanged on SQLite and PostgreSQL (TEXT, BIGINT, DOUBLE PRECISION; no
 * AUTOINCREMENT/SERIAL, no JSON types, no partial indexes). Migrations are append-only:
 * never edit one that has shipped; add the next.
 */
export const MIGRATIONS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  '0001_volumes_and_snapshots': [
    `CREATE TABLE volumes (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      size_bytes BIGINT NOT NULL,
      state TEXT NOT NULL,
      description TEXT,
      tags TEXT NOT NULL,
      policy TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`,
    'CREATE UNIQUE INDEX volumes_name_unique ON volumes (name)',
    `CREATE TABLE snapshots (
      id TEXT PRIMARY KEY,
      volume_id TEXT NOT NULL,
      volume_name TEXT NOT NULL,
      name TEXT NOT NULL,
      size_bytes BIGINT NOT NULL,
      used_bytes BIGINT NOT NULL,
      state TEXT NOT NULL,
      description TEXT,
      tags TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`,
    'CREATE UNIQUE INDEX snapshots_volume_name_unique ON snapshots (volume_id, name)',
    'CREATE INDEX snapshots_volume_id ON snapshots (volume_id)',
  ],
  '0002_cluster_peers': [
    `CREATE TABLE cluster_peers (
      node_id TEXT PRIMARY KEY,
      url TEXT NOT NULL,
      last_heartbeat DOUBLE PRECISION,
      created_at TEXT NOT NULL
    )`,
  ],
  ...IDENTITY_MIGRATIONS,
  '0004_storage_backends': [
    `CREATE TABLE storage_backends (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      type TEXT NOT NULL,
      status TEXT NOT NULL,
      status_message TEXT,
      config TEXT NOT NULL,
      secrets TEXT NOT NULL,
      upload_policy TEXT NOT NULL,
      stats TEXT,
      stats_updated_at TEXT,
      last_checked_at TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`,
    'CREATE UNIQUE INDEX storage_backends_name_unique ON storage_backends (name)',
  ],
  '0005_machines_and_luns': [
    `CREATE TABLE machines (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      description TEXT,
      mac_address TEXT NOT NULL,
      hostname TEXT,
      ip_address TEXT,
      initiator_iqn TEXT,
      boot_mode TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`,
    'CREATE UNIQUE INDEX machines_name_unique ON machines (name)',
    'CREATE UNIQUE INDEX machines_mac_unique ON machines (mac_address)',
    `CREATE TABLE iscsi_luns (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      size_gb INTEGER NOT NULL,
      backend_id TEXT NOT NULL,
      iqn TEXT NOT NULL,
      purpose TEXT NOT NULL,
      status TEXT NOT NULL,
      status_message TEXT,
      shareable INTEGER NOT NULL,
      chap_enabled INTEGER NOT NULL,
      chap_user TEXT,
      chap_secret TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`,
    'CREATE UNIQUE INDEX iscsi_luns_backend_name_unique ON iscsi_luns (backend_id, name)',
    'CREATE UNIQUE INDEX iscsi_luns_iqn_unique ON iscsi_luns (iqn)',
    `CREATE TABLE iscsi_lun_assignments (
      lun_id TEXT NOT NULL REFERENCES iscsi_luns (id) ON DELETE CASCADE,
      machine_id TEXT NOT NULL REFERENCES machines (id),
      created_at TEXT NOT NULL,
      PRIMARY KEY (lun_id, machine_id)
    )`,
    'CREATE INDEX iscsi_lun_assignments_machine ON iscsi_lun_assignments (machine_id)',
  ],
})

/** Feeds {@link MIGRATIONS} to Kysely's `Migrator`. */
export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    const migrations: Record<string, Migration> = {}
    for (const [name, statements] of Object.entries(MIGRATIONS)) {
      migrations[name] = {
        async up(db: Kysely<unknown>) {
          for (const statement of statements) await sql.raw(statement).execute(db)
        },
      }
    }
    return migrations
  },
}
