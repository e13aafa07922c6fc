/** The error body every PStorage endpoint answers with (ARCHITECTURE.md). */
export interface ErrorBody {
  readonly error: string
  readonly detail: string
  readonly details?: Record<string, unknown>
  readonly request_id?: string
}

/**
 * A non-2xx answer from the server, typed: `status`, the stable `error` code, the human
 * `detail`, optional `details` and the server's `requestId` to quote in a bug report.
 *
 * @example
 * ```ts
 * try { await client.getVolume(id) } catch (e) {
 *   if (e instanceof ApiError && e.error === 'not_found') { ... }
 * }
 * ```
 */
export class ApiError extends Error {
  readonly status: number
  readonly error: string
  readonly detail: string
  readonly details?: Record<string, unknown>
  readonly requestId?: string

  constructor(status: number, body: ErrorBody) {
    super(`${status} ${body.error}: ${body.detail}`)
    this.name = 'ApiError'
    this.status = status
    this.error = body.error
    this.detail = body.detail
    if (body.details) this.details = body.details
    if (body.request_id) this.requestId = body.request_id
  }
}

/** Reads an error body, tolerating servers (or proxies) that answer with something else. */
export async function toApiError(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '')
  try {
    const body = JSON.parse(text) as Partial<ErrorBody>
    if (typeof body.error === 'string' && typeof body.detail === 'string') {
      return new ApiError(response.status, body as ErrorBody)
    }
  } catch {
    // not JSON: fall through
  }
  return new ApiError(response.status, {
    error: 'http_error',
    detail: text.slice(0, 500) || response.statusText || `HTTP ${response.status}`,
  })
}
