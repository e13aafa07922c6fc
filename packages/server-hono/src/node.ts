import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { PStorage } from '@pstorage/core'
import { type AppOptions, createApp } from './app.js'

/** Options of {@link startServer}. */
export interface StartServerOptions extends AppOptions {
  /** TCP port; 0 picks a free one. @default 8000 */
  readonly port?: number
  /** Address to bind. @default '127.0.0.1' */
  readonly hostname?: string
}

/** A running server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8000`. */
  readonly url: string
  readonly port: number
  /** Stops accepting connections and waits for open ones to finish. */
  close(): Promise<void>
}

/**
 * Serves `createApp(pstorage)` on Node with `@hono/node-server`.
 *
 * @example
 * ```ts
 * const server = await startServer(pstorage, { port: 0 })
 * console.log(server.url)
 * ```
 */
export function startServer(
  pstorage: PStorage,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const app = createApp(pstorage, options)
  const hostname = options.hostname ?? '127.0.0.1'
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, port: options.port ?? 8000, hostname },
      (info: AddressInfo) => {
        const host = info.family === 'IPv6' ? `[${info.address}]` : info.address
        resolve({
          url: `http://${host}:${info.port}`,
          port: info.port,
          close: () =>
            new Promise<void>((done, fail) =>
              server.close((error) => (error ? fail(error) : done())),
            ),
        })
      },
    )
    server.once('error', reject)
  })
}
