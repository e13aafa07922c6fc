import type { Kysely } from 'kysely'
import { notFound, PStorageError } from '../errors.js'
import type { Clock } from '../ports/clock.js'
import {
  AddPeerRequestSchema,
  type ClusterPeer,
  type ClusterStatus,
  FailoverRequestSchema,
  HeartbeatRequestSchema,
  type HeartbeatResponse,
  type ReplicationStatus,
} from '../schemas/cluster.js'
import type { ClusterPeerRow, Database } from '../store/database.js'
import { uniqueViolationToConflict } from '../store/repositories.js'
import { parseInput } from './validate.js'

/** A peer heard from within this many seconds counts as healthy. */
export const PEER_HEALTHY_WITHIN_SECONDS = 30

/** What {@link createClusterService} needs. */
export interface ClusterDeps {
  readonly db: Kysely<Database>
  readonly clock: Clock
  readonly nodeId: string
}

const DISABLED_DETAIL =
  'Clustering is not enabled on this node: there is no replicating peer to fail over to or back from'

/**
 * The cluster routes of seeds/001 on a single node. Until clustering exists this node is
 * the primary of a one-node cluster with quorum; peers can be registered (persisted) and
 * their heartbeats recorded, but failover and failback answer `clustering_disabled` (409)
 * rather than pretending.
 *
 * @example
 * ```ts
 * await pstorage.cluster.addPeer({ node_id: 'node-2', url: 'http://node-2:8000' })
 * ```
 */
export function createClusterService(deps: ClusterDeps) {
  const { db, clock, nodeId } = deps
  const nowSeconds = () => clock.now().getTime() / 1000

  const toPeer = (row: ClusterPeerRow): ClusterPeer => {
    const heard = row.last_heartbeat === null ? null : Number(row.last_heartbeat)
    const state =
      heard === null
        ? 'unknown'
        : nowSeconds() - heard <= PEER_HEALTHY_WITHIN_SECONDS
          ? 'healthy'
          : 'unreachable'
    return { node_id: row.node_id, url: row.url, state, last_heartbeat: heard, lag_bytes: 0 }
  }
  const findPeer = (id: string) =>
    db.selectFrom('cluster_peers').selectAll().where('node_id', '=', id).executeTakeFirst()

  return Object.freeze({
    /** `GET /cluster/status`: this node, primary of a one-node cluster. */
    async status(): Promise<ClusterStatus> {
      return {
        node_id: nodeId,
        state: 'healthy',
        current_primary: nodeId,
        has_quorum: true,
        node_count: 1,
        healthy_nodes: 1,
        replication_lag_ms: 0,
      }
    },

    /** `GET /cluster/replication`: registered peers; nothing is replicated yet. */
    async replication(): Promise<ReplicationStatus> {
      const rows = await db.selectFrom('cluster_peers').selectAll().orderBy('node_id').execute()
      return {
        mode: 'none',
        node_id: nodeId,
        is_primary: true,
        peers: rows.map(toPeer),
        operations_replicated: 0,
        operations_pending: 0,
        avg_latency_ms: 0,
      }
    },

    /** `POST /cluster/peers`: registers a peer (persisted). */
    async addPeer(input: unknown): Promise<ClusterPeer> {
      const request = parseInput(AddPeerRequestSchema, input)
      if (request.node_id === nodeId)
        throw new PStorageError('conflict', `${nodeId} is this node, not a peer`)
      if (await findPeer(request.node_id))
        throw new PStorageError('conflict', `Peer ${request.node_id} already exists`)
      const row: ClusterPeerRow = {
        node_id: request.node_id,
        url: request.url,
        last_heartbeat: null,
        created_at: clock.now().toISOString(),
      }
      await db
        .insertInto('cluster_peers')
        .values(row)
        .execute()
        .catch((error) =>
          uniqueViolationToConflict(error, `Peer ${request.node_id} already exists`),
        )
      return toPeer(row)
    },

    /** `DELETE /cluster/peers/{node_id}`. */
    async removePeer(peerId: string): Promise<void> {
      if (!(await findPeer(peerId))) throw notFound('Peer', peerId)
      await db.deleteFrom('cluster_peers').where('node_id', '=', peerId).execute()
    },

    /** `POST /cluster/heartbeat`: records that a registered peer is alive. */
    async heartbeat(input: unknown): Promise<HeartbeatResponse> {
      const request = parseInput(HeartbeatRequestSchema, input)
      if (!(await findPeer(request.node_id))) throw notFound('Peer', request.node_id)
      const received = nowSeconds()
      await db
        .updateTable('cluster_peers')
        .set({ last_heartbeat: received })
        .where('node_id', '=', request.node_id)
        .execute()
      return { node_id: nodeId, received_at: received }
    },

    /** `POST /cluster/failover`: validated, then refused while clustering is disabled. */
    async failover(input: unknown): Promise<never> {
      parseInput(FailoverRequestSchema, input ?? {})
      throw new PStorageError('clustering_disabled', DISABLED_DETAIL)
    },

    /** `POST /cluster/failback`: refused while clustering is disabled. */
    async failback(): Promise<never> {
      throw new PStorageError('clustering_disabled', DISABLED_DETAIL)
    },
  })
}

export type ClusterService = ReturnType<typeof createClusterService>
