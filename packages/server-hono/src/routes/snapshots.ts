import { createRoute, z } from '@hono/zod-openapi'
import {
  CreateSnapshotRequestSchema,
  ListSnapshotsQuerySchema,
  type PStorage,
  RestoreSnapshotRequestSchema,
  SnapshotListSchema,
  SnapshotSchema,
  VolumeSchema,
} from '@pstorage/core'
import { jsonBody } from '../json-body.js'
import type { Router } from '../security/access.js'
import { errors, jsonRequest, jsonResponse, SMALL_BODY_BYTES, VolumeIdParams } from './shared.js'

const tags = ['Snapshots']
const SnapshotParams = VolumeIdParams.extend({
  snapshot_id: z.string().meta({
    param: { name: 'snapshot_id', in: 'path' },
    example: '660e8400-e29b-41d4-a716-446655440001',
  }),
})

export const createSnapshot = createRoute({
  method: 'post',
  path: '/api/v1/volumes/{volume_id}/snapshots',
  operationId: 'createSnapshot',
  tags,
  summary: 'Create a snapshot',
  description: 'Instant and immutable; snapshot names are unique per volume.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params: VolumeIdParams, body: jsonRequest(CreateSnapshotRequestSchema) },
  responses: {
    201: jsonResponse('The snapshot', SnapshotSchema),
    ...errors(400, 404, 409, 413, 422),
  },
})

export const listVolumeSnapshots = createRoute({
  method: 'get',
  path: '/api/v1/volumes/{volume_id}/snapshots',
  operationId: 'listVolumeSnapshots',
  tags,
  summary: "List a volume's snapshots",
  request: { params: VolumeIdParams, query: ListSnapshotsQuerySchema },
  responses: { 200: jsonResponse('A page of snapshots', SnapshotListSchema), ...errors(404, 422) },
})

export const listSnapshots = createRoute({
  method: 'get',
  path: '/api/v1/snapshots',
  operationId: 'listSnapshots',
  tags,
  summary: 'List snapshots of all volumes',
  request: { query: ListSnapshotsQuerySchema },
  responses: { 200: jsonResponse('A page of snapshots', SnapshotListSchema), ...errors(422) },
})

export const getSnapshot = createRoute({
  method: 'get',
  path: '/api/v1/volumes/{volume_id}/snapshots/{snapshot_id}',
  operationId: 'getSnapshot',
  tags,
  summary: 'Get a snapshot',
  request: { params: SnapshotParams },
  responses: { 200: jsonResponse('The snapshot', SnapshotSchema), ...errors(404) },
})

export const deleteSnapshot = createRoute({
  method: 'delete',
  path: '/api/v1/volumes/{volume_id}/snapshots/{snapshot_id}',
  operationId: 'deleteSnapshot',
  tags,
  summary: 'Delete a snapshot',
  description: 'Blocks that other volumes or snapshots share stay.',
  request: { params: SnapshotParams },
  responses: { 204: { description: 'Deleted' }, ...errors(404) },
})

export const restoreSnapshot = createRoute({
  method: 'post',
  path: '/api/v1/volumes/{volume_id}/snapshots/{snapshot_id}/restore',
  operationId: 'restoreSnapshot',
  tags,
  summary: 'Restore a snapshot',
  description:
    '`target_volume_id: null` creates a new volume (201); an id overwrites that volume (200), which must be at least as large as the snapshot.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params: SnapshotParams, body: jsonRequest(RestoreSnapshotRequestSchema) },
  responses: {
    200: jsonResponse('The overwritten volume', VolumeSchema),
    201: jsonResponse('The new volume', VolumeSchema),
    ...errors(400, 404, 409, 413, 422),
  },
})

/** Mounts the snapshot routes of seeds/001. */
export function snapshotRoutes(r: Router, pstorage: PStorage): void {
  const { snapshots } = pstorage
  r.mount('operator', createSnapshot, async (c) =>
    c.json(await snapshots.create(c.req.valid('param').volume_id, c.req.valid('json')), 201),
  )
  r.mount('viewer', listVolumeSnapshots, async (c) => {
    const page = await snapshots.list(c.req.valid('param').volume_id, c.req.valid('query'))
    c.header('X-Total-Count', String(page.total))
    return c.json(page, 200)
  })
  r.mount('viewer', listSnapshots, async (c) => {
    const page = await snapshots.list(undefined, c.req.valid('query'))
    c.header('X-Total-Count', String(page.total))
    return c.json(page, 200)
  })
  r.mount('viewer', getSnapshot, async (c) => {
    const { volume_id, snapshot_id } = c.req.valid('param')
    return c.json(await snapshots.get(volume_id, snapshot_id), 200)
  })
  r.mount('operator', deleteSnapshot, async (c) => {
    const { volume_id, snapshot_id } = c.req.valid('param')
    await snapshots.delete(volume_id, snapshot_id)
    return c.body(null, 204)
  })
  r.mount('operator', restoreSnapshot, async (c) => {
    const { volume_id, snapshot_id } = c.req.valid('param')
    const { volume, created } = await snapshots.restore(volume_id, snapshot_id, c.req.valid('json'))
    return created ? c.json(volume, 201) : c.json(volume, 200)
  })
}
