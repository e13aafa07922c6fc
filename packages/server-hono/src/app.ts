import { swaggerUI } from '@hono/swagger-ui'
import { OpenAPIHono } from '@hono/zod-openapi'
import { PSTORAGE_VERSION, type PStorage } from '@pstorage/core'
import { cors } from 'hono/cors'
import { requestId } from 'hono/request-id'
import { secureHeaders } from 'hono/secure-headers'
import pino, { type Logger } from 'pino'
import type { AppEnv } from './env.js'
import { defaultHook, onError, onNotFound } from './errors.js'
import { createObservability } from './observability.js'
import { apiKeyRoutes } from './routes/api-keys.js'
import { auditRoutes } from './routes/audit.js'
import { authRoutes } from './routes/auth.js'
import { backendRoutes } from './routes/backends.js'
import { clusterRoutes } from './routes/cluster.js'
import { dataRoutes } from './routes/data.js'
import { fileRoutes } from './routes/files.js'
import { lunRoutes } from './routes/luns.js'
import { metricsRoutes } from './routes/metrics.js'
import { snapshotRoutes } from './routes/snapshots.js'
import { systemRoutes } from './routes/system.js'
import { userRoutes } from './routes/users.js'
import { volumeRoutes } from './routes/volumes.js'
import { authorize, createRouter, type Router } from './security/access.js'
import { audit } from './security/audit.js'
import { authenticate } from './security/authenticate.js'
import { DEFAULT_RATE_LIMITS, type RateLimits, rateLimit } from './security/rate-limit.js'

/** Options of {@link createApp}. */
export interface AppOptions {
  /**
   * Request logs and unexpected errors, as JSON lines.
   * @default a silent logger (the `pstorage-server` bin logs at `info`)
   */
  readonly logger?: Logger
  /** Rate limits, or `false` for none (labs, test rigs). @default seeds/003's limits */
  readonly rateLimits?: RateLimits | false
  /** Origins allowed to call the API from a browser. @default none (CORS off) */
  readonly corsOrigins?: readonly string[]
}

/** The `info` and tags of the served OpenAPI document. */
export const OPENAPI_INFO = Object.freeze({
  openapi: '3.1.0',
  info: {
    title: 'PStorage API',
    version: PSTORAGE_VERSION,
    description:
      'Storage managed end to end: a virtual flash array with inline data reduction, snapshots and clones; storage backends (local, NFS, S3, HTTP, iSCSI) with a file browser. Every route but /health and the docs needs a bearer token (POST /api/v1/auth/login) or an X-API-Key; each declares the role it needs (x-required-role). Errors share one shape: `{ error, detail, details?, request_id }`.',
  },
  tags: [
    { name: 'Health', description: 'Liveness and status' },
    { name: 'Auth', description: 'Log in, refresh, log out' },
    { name: 'Volumes', description: 'Volumes of the virtual array (seeds/001)' },
    { name: 'Data', description: 'Block reads and writes' },
    { name: 'Snapshots', description: 'Point-in-time copies and restores' },
    { name: 'Arrays', description: 'The storage array' },
    { name: 'Metrics', description: 'Reduction, flash, volume and replication metrics' },
    { name: 'Cluster', description: 'Cluster status, peers, failover' },
    {
      name: 'Storage backends',
      description: 'NFS, S3, HTTP, iSCSI and local backends (seeds/000 §1)',
    },
    { name: 'File browser', description: 'Files of a backend (seeds/000 §2)' },
    { name: 'iSCSI LUNs', description: 'LUNs on iSCSI target hosts (seeds/000 §3)' },
    { name: 'Machines', description: 'The nodes LUNs are assigned to (seeds/003)' },
    { name: 'Users', description: 'User management (admins)' },
    { name: 'API keys', description: 'API keys (admins)' },
    { name: 'Audit', description: 'The audit log (admins)' },
  ],
})

/** Every module of routes, in the order the document lists them. */
const ROUTES: ((r: Router, pstorage: PStorage) => void)[] = [
  systemRoutes,
  authRoutes,
  volumeRoutes,
  dataRoutes,
  snapshotRoutes,
  metricsRoutes,
  clusterRoutes,
  backendRoutes,
  fileRoutes,
  lunRoutes,
  userRoutes,
  apiKeyRoutes,
  auditRoutes,
]

/**
 * The PStorage HTTP API as a Hono app over the services of `createPStorage()`: routes
 * built with `@hono/zod-openapi` from core's schemas, each mounted with the role it needs;
 * authentication, rate limits, audit, request logs and Prometheus metrics around them;
 * `/openapi.json` and `/docs`. Runtime-agnostic: serve it with `@pstorage/server-hono/node`.
 *
 * @example
 * ```ts
 * const app = createApp(await createPStorage({ dataDir: './data' }))
 * const res = await app.request('/health')
 * ```
 */
export function createApp(pstorage: PStorage, options: AppOptions = {}): OpenAPIHono<AppEnv> {
  const logger = options.logger ?? pino({ level: 'silent' })
  const app = new OpenAPIHono<AppEnv>({ defaultHook })
  const router = createRouter(app)
  const observability = createObservability(pstorage, logger)

  app.use(requestId())
  app.use(secureHeaders())
  if (options.corsOrigins && options.corsOrigins.length > 0) {
    app.use(
      cors({ origin: [...options.corsOrigins], exposeHeaders: ['X-Request-Id', 'X-Total-Count'] }),
    )
  }
  app.use(observability.middleware)
  app.onError(onError((message, error) => logger.error({ err: error }, message)))
  app.notFound(onNotFound)
  app.use(authenticate(pstorage.identity.auth))
  const limits = options.rateLimits ?? DEFAULT_RATE_LIMITS
  if (limits) app.use(rateLimit(limits))
  // The audit middleware reads the route table, so it is built lazily on the first request.
  let auditor: ReturnType<typeof audit> | undefined
  app.use((c, next) => {
    auditor ??= audit(pstorage.identity.audit, router, (error) =>
      logger.error({ err: error }, 'audit write failed'),
    )
    return auditor(c, next)
  })

  for (const mount of ROUTES) mount(router, pstorage)

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  })
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKeyAuth', {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
  })
  app.doc31('/openapi.json', OPENAPI_INFO)
  router.declare('GET', '/openapi.json', 'public')
  app.get('/docs', swaggerUI({ url: '/openapi.json', title: 'PStorage API' }))
  router.declare('GET', '/docs', 'public')
  app.get('/metrics', authorize('viewer'), async (c) =>
    c.text(await observability.registry.metrics(), 200, {
      'Content-Type': observability.registry.contentType,
    }),
  )
  router.declare('GET', '/metrics', 'viewer')

  router.verify()
  Object.defineProperty(app, 'routeAccess', { value: router.routes(), enumerable: false })
  return app
}

/** The declared role of every route of an app made by {@link createApp}. */
export function routeAccess(app: OpenAPIHono<AppEnv>) {
  return (app as unknown as { routeAccess: ReturnType<Router['routes']> }).routeAccess
}
