import { createRoute, z } from '@hono/zod-openapi'
import {
  AddPeerRequestSchema,
  ClusterPeerSchema,
  ClusterStatusSchema,
  FailoverRequestSchema,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  type PStorage,
  ReplicationStatusSchema,
} from '@pstorage/core'
import { jsonBody } from '../json-body.js'
import type { Router } from '../security/access.js'
import { errors, jsonRequest, jsonResponse, SMALL_BODY_BYTES } from './shared.js'

const tags = ['Cluster']
const disabled = {
  409: {
    description: 'Conflict: `clustering_disabled` while this node has no replicating peer',
    content: {
      'application/json': { schema: errors(409)[409].content['application/json'].schema },
    },
  },
}

export const getClusterStatus = createRoute({
  method: 'get',
  path: '/api/v1/cluster/status',
  operationId: 'getClusterStatus',
  tags,
  summary: 'Cluster status',
  description: 'On a single node: this node is the primary of a one-node cluster, with quorum.',
  responses: { 200: jsonResponse('The cluster status', ClusterStatusSchema) },
})

export const getReplicationStatus = createRoute({
  method: 'get',
  path: '/api/v1/cluster/replication',
  operationId: 'getReplicationStatus',
  tags,
  summary: 'Replication status and registered peers',
  responses: { 200: jsonResponse('Replication status', ReplicationStatusSchema) },
})

export const addPeer = createRoute({
  method: 'post',
  path: '/api/v1/cluster/peers',
  operationId: 'addPeer',
  tags,
  summary: 'Register a peer',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { body: jsonRequest(AddPeerRequestSchema) },
  responses: {
    201: jsonResponse('The registered peer', ClusterPeerSchema),
    ...errors(400, 409, 413, 422),
  },
})

export const removePeer = createRoute({
  method: 'delete',
  path: '/api/v1/cluster/peers/{node_id}',
  operationId: 'removePeer',
  tags,
  summary: 'Remove a peer',
  request: {
    params: z.object({
      node_id: z.string().meta({ param: { name: 'node_id', in: 'path' }, example: 'node-2' }),
    }),
  },
  responses: { 204: { description: 'Removed' }, ...errors(404) },
})

export const failover = createRoute({
  method: 'post',
  path: '/api/v1/cluster/failover',
  operationId: 'failover',
  tags,
  summary: 'Manual failover',
  description:
    '`target_node: null` elects a primary automatically. Refused (409) while clustering is disabled.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { body: jsonRequest(FailoverRequestSchema) },
  responses: { ...errors(400, 413, 422), ...disabled },
})

export const failback = createRoute({
  method: 'post',
  path: '/api/v1/cluster/failback',
  operationId: 'failback',
  tags,
  summary: 'Manual failback',
  description:
    'Restores the original primary after a failover. Refused (409) while clustering is disabled.',
  responses: { ...disabled },
})

export const heartbeat = createRoute({
  method: 'post',
  path: '/api/v1/cluster/heartbeat',
  operationId: 'heartbeat',
  tags,
  summary: 'Heartbeat from a peer (internal)',
  description:
    'Records that a registered peer is alive; its state in the replication status follows.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { body: jsonRequest(HeartbeatRequestSchema) },
  responses: {
    200: jsonResponse('Acknowledged', HeartbeatResponseSchema),
    ...errors(400, 404, 413, 422),
  },
})

/** Mounts the cluster routes of seeds/001. */
export function clusterRoutes(r: Router, pstorage: PStorage): void {
  const { cluster } = pstorage
  r.mount('viewer', getClusterStatus, async (c) => c.json(await cluster.status(), 200))
  r.mount('viewer', getReplicationStatus, async (c) => c.json(await cluster.replication(), 200))
  r.mount('admin', addPeer, async (c) => c.json(await cluster.addPeer(c.req.valid('json')), 201))
  r.mount('admin', removePeer, async (c) => {
    await cluster.removePeer(c.req.valid('param').node_id)
    return c.body(null, 204)
  })
  r.mount('admin', failover, async (c) => cluster.failover(c.req.valid('json')))
  r.mount('admin', failback, async () => cluster.failback())
  r.mount('operator', heartbeat, async (c) =>
    c.json(await cluster.heartbeat(c.req.valid('json')), 200),
  )
}
