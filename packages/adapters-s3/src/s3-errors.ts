import { backendError, type ErrorCode, isPStorageError, type PStorageError } from '@pstorage/core'
import { DRIVER_NAME } from './s3-options.js'

/** What the driver reads from an SDK or socket error: nothing else (never its message). */
interface Failure {
  /** S3 error code (`NoSuchKey`) or the SDK's name for a bodiless answer (`NotFound`). */
  readonly name: string | undefined
  readonly status: number | undefined
  /** No HTTP answer at all: refused, reset, DNS, timeout. */
  readonly network: boolean
}

// Socket and DNS failures (Node `error.code`) and the SDK's timeout/abort names.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
])
const NETWORK_NAMES = new Set(['TimeoutError', 'AbortError', 'RequestTimeout'])

function failureOf(error: unknown): Failure {
  if (typeof error !== 'object' || error === null)
    return { name: undefined, status: undefined, network: false }
  const e = error as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } }
  const name = typeof e.name === 'string' ? e.name : undefined
  const status =
    typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined
  const code = typeof e.code === 'string' ? e.code : undefined
  const network =
    status === undefined &&
    ((code !== undefined && NETWORK_CODES.has(code)) ||
      (name !== undefined && NETWORK_NAMES.has(name)))
  return { name, status, network }
}

// S3 error codes by meaning (S3 API reference, "Error responses" > "List of error codes").
const CODES: Readonly<Record<string, ErrorCode>> = {
  NoSuchKey: 'not_found',
  NotFound: 'not_found',
  NoSuchBucket: 'service_unavailable',
  AccessDenied: 'forbidden',
  Forbidden: 'forbidden',
  InvalidAccessKeyId: 'forbidden',
  SignatureDoesNotMatch: 'forbidden',
  AllAccessDisabled: 'forbidden',
  AccountProblem: 'forbidden',
  InvalidObjectState: 'forbidden',
  RequestTimeTooSkewed: 'forbidden',
  PreconditionFailed: 'conflict',
  ConditionalRequestConflict: 'conflict',
  InvalidRange: 'range_not_satisfiable',
  EntityTooLarge: 'payload_too_large',
  KeyTooLongError: 'bad_request',
  NotImplemented: 'not_applicable',
  SlowDown: 'service_unavailable',
  ServiceUnavailable: 'service_unavailable',
  InternalError: 'service_unavailable',
  RequestTimeout: 'service_unavailable',
}

function codeOf(f: Failure): ErrorCode {
  if (f.network) return 'service_unavailable'
  const named = f.name === undefined ? undefined : CODES[f.name]
  if (named) return named
  const s = f.status
  if (s === undefined) return 'internal_error' // a bug of ours, not of the store
  if (s === 404) return 'not_found'
  if (s === 401 || s === 403) return 'forbidden'
  if (s === 409 || s === 412) return 'conflict'
  if (s === 416) return 'range_not_satisfiable'
  if (s === 501) return 'not_applicable'
  if (s === 429 || s >= 500) return 'service_unavailable'
  return 'internal_error' // another 4xx: a request the driver should not have sent
}

const REASONS: Partial<Record<ErrorCode, string>> = {
  service_unavailable: 'the S3 store is unavailable',
  forbidden: 'access denied by the S3 store',
  conflict: 'changed concurrently; retry',
  range_not_satisfiable: 'range not satisfiable',
  payload_too_large: 'file too large for the S3 store',
  bad_request: 'refused by the S3 store',
  not_applicable: 'not supported by this S3 store',
  internal_error: 'unexpected answer of the S3 store',
}

/**
 * The `PStorageError` of a failed S3 call on `apiPath`: a stable code, a detail naming the
 * API path only (never a key, the bucket or a credential), the native error as `cause`.
 * `PStorageError`s pass through unchanged.
 *
 * @example
 * ```ts
 * await client.send(cmd).catch((e) => Promise.reject(toStorageError(e, '/a.txt')))
 * ```
 */
export function toStorageError(error: unknown, apiPath: string): PStorageError {
  if (isPStorageError(error)) return error
  const f = failureOf(error)
  const code = codeOf(f)
  const detail =
    code === 'not_found'
      ? `${apiPath} not found`
      : f.name === 'NoSuchBucket'
        ? `${apiPath}: the bucket does not exist`
        : `${apiPath}: ${REASONS[code] ?? 'failed'}`
  return backendError(DRIVER_NAME, code, detail, { cause: error })
}

/**
 * The `PStorageError` code a failed S3 call maps to (see {@link toStorageError}).
 *
 * @example
 * ```ts
 * if (errorCodeOf(error) === 'range_not_satisfiable') return emptyRead()
 * ```
 */
export function errorCodeOf(error: unknown): ErrorCode {
  return isPStorageError(error) ? error.code : codeOf(failureOf(error))
}

/**
 * True for "no such object": a missing key, or the bodiless 404 of a HEAD.
 *
 * @example
 * ```ts
 * const head = await send(new HeadObjectCommand(input)).catch((e) => (isMissing(e) ? undefined : Promise.reject(e)))
 * ```
 */
export function isMissing(error: unknown): boolean {
  const f = failureOf(error)
  return f.name === 'NoSuchKey' || (f.status === 404 && f.name !== 'NoSuchBucket')
}

/**
 * The human summary of a failed connection test: what to fix, never a secret, key or URL.
 *
 * @example
 * ```ts
 * return { ok: false, latency_ms, message: connectionFailure(error) }
 * ```
 */
export function connectionFailure(error: unknown): string {
  const f = failureOf(error)
  if (f.network) return 'The S3 endpoint is unreachable (connection refused, reset or timed out)'
  switch (f.name) {
    case 'NoSuchBucket':
    case 'NotFound':
      return 'The bucket does not exist'
    case 'InvalidAccessKeyId':
      return 'The access key ID is not known to the S3 store'
    case 'SignatureDoesNotMatch':
      return 'The secret access key does not match the access key ID'
    case 'RequestTimeTooSkewed':
      return "The server's clock differs too much from the S3 store's"
    case 'AuthorizationHeaderMalformed':
    case 'PermanentRedirect':
    case 'IllegalLocationConstraintException':
      return 'The bucket is in another region than the configured one'
  }
  if (f.status === 301 || f.status === 307)
    return 'The bucket is in another region than the configured one'
  if (f.status === 401 || f.status === 403)
    return 'Access denied: check the credentials and the bucket policy'
  if (f.status !== undefined && f.status >= 500) return 'The S3 store is unavailable'
  if (f.status !== undefined) return `The S3 store refused the request (HTTP ${f.status})`
  return 'The S3 store could not be reached'
}

/**
 * The S3 error code of `error` if it looks like one (for `details`), else `undefined`.
 *
 * @example
 * ```ts
 * s3Code(error) // 'SignatureDoesNotMatch'
 * ```
 */
export function s3Code(error: unknown): string | undefined {
  const { name } = failureOf(error)
  return name !== undefined && /^[A-Za-z][A-Za-z0-9.]{1,63}$/.test(name) ? name : undefined
}
