import { createRoute, z } from '@hono/zod-openapi'
import {
  BackendListSchema,
  ConnectionTestSchema,
  CreateBackendRequestSchema,
  ListBackendsQuerySchema,
  type PStorage,
  StorageBackendSchema,
  UpdateBackendRequestSchema,
} from '@pstorage/core'
import { jsonBody } from '../json-body.js'
import type { Router } from '../security/access.js'
import { errors, jsonRequest, jsonResponse, SMALL_BODY_BYTES } from './shared.js'

const tags = ['Storage backends']

/** `{backend_id}` in a path. */
export const BackendIdParams = z.object({
  backend_id: z
    .string()
    .max(64)
    .meta({
      param: { name: 'backend_id', in: 'path' },
      example: '550e8400-e29b-41d4-a716-446655440000',
    }),
})

export const listBackends = createRoute({
  method: 'get',
  path: '/api/v1/storage/backends',
  operationId: 'listBackends',
  tags,
  summary: 'List storage backends',
  description: 'Paged, sortable, filterable by `type` and `status`; secrets read as `********`.',
  request: { query: ListBackendsQuerySchema },
  responses: { 200: jsonResponse('One page of backends', BackendListSchema), ...errors(422) },
})

export const getBackend = createRoute({
  method: 'get',
  path: '/api/v1/storage/backends/{backend_id}',
  operationId: 'getBackend',
  tags,
  summary: 'Get a storage backend',
  request: { params: BackendIdParams },
  responses: { 200: jsonResponse('The backend', StorageBackendSchema), ...errors(404, 422) },
})

export const createBackend = createRoute({
  method: 'post',
  path: '/api/v1/storage/backends',
  operationId: 'createBackend',
  tags,
  summary: 'Create a storage backend',
  description:
    "`config` is checked against the schema of `type` (unknown keys are a 422). Secrets (`secret_access_key`, `password`, `private_key`) are sealed with the master key and never returned. Hosts resolving to loopback or private addresses are refused (403) unless the server runs with `PSTORAGE_ALLOW_PRIVATE_ADDRESSES=true`. `local` paths must be inside the server's local backend roots. The first connection test runs in the background; `status` is `offline` ('Not checked yet') until it answers.",
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { body: jsonRequest(CreateBackendRequestSchema) },
  responses: {
    201: jsonResponse('The backend', StorageBackendSchema),
    ...errors(400, 403, 409, 413, 422),
  },
})

export const updateBackend = createRoute({
  method: 'patch',
  path: '/api/v1/storage/backends/{backend_id}',
  operationId: 'updateBackend',
  tags,
  summary: 'Update a storage backend',
  description:
    '`config` fields are merged into the current config and the result checked again; a secret left out, or sent as `********`, keeps its value. The type cannot change.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params: BackendIdParams, body: jsonRequest(UpdateBackendRequestSchema) },
  responses: {
    200: jsonResponse('The backend', StorageBackendSchema),
    ...errors(400, 403, 404, 409, 413, 422),
  },
})

export const deleteBackend = createRoute({
  method: 'delete',
  path: '/api/v1/storage/backends/{backend_id}',
  operationId: 'deleteBackend',
  tags,
  summary: 'Delete a storage backend',
  description: 'Forgets the backend and its secrets; the data on the backend is left alone.',
  request: { params: BackendIdParams },
  responses: { 204: { description: 'Deleted' }, ...errors(404, 409, 422) },
})

export const testBackend = createRoute({
  method: 'post',
  path: '/api/v1/storage/backends/{backend_id}/test',
  operationId: 'testBackend',
  tags,
  summary: 'Test the connection',
  description:
    'Connects and checks access now. Always a 200 with `ok`, `latency_ms` and a `message` saying what failed (never a secret); the result sets the backend `status`.',
  request: { params: BackendIdParams },
  responses: { 200: jsonResponse('The result', ConnectionTestSchema), ...errors(404, 422) },
})

/** Mounts seeds/000 §1: backends CRUD and connection tests. */
export function backendRoutes(r: Router, pstorage: PStorage): void {
  const { backends } = pstorage
  r.mount('viewer', listBackends, async (c) =>
    c.json(await backends.list(c.req.valid('query')), 200),
  )
  r.mount('viewer', getBackend, async (c) =>
    c.json(await backends.get(c.req.valid('param').backend_id), 200),
  )
  r.mount('admin', createBackend, async (c) =>
    c.json(await backends.create(c.req.valid('json')), 201),
  )
  r.mount('admin', updateBackend, async (c) =>
    c.json(await backends.update(c.req.valid('param').backend_id, c.req.valid('json')), 200),
  )
  r.mount('admin', deleteBackend, async (c) => {
    await backends.delete(c.req.valid('param').backend_id)
    return c.body(null, 204)
  })
  r.mount('operator', testBackend, async (c) =>
    c.json(await backends.test(c.req.valid('param').backend_id), 200),
  )
}
