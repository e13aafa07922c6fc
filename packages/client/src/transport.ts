import { toApiError } from './api-error.js'

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
 * Sends requests with JSON bodies and decodes JSON answers; non-2xx answers become
 * `ApiError`s; 429 and 503 are retried after `Retry-After` (the server did not act on them).
 *
 * @example
 * ```ts
 * const send = createTransport({ baseUrl: 'http://localhost:8000' })
 * const health = await send({ method: 'GET', path: '/health' })
 * ```
 */
export function createTransport(options: TransportOptions) {
  const base = options.baseUrl.replace(/\/+$/, '')
  const doFetch = options.fetch ?? globalThis.fetch
  const retries = options.retries ?? 2
  const maxDelay = options.maxRetryDelayMs ?? 30_000

  return async function send<T>(spec: RequestSpec, call: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...options.headers,
      ...call.headers,
    }
    if (spec.body !== undefined) headers['content-type'] = 'application/json'
    const init: RequestInit = {
      method: spec.method,
      headers,
      ...(spec.body !== undefined && { body: JSON.stringify(spec.body) }),
      ...(call.signal && { signal: call.signal }),
    }
    const url = `${base}${spec.path}${queryString(spec.query)}`
    for (let attempt = 0; ; attempt++) {
      const response = await doFetch(url, init)
      if ((response.status === 429 || response.status === 503) && attempt < retries) {
        await response.body?.cancel()
        const wait = Math.min(retryAfterMs(response.headers.get('retry-after')), maxDelay)
        await new Promise((resolve) => setTimeout(resolve, wait))
        continue
      }
      if (!response.ok) throw await toApiError(response)
      if (response.status === 204) return undefined as T
      return (await response.json()) as T
    }
  }
}
