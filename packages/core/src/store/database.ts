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

/** Row of `machines` (seeds/003 machines: what LUN assignment needs). */
export interface MachinesTable {
  id: string
  name: string
  description: string | null
  mac_address: string
  hostname: string | null
  ip_address: string | null
  initiator_iqn: string | null
  boot_mode: string
  created_at: string
  updated_at: string
}

/**
 * Row of `iscsi_luns` (seeds/000 §3). `status` doubles as the durable job state: a row in
 * `creating` or `deleting` is work to resume after a restart. `chap_secret` is vault-sealed.
 */
export interface IscsiLunsTable {
  id: string
  name: string
  size_gb: number
  backend_id: string
  iqn: string
  purpose: string
  status: string
  status_message: string | null
  shareable: number
  chap_enabled: number
  chap_user: string | null
  chap_secret: string | null
  created_at: string
  updated_at: string
}

/** Row of `iscsi_lun_assignments`: a machine whose initiator may log in to the LUN. */
export interface IscsiLunAssignmentsTable {
  lun_id: string
  machine_id: string
  created_at: string
}

/** The metadata schema, as the migrations leave it. */
export interface Database extends IdentityTables {
  volumes: VolumesTable
  snapshots: SnapshotsTable
  cluster_peers: ClusterPeersTable
  storage_backends: StorageBackendsTable
  machines: MachinesTable
  iscsi_luns: IscsiLunsTable
  iscsi_lun_assignments: IscsiLunAssignmentsTable
}

export type VolumeRow = Selectable<VolumesTable>
export type NewVolumeRow = Insertable<VolumesTable>
export type VolumeRowUpdate = Updateable<VolumesTable>
export type SnapshotRow = Selectable<SnapshotsTable>
export type ClusterPeerRow = Selectable<ClusterPeersTable>
export type NewSnapshotRow = Insertable<SnapshotsTable>
export type StorageBackendRow = Selectable<StorageBackendsTable>
export type MachineRow = Selectable<MachinesTable>
export type IscsiLunRow = Selectable<IscsiLunsTable>
