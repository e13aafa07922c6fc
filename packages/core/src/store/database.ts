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

/** The metadata schema, as the migrations leave it. */
export interface Database extends IdentityTables {
  volumes: VolumesTable
  snapshots: SnapshotsTable
  cluster_peers: ClusterPeersTable
}

export type VolumeRow = Selectable<VolumesTable>
export type NewVolumeRow = Insertable<VolumesTable>
export type VolumeRowUpdate = Updateable<VolumesTable>
export type SnapshotRow = Selectable<SnapshotsTable>
export type ClusterPeerRow = Selectable<ClusterPeersTable>
export type NewSnapshotRow = Insertable<SnapshotsTable>
