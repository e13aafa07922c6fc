import { swaggerUI } from '@hono/swagger-ui'
import { OpenAPIHono } from '@hono/zod-openapi'
import { PSTORAGE_VERSION, type PStorage } from '@pstorage/core'
import { requestId } from 'hono/request-id'
import { defaultHook, onError, onNotFound } from './errors.js'
import { clusterRoutes } from './routes/cluster.js'
import { dataRoutes } from './routes/data.js'
import { metricsRoutes } from './routes/metrics.js'
import { snapshotRoutes } from './routes/snapshots.js'
import { systemRoutes } from './routes/system.js'
import { volumeRoutes } from './routes/volumes.js'

/** Options of {@link createApp}. */
export interface AppOptions {
  /**
   * Where unexpected errors are reported (their details never reach the client).
   * @default console.error
   */
  readonly log?: (message: string, error: unknown) => void
}

/** The `info` and tags of the served OpenAPI document. */
export const OPENAPI_INFO = Object.freeze({
  openapi: '3.1.0',
  info: {
    title: 'PStorage API',
    version: PSTORAGE_VERSION,
    description:
      'Storage managed end to end: a virtual flash array with inline data reduction, snapshots and clones. Errors share one shape: `{ error, detail, details?, request_id }`.',
  },
  tags: [
    { name: 'Health', description: 'Liveness and status' },
    { name: 'Volumes', description: 'Volumes of the virtual array (seeds/001)' },
    { name: 'Data', description: 'Block reads and writes' },
    { name: 'Snapshots', description: 'Point-in-time copies and restores' },
    { name: 'Arrays', description: 'The storage array' },
    { name: 'Metrics', description: 'Reduction, flash, volume and replication metrics' },
    { name: 'Cluster', description: 'Cluster status, peers, failover' },
  ],
})

/**
 * The PStorage HTTP API as a Hono app over the services of `createPStorage()`: routes
 * built with `@hono/zod-openapi` from core's schemas, `/openapi.json` and `/docs`.
 * Runtime-agnostic: serve it with `@pstorage/server-hono/node` or any Hono adapter.
 *
 * @example
 * ```ts
 * const app = createApp(await createPStorage({ dataDir: './data' }))
 * const res = await app.request('/health')
 * ```
 */
export function createApp(pstorage: PStorage, options: AppOptions = {}): OpenAPIHono {
  const app = new OpenAPIHono({ defaultHook })
  app.use(requestId())
  app.onError(onError(options.log ?? ((message, error) => console.error(message, error))))
  app.notFound(onNotFound)

  systemRoutes(app, pstorage)
  volumeRoutes(app, pstorage)
  dataRoutes(app, pstorage)
  snapshotRoutes(app, pstorage)
  metricsRoutes(app, pstorage)
  clusterRoutes(app, pstorage)

  app.doc31('/openapi.json', OPENAPI_INFO)
  app.get('/docs', swaggerUI({ url: '/openapi.json', title: 'PStorage API' }))
  return app
}
