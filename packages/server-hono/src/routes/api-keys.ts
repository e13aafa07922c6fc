import { createRoute, z } from '@hono/zod-openapi'
import {
  ApiKeyListSchema,
  CreateApiKeyRequestSchema,
  CreatedApiKeySchema,
  ListApiKeysQuerySchema,
  type PStorage,
} from '@pstorage/core'
import { jsonBody } from '../json-body.js'
import type { Router } from '../security/access.js'
import { errors, jsonRequest, jsonResponse, SMALL_BODY_BYTES } from './shared.js'

const tags = ['API keys']

export const createApiKey = createRoute({
  method: 'post',
  path: '/api/v1/api-keys',
  operationId: 'createApiKey',
  tags,
  summary: 'Create an API key',
  description:
    'The secret (`api_key`) is in this answer only; it is stored hashed. Send it as `X-API-Key`.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { body: jsonRequest(CreateApiKeyRequestSchema) },
  responses: {
    201: jsonResponse('The key, with its secret', CreatedApiKeySchema),
    ...errors(400, 401, 403, 413, 422),
  },
})

export const listApiKeys = createRoute({
  method: 'get',
  path: '/api/v1/api-keys',
  operationId: 'listApiKeys',
  tags,
  summary: 'List API keys',
  request: { query: ListApiKeysQuerySchema },
  responses: {
    200: jsonResponse('A page of keys (never their secrets)', ApiKeyListSchema),
    ...errors(401, 403, 422),
  },
})

export const revokeApiKey = createRoute({
  method: 'delete',
  path: '/api/v1/api-keys/{api_key_id}',
  operationId: 'revokeApiKey',
  tags,
  summary: 'Revoke an API key',
  request: {
    params: z.object({
      api_key_id: z.string().meta({
        param: { name: 'api_key_id', in: 'path' },
        example: '0b6e6f2e-1d1c-4f7e-9a55-2f8d7c0b1a11',
      }),
    }),
  },
  responses: { 204: { description: 'Revoked' }, ...errors(401, 403, 404, 409) },
})

/** Mounts API key management (admins). */
export function apiKeyRoutes(r: Router, pstorage: PStorage): void {
  const { apiKeys } = pstorage.identity
  r.mount('admin', createApiKey, async (c) =>
    c.json(await apiKeys.create(c.req.valid('json'), c.get('principal')!), 201),
  )
  r.mount('admin', listApiKeys, async (c) => {
    // An admin sees every key; the service scopes the list to the caller otherwise.
    const page = await apiKeys.list(c.req.valid('query'), c.get('principal'))
    c.header('X-Total-Count', String(page.total))
    return c.json(page, 200)
  })
  r.mount('admin', revokeApiKey, async (c) => {
    await apiKeys.revoke(c.req.valid('param').api_key_id, c.get('principal'))
    return c.body(null, 204)
  })
}
