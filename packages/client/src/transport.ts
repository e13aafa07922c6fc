import { toApiError } from './api-error.js'
import { nodeBulkGet } from './node-get.js'

/** One request of a generated operation. */
export interface RequestSpec {
  readonly method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE'
  readonly path: string
  readonly query?: object
  readonly body?: unknown
}

/** Per-call options. */
export interface RequestOptions {
  /** Aborts the call. */
  readonly signal?: AbortSignal
  /** Extra headers for this call. */
  readonly headers?: Readonly<Record<string, string>>
}

/** Options of the client's transport. */
export interface TransportOptions {
  /** Base URL of the server, e.g. `http://localhost:8000`. */
  readonly baseUrl: string
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch
  /** Headers sent with every request. */
  readonly headers?: Readonly<Record<string, string>>
  /**
   * How often a 429 or 503 answer is retried, after the server's `Retry-After`.
   * @default 2
   */
  readonly retries?: number
  /** The longest wait between retries, in milliseconds. @default 30000 */
  readonly maxRetryDelayMs?: number
}

/** How the transport authenticates: headers per attempt, and one refresh after a 401. */
export interface TransportAuth {
  /** Credentials to send now (bearer token or API key). */
  headers(): Record<string, string>
  /** Tries to get new credentials after a 401; true if the request should be sent again. */
  refresh(): Promise<boolean>
}

/** A request with any body, for the raw layer. */
export interface RawRequest {
  readonly method: RequestSpec['method']
  readonly path: string
  readonly query?: object
  readonly headers?: Readonly<Record<string, string>>
  /** A stream body is sent once: it cannot be replayed, so it is never retried. */
  readonly body?: Uint8Array | ReadableStream<Uint8Array> | string
  /** Send no credentials and never refresh (login and refresh themselves). */
  readonly anonymous?: boolean
  /**
   * A bulk download (a GET without a body): on Node, unless `fetch` was injected, sent over
   * node:http(s) instead of the global fetch (node-get.ts says why).
   */
  readonly bulk?: boolean
}

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (!header) return 1000
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(header)
  return Number.isNaN(date) ? 1000 : Math.max(0, date - now)
}

/** Builds `?a=1&b=2` from defined values only. */
export function queryString(query: object | undefined): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null) params.append(key, String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

/**
 * The client's HTTP layer. `raw` sends any body and returns the `Response` of a 2xx answer;
 * non-2xx answers become `ApiError`s; 429 and 503 (the server did not act) are retried
 * after `Retry-After` when the body can be sent again. `json` adds JSON bodies and answers.
 *
 * @example
 * ```ts
 * const transport = createTransport({ baseUrl: 'http://localhost:8000' })
 * const health = await transport.json({ method: 'GET', path: '/health' })
 * ```
 */
export function createTransport(options: TransportOptions, auth?: TransportAuth) {
  const base = options.baseUrl.replace(/\/+$/, '')
  const doFetch = options.fetch ?? globalThis.fetch
  const bulkGet = options.fetch ? undefined : nodeBulkGet()
  const retries = options.retries ?? 2
  const maxDelay = options.maxRetryDelayMs ?? 30_000

  async function raw(request: RawRequest, call: RequestOptions = {}): Promise<Response> {
    const streaming = request.body instanceof ReadableStream
    const init = (): RequestInit & { duplex?: 'half' } => ({
      method: request.method,
      headers: {
        ...options.headers,
        ...(auth && !request.anonymous && auth.headers()),
        ...request.headers,
        ...call.headers,
      },
      ...(request.body !== undefined && { body: request.body }),
      // fetch sends a stream body only in half-duplex mode (Fetch standard).
      ...(streaming && { duplex: 'half' }),
      ...(call.signal && { signal: call.signal }),
    })
    const url = `${base}${request.path}${queryString(request.query)}`
    const send =
      bulkGet && request.bulk && request.method === 'GET' && request.body === undefined
        ? (at: string, req: ReturnType<typeof init>) =>
            bulkGet(at, {
              headers: req.headers as Record<string, string>,
              ...(req.signal && { signal: req.signal }),
            })
        : doFetch
    let refreshed = false
    for (let attempt = 0; ; attempt++) {
      const response = await send(url, init())
      if (response.status === 401 && auth && !request.anonymous && !refreshed && !streaming) {
        refreshed = true
        if (await auth.refresh()) {
          await response.body?.cancel()
          continue
        }
      }
      if ((response.status === 429 || response.status === 503) && attempt < retries && !streaming) {
        await response.body?.cancel()
        const wait = Math.min(retryAfterMs(response.headers.get('retry-after')), maxDelay)
        await new Promise((resolve) => setTimeout(resolve, wait))
        continue
      }
      if (!response.ok) throw await toApiError(response)
      return response
    }
  }

  async function json<T>(
    spec: RequestSpec,
    call: RequestOptions = {},
    anonymous = false,
    parse?: (text: string) => T,
  ): Promise<T> {
    const hasBody = spec.body !== undefined
    const response = await raw(
      {
        anonymous,
        method: spec.method,
        path: spec.path,
        ...(spec.query && { query: spec.query }),
        headers: {
          accept: 'application/json',
          ...(hasBody && { 'content-type': 'application/json' }),
        },
        ...(hasBody && { body: JSON.stringify(spec.body) }),
      },
      call,
    )
    if (response.status === 204) return undefined as T
    return parse ? parse(await response.text()) : ((await response.json()) as T)
  }

  return Object.freeze({ raw, json })
}

export type Transport = ReturnType<typeof createTransport>
