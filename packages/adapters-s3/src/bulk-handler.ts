import type { Agent as HttpAgent } from 'node:http'
import type { Agent as HttpsAgent } from 'node:https'
import type { LookupFunction } from 'node:net'
import { Http1Agent } from '@pstorage/core'
import {
  buildQueryString,
  type HttpHandler,
  type HttpHandlerOptions,
  type HttpRequest,
  HttpResponse,
} from '@smithy/core/protocols'
import { NodeHttpHandler, type NodeHttpHandlerOptions } from '@smithy/node-http-handler'

/** Options of {@link BulkHttpHandler}. */
export interface BulkHttpHandlerOptions {
  /** How long connecting may take, in ms. @default none */
  readonly connectionTimeout?: number
  /** How long a socket may sit idle mid-exchange (no byte either way), in ms. @default none */
  readonly socketTimeout?: number
  /** Agents of the other requests (see {@link BulkHttpHandler}). */
  readonly httpAgent?: HttpAgent
  readonly httpsAgent?: HttpsAgent
  /** DNS lookup of the `GET`s' connections (give the agents the same). @default dns.lookup */
  readonly lookup?: LookupFunction
}

/** Error codes NodeHttpHandler names `TimeoutError` (which the SDK's retries take as transient). */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT'])

/**
 * The S3 client's HTTP handler: plain-`http:` `GET`s (object reads, listings) go through
 * core's `Http1Agent`, everything else (`https:`, `PUT`, `HEAD`, `DELETE`, `POST`) through
 * the SDK's `NodeHttpHandler` unchanged.
 *
 * Why: node:http reads a socket 64 KiB at a time and its parser copies every piece of a
 * body into a buffer of its own; the agent reads into 256 KiB buffers that become the
 * body's chunks as they are. A download through the file API costs the server about half
 * the CPU it did (`pnpm bench:backends`, the adapter's README). Requests are sent and
 * failures named as NodeHttpHandler does: the query built by the SDK's own builder, a reset
 * or timeout before the answer a `TimeoutError` (retried by the SDK), an abort an
 * `AbortError`. The SDK's `requestTimeout` (only a warning by default) is not applied to
 * these `GET`s; `socketTimeout` bounds each wait.
 *
 * @example
 * ```ts
 * const client = new S3Client({ region, endpoint, requestHandler: new BulkHttpHandler({ socketTimeout: 30_000 }) })
 * ```
 */
export class BulkHttpHandler implements HttpHandler<NodeHttpHandlerOptions> {
  readonly metadata = { handlerProtocol: 'http/1.1' }
  readonly #fallback: NodeHttpHandler
  readonly #agent: Http1Agent

  constructor(options: BulkHttpHandlerOptions = {}) {
    const { lookup, ...nodeOptions } = options
    this.#fallback = new NodeHttpHandler(nodeOptions)
    this.#agent = new Http1Agent({
      ...(options.connectionTimeout && { connectTimeoutMs: options.connectionTimeout }),
      ...(options.socketTimeout && { idleTimeoutMs: options.socketTimeout }),
      ...(lookup && { lookup }),
    })
  }

  async handle(
    request: HttpRequest,
    options: HttpHandlerOptions = {},
  ): Promise<{ response: HttpResponse }> {
    if (request.protocol !== 'http:' || request.method !== 'GET' || request.body != null)
      return this.#fallback.handle(request, options)
    const query = request.query ? buildQueryString(request.query) : ''
    try {
      const answer = await this.#agent.get(
        {
          hostname: request.hostname,
          port: request.port ?? 80,
          path: query ? `${request.path}?${query}` : request.path,
        },
        request.headers,
        options.abortSignal as AbortSignal | undefined,
      )
      return {
        response: new HttpResponse({
          statusCode: answer.status,
          reason: answer.reason,
          headers: { ...answer.headers },
          body: answer.body,
        }),
      }
    } catch (error) {
      const code = (error as { code?: unknown }).code
      if (typeof code === 'string' && TRANSIENT_CODES.has(code))
        Object.assign(error as Error, { name: 'TimeoutError' })
      throw error
    }
  }

  updateHttpClientConfig(key: keyof NodeHttpHandlerOptions, value: unknown): void {
    this.#fallback.updateHttpClientConfig(key, value as never)
  }

  httpHandlerConfigs(): NodeHttpHandlerOptions {
    return this.#fallback.httpHandlerConfigs()
  }

  /** Closes the kept connections of both paths; exchanges under way go on. */
  destroy(): void {
    this.#agent.destroy()
    this.#fallback.destroy()
  }
}
