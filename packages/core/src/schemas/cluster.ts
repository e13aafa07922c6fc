import { z } from 'zod'

/** A cluster node id: short, URL- and shell-safe. */
export const NodeIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
    message: 'letters, digits, ".", "_" and "-", at most 63',
  })
  .meta({ example: 'node-2' })

/** A peer's base URL: http(s) only, no credentials in it. */
const PeerUrlSchema = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .refine((url) => !new URL(url).username && !new URL(url).password, {
    message: 'must not contain credentials',
  })
  .meta({ example: 'http://node-2:8000' })

/** `GET /api/v1/cluster/status` (seeds/001, "Cluster Status"). */
export const ClusterStatusSchema = z
  .object({
    node_id: z.string().meta({ example: 'node-1' }),
    state: z.enum(['healthy', 'degraded', 'failed_over']).meta({ example: 'healthy' }),
    current_primary: z.string().meta({ example: 'node-1' }),
    has_quorum: z.boolean().meta({ example: true }),
    node_count: z.number().int().min(1).meta({ example: 3 }),
    healthy_nodes: z.number().int().min(0).meta({ example: 3 }),
    replication_lag_ms: z.number().min(0).meta({ example: 0.5 }),
  })
  .meta({ id: 'ClusterStatus' })
export type ClusterStatus = z.infer<typeof ClusterStatusSchema>

/** One peer of `GET /api/v1/cluster/replication`. */
export const ClusterPeerSchema = z
  .object({
    node_id: z.string().meta({ example: 'node-2' }),
    url: z.string().meta({ example: 'http://node-2:8000' }),
    state: z.enum(['healthy', 'unreachable', 'unknown']).meta({ example: 'unknown' }),
    last_heartbeat: z
      .number()
      .nullable()
      .meta({ description: 'Epoch seconds', example: 1705312200.5 }),
    lag_bytes: z.number().int().min(0).meta({ example: 0 }),
  })
  .meta({ id: 'ClusterPeer' })
export type ClusterPeer = z.infer<typeof ClusterPeerSchema>

/** `GET /api/v1/cluster/replication` (seeds/001, "Replication Status"). */
export const ReplicationStatusSchema = z
  .object({
    mode: z.enum(['none', 'sync', 'async']).meta({ example: 'none' }),
    node_id: z.string().meta({ example: 'node-1' }),
    is_primary: z.boolean().meta({ example: true }),
    peers: z.array(ClusterPeerSchema),
    operations_replicated: z.number().int().min(0).meta({ example: 0 }),
    operations_pending: z.number().int().min(0).meta({ example: 0 }),
    avg_latency_ms: z.number().min(0).meta({ example: 0 }),
  })
  .meta({ id: 'ReplicationStatus' })
export type ReplicationStatus = z.infer<typeof ReplicationStatusSchema>

/** `POST /api/v1/cluster/peers` (seeds/001, "Add Peer"). */
export const AddPeerRequestSchema = z
  .strictObject({ node_id: NodeIdSchema, url: PeerUrlSchema })
  .meta({ id: 'AddPeerRequest' })
export type AddPeerRequest = z.infer<typeof AddPeerRequestSchema>

/** `POST /api/v1/cluster/failover` (seeds/001, "Manual Failover"). */
export const FailoverRequestSchema = z
  .strictObject({ target_node: NodeIdSchema.nullable().default(null) })
  .meta({ id: 'FailoverRequest', example: { target_node: 'node-2' } })

/** `POST /api/v1/cluster/heartbeat`: a peer says it is alive. */
export const HeartbeatRequestSchema = z
  .strictObject({ node_id: NodeIdSchema })
  .meta({ id: 'HeartbeatRequest', example: { node_id: 'node-2' } })

/** The answer to a heartbeat. */
export const HeartbeatResponseSchema = z
  .object({
    node_id: z.string().meta({ example: 'node-1' }),
    received_at: z.number().meta({ description: 'Epoch seconds', example: 1705312200.5 }),
  })
  .meta({ id: 'HeartbeatResponse' })
export type HeartbeatResponse = z.infer<typeof HeartbeatResponseSchema>
