import type { Insertable, Selectable, Updateable } from 'kysely'
import type { IdentityTables } from '../identity/tables.js'

/** Row of `volumes`. Timestamps are RFC 3339 strings, tags a JSON object: portable types. */
export interface VolumesTable {
  id: string
  name: string
  size_bytes: number
  state: string
  description: string | null
  tags: string
  policy: string
  created_at: string
  updated_at: string
}

/** Row of `snapshots`. `volume_name`, sizes and usage are frozen at creation. */
export interface SnapshotsTable {
  id: string
  volume_id: string
  volume_name: string
  name: string
  size_bytes: number
  used_bytes: number
  state: string
  description: string | null
  tags: string
  created_at: string
}

/** Row of `cluster_peers`: nodes registered with `POST /api/v1/cluster/peers`. */
export interface ClusterPeersTable {
  node_id: string
  url: string
  /** Epoch seconds of the last heartbeat received from the peer (seeds/001 shows seconds). */
  last_heartbeat: number | null
  created_at: string
}

/**
 * Row of `storage_backends` (seeds/000 §1). `config` is the type's config as JSON without
 * its secrets; `secrets` maps each secret field to its vault-sealed value (bound to the
 * backend id and field); `stats` is the last computed stats document.
 */
export interface StorageBackendsTable {
  id: string
  name: string
  type: string
  status: string
  status_message: string | null
  config: string
  secrets: string
  upload_policy: string
  stats: string | null
  stats_updated_at: string | null
  last_checked_at: string | null
  created_at: string
  updated_at: string
}

/** The metadata schema, as the migrations leave it. */
export interface Database extends IdentityTables {
  volumes: VolumesTable
  snapshots: SnapshotsTable
  cluster_peers: ClusterPeersTable
  storage_backends: StorageBackendsTable
}

export type VolumeRow = Selectable<VolumesTable>
export type NewVolumeRow = Insertable<VolumesTable>
export type VolumeRowUpdate = Updateable<VolumesTable>
export type SnapshotRow = Selectable<SnapshotsTable>
export type ClusterPeerRow = Selectable<ClusterPeersTable>
export type NewSnapshotRow = Insertable<SnapshotsTable>
export type StorageBackendRow = Selectable<StorageBackendsTable>
