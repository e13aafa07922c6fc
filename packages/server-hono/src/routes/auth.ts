import { createRoute } from '@hono/zod-openapi'
import {
  LoginRequestSchema,
  LogoutRequestSchema,
  type PStorage,
  RefreshRequestSchema,
  TokenResponseSchema,
  UserSchema,
} from '@pstorage/core'
import { jsonBody } from '../json-body.js'
import type { Router } from '../security/access.js'
import { clientIp } from '../security/rate-limit.js'
import { errors, jsonRequest, jsonResponse, SMALL_BODY_BYTES } from './shared.js'

const tags = ['Auth']

export const login = createRoute({
  method: 'post',
  path: '/api/v1/auth/login',
  operationId: 'login',
  tags,
  summary: 'Log in',
  description:
    'Exchanges a username and password for a short-lived access token (JWT) and a refresh token. Rate-limited; repeated failures lock the account for a while (423).',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { body: jsonRequest(LoginRequestSchema) },
  responses: {
    200: jsonResponse('Tokens', TokenResponseSchema),
    ...errors(400, 401, 413, 422, 423, 429),
  },
})

export const refresh = createRoute({
  method: 'post',
  path: '/api/v1/auth/refresh',
  operationId: 'refreshToken',
  tags,
  summary: 'Refresh the tokens',
  description:
    'Rotates the refresh token: the one sent is spent. Presenting a spent token again revokes its whole family (token theft).',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { body: jsonRequest(RefreshRequestSchema) },
  responses: {
    200: jsonResponse('New tokens', TokenResponseSchema),
    ...errors(400, 401, 413, 422),
  },
})

export const logout = createRoute({
  method: 'post',
  path: '/api/v1/auth/logout',
  operationId: 'logout',
  tags,
  summary: 'Log out',
  description: "Revokes the refresh token's family; idempotent.",
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { body: jsonRequest(LogoutRequestSchema) },
  responses: { 204: { description: 'Logged out' }, ...errors(400, 413, 422) },
})

export const me = createRoute({
  method: 'get',
  path: '/api/v1/auth/me',
  operationId: 'getMe',
  tags,
  summary: 'The current user',
  responses: { 200: jsonResponse('The user behind the token or key', UserSchema), ...errors(401) },
})

/** Mounts the auth routes of seeds/003 ("Authentication"). */
export function authRoutes(r: Router, pstorage: PStorage): void {
  const { auth } = pstorage.identity
  r.mount('public', login, async (c) =>
    c.json(
      await auth.login(c.req.valid('json'), {
        ip: clientIp(c),
        userAgent: c.req.header('user-agent'),
      }),
      200,
    ),
  )
  r.mount('public', refresh, async (c) => c.json(await auth.refresh(c.req.valid('json')), 200))
  r.mount('public', logout, async (c) => {
    await auth.logout(c.req.valid('json'), c.get('principal'))
    return c.body(null, 204)
  })
  r.mount('viewer', me, async (c) => c.json(await auth.me(c.get('principal')!), 200))
}
