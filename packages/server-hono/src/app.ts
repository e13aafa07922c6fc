import { swaggerUI } from '@hono/swagger-ui'
import { OpenAPIHono } from '@hono/zod-openapi'
import { PSTORAGE_VERSION, type PStorage } from '@pstorage/core'
import { requestId } from 'hono/request-id'
import { defaultHook, onError, onNotFound } from './errors.js'
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

  app.doc31('/openapi.json', OPENAPI_INFO)
  app.get('/docs', swaggerUI({ url: '/openapi.json', title: 'PStorage API' }))
  return app
}
