import type { OpenAPIHono, RouteConfig, RouteHandler } from '@hono/zod-openapi'
import { ErrorResponseSchema, PStorageError, type Role } from '@pstorage/core'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env.js'

/** Who may call a route: anyone (`public`), or a principal of at least this role. */
export type Access = 'public' | Role

/** viewer reads, operator changes storage, admin manages users, keys and settings. */
const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 }

/** True if `role` includes the rights of `required`. */
export function hasRole(role: Role, required: Role): boolean {
  return RANK[role] >= RANK[required]
}

const denial = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorResponseSchema } },
})
/** The answers every protected route may give before its handler runs. */
const DENIALS = {
  401: denial('Authentication required, or the credentials were refused'),
  403: denial('The caller lacks the role this needs'),
  429: denial('Too many requests; see Retry-After'),
}

/** OpenAPI security requirement of every non-public route: a bearer token or an API key. */
export const SECURITY = [{ bearerAuth: [] }, { apiKeyAuth: [] }]

/**
 * The per-route check: a principal must have been authenticated (401 otherwise) and hold
 * the route's role (403 otherwise).
 */
export function authorize(access: Access): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (access !== 'public') {
      const principal = c.get('principal')
      const failed = c.get('authError')
      if (failed) throw failed
      if (!principal) {
        c.header('WWW-Authenticate', 'Bearer realm="pstorage"')
        throw new PStorageError(
          'unauthorized',
          'Authentication required: send a bearer token or an X-API-Key',
        )
      }
      if (!hasRole(principal.role, access)) {
        throw new PStorageError(
          'forbidden',
          `This needs the ${access} role; you have ${principal.role}`,
        )
      }
    }
    await next()
  }
}

/** `POST /api/v1/volumes/{volume_id}` → `POST /api/v1/volumes/:volume_id`, as Hono registers it. */
export function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`
}

/** A route with its declared access, as recorded by the router. */
export interface RouteAccess {
  readonly method: string
  readonly path: string
  readonly operationId: string
  readonly access: Access
}

/**
 * Mounts OpenAPI routes with their access declared in the same call, and remembers it:
 * `mount('operator', createVolume, handler)`. `verify()` fails if the app has a route that
 * was not mounted this way (or listed as a documented exception), so no route can ship
 * without a declared role.
 */
export function createRouter(app: OpenAPIHono<AppEnv>) {
  const table = new Map<string, RouteAccess>()
  return {
    mount<R extends RouteConfig>(access: Access, route: R, handler: RouteHandler<R, AppEnv>): void {
      const middleware = route.middleware === undefined ? [] : [route.middleware].flat()
      const secured = {
        ...route,
        middleware: [authorize(access), ...middleware],
        ...(access !== 'public' && {
          security: SECURITY,
          responses: { ...DENIALS, ...route.responses },
        }),
        'x-required-role': access,
      }
      table.set(routeKey(route.method, route.path), {
        method: route.method.toUpperCase(),
        path: route.path,
        operationId: route.operationId ?? `${route.method} ${route.path}`,
        access,
      })
      app.openapi(secured as R, handler)
    },
    /** Declares access for a plain (non-OpenAPI) route registered elsewhere. */
    declare(method: string, path: string, access: Access): void {
      table.set(routeKey(method, path), {
        method: method.toUpperCase(),
        path,
        operationId: path,
        access,
      })
    },
    /** The declared route table. */
    routes(): RouteAccess[] {
      return [...table.values()]
    },
    /** Throws if any route of the app has no declared access. */
    verify(): void {
      for (const route of app.routes) {
        if (route.method === 'ALL') continue // middleware
        if (!table.has(`${route.method} ${route.path}`)) {
          throw new Error(`[pstorage] route ${route.method} ${route.path} has no declared access`)
        }
      }
    },
  }
}

export type Router = ReturnType<typeof createRouter>
