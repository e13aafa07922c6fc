import { createRoute, z } from '@hono/zod-openapi'
import {
  ChangePasswordRequestSchema,
  CreateUserRequestSchema,
  ListUsersQuerySchema,
  type PStorage,
  UpdateUserRequestSchema,
  UserListSchema,
  UserSchema,
} from '@pstorage/core'
import { jsonBody } from '../json-body.js'
import type { Router } from '../security/access.js'
import { errors, jsonRequest, jsonResponse, SMALL_BODY_BYTES } from './shared.js'

const tags = ['Users']
const params = z.object({
  user_id: z.string().meta({
    param: { name: 'user_id', in: 'path' },
    example: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  }),
})

export const listUsers = createRoute({
  method: 'get',
  path: '/api/v1/users',
  operationId: 'listUsers',
  tags,
  summary: 'List users',
  request: { query: ListUsersQuerySchema },
  responses: { 200: jsonResponse('A page of users', UserListSchema), ...errors(401, 403, 422) },
})

export const createUser = createRoute({
  method: 'post',
  path: '/api/v1/users',
  operationId: 'createUser',
  tags,
  summary: 'Create a user',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { body: jsonRequest(CreateUserRequestSchema) },
  responses: { 201: jsonResponse('The user', UserSchema), ...errors(400, 401, 403, 409, 413, 422) },
})

export const getUser = createRoute({
  method: 'get',
  path: '/api/v1/users/{user_id}',
  operationId: 'getUser',
  tags,
  summary: 'Get a user',
  request: { params },
  responses: { 200: jsonResponse('The user', UserSchema), ...errors(401, 403, 404) },
})

export const updateUser = createRoute({
  method: 'patch',
  path: '/api/v1/users/{user_id}',
  operationId: 'updateUser',
  tags,
  summary: 'Update a user',
  description: 'A role change or deactivation ends the sessions of that user.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params, body: jsonRequest(UpdateUserRequestSchema) },
  responses: {
    200: jsonResponse('The user', UserSchema),
    ...errors(400, 401, 403, 404, 409, 413, 422),
  },
})

export const deleteUser = createRoute({
  method: 'delete',
  path: '/api/v1/users/{user_id}',
  operationId: 'deleteUser',
  tags,
  summary: 'Delete a user',
  description: 'You cannot delete yourself or the last active admin (409).',
  request: { params },
  responses: { 204: { description: 'Deleted' }, ...errors(401, 403, 404, 409) },
})

export const changePassword = createRoute({
  method: 'post',
  path: '/api/v1/users/{user_id}/password',
  operationId: 'changePassword',
  tags,
  summary: 'Change a password',
  description:
    "Your own password needs `current_password`; an admin may set another user's. Ends that user's sessions.",
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params, body: jsonRequest(ChangePasswordRequestSchema) },
  responses: { 204: { description: 'Changed' }, ...errors(400, 401, 403, 404, 413, 422) },
})

/** Mounts user management (admins) and password change (anyone, for themselves). */
export function userRoutes(r: Router, pstorage: PStorage): void {
  const { users } = pstorage.identity
  r.mount('admin', listUsers, async (c) => {
    const page = await users.list(c.req.valid('query'))
    c.header('X-Total-Count', String(page.total))
    return c.json(page, 200)
  })
  r.mount('admin', createUser, async (c) => c.json(await users.create(c.req.valid('json')), 201))
  r.mount('admin', getUser, async (c) => c.json(await users.get(c.req.valid('param').user_id), 200))
  r.mount('admin', updateUser, async (c) =>
    c.json(await users.update(c.req.valid('param').user_id, c.req.valid('json')), 200),
  )
  r.mount('admin', deleteUser, async (c) => {
    await users.delete(c.req.valid('param').user_id, c.get('principal')!)
    return c.body(null, 204)
  })
  // Viewer: anyone may change their own password; the service allows others' only to admins.
  r.mount('viewer', changePassword, async (c) => {
    await users.changePassword(
      c.req.valid('param').user_id,
      c.req.valid('json'),
      c.get('principal')!,
    )
    return c.body(null, 204)
  })
}
