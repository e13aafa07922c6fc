import { backendError, type ErrorCode, type PStorageError } from '@pstorage/core'

/** The driver type of {@link createHttpDriver}, as stored in a backend's `type`. */
export const DRIVER_NAME = 'http'

/**
 * A `PStorageError` worded `[pstorage] [http] detail`. `detail` names API paths and HTTP
 * statuses only: never the base URL, a credential or the server's own wording.
 *
 * @example
 * ```ts
 * throw httpError('not_found', '/isos/a.iso not found')
 * ```
 */
export function httpError(
  code: ErrorCode,
  detail: string,
  options: { cause?: unknown; details?: Record<string, unknown> } = {},
): PStorageError {
  return backendError(DRIVER_NAME, code, detail, options)
}

/**
 * The error for a final HTTP status that is not a success, about the API path `what`.
 * 401 and 403 both become `forbidden`: an `unauthorized` would tell PStorage's own client
 * that *its* session expired.
 *
 * @example
 * ```ts
 * throw statusError(404, '/a.txt') // not_found
 * ```
 */
export function statusError(status: number, what: string): PStorageError {
  const details = { status }
  if (status === 404 || status === 410)
    return httpError('not_found', `${what} not found`, { details })
  if (status === 401 || status === 403)
    return httpError('forbidden', `The server refused access to ${what} (HTTP ${status})`, {
      details,
    })
  if (status === 416)
    return httpError('range_not_satisfiable', `The server refused the range of ${what}`, {
      details,
    })
  return httpError('service_unavailable', `The server answered HTTP ${status} for ${what}`, {
    details,
  })
}
