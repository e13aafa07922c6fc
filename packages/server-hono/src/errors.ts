import type { Hook } from '@hono/zod-openapi'
import {
  type ErrorCode,
  type ErrorResponse,
  isPStorageError,
  validationError,
} from '@pstorage/core'
import type { Context, Env } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** The error code of an HTTP status that did not come from a `PStorageError`. */
const CODE_OF_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  411: 'length_required',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
  422: 'validation_error',
  429: 'rate_limited',
  503: 'service_unavailable',
}

/** Answers in the one error shape of ARCHITECTURE.md: `{ error, detail, details?, request_id }`. */
export function errorResponse(
  c: Context,
  status: number,
  error: string,
  detail: string,
  details?: Record<string, unknown>,
) {
  const body: ErrorResponse = {
    error,
    detail,
    ...(details && { details }),
    request_id: c.get('requestId') ?? '',
  }
  return c.json(body, status as ContentfulStatusCode)
}

/**
 * The single `onError` of the app: `PStorageError` codes map to their status, Hono's own
 * exceptions (malformed JSON, body limit) keep theirs, anything else is a 500 that hides
 * its cause from the client and logs it with the request id.
 */
export function onError(log: (message: string, error: unknown) => void) {
  return (error: Error, c: Context) => {
    if (isPStorageError(error)) {
      // RFC 9110 §15.5.17: a 416 says how large the resource is.
      if (error.code === 'range_not_satisfiable' && typeof error.details?.size === 'number') {
        c.header('Content-Range', `bytes */${error.details.size}`)
      }
      if (error.status >= 500)
        log(`[pstorage] ${c.req.method} ${c.req.path} failed (${error.code})`, error)
      return errorResponse(c, error.status, error.code, error.detail, error.details)
    }
    if (error instanceof HTTPException && error.status < 500) {
      const code = CODE_OF_STATUS[error.status] ?? 'bad_request'
      return errorResponse(c, error.status, code, error.message || code.replace('_', ' '))
    }
    log(`[pstorage] ${c.req.method} ${c.req.path} failed (request ${c.get('requestId')})`, error)
    return errorResponse(c, 500, 'internal_error', 'Internal server error')
  }
}

/** Unknown routes answer 404 in the error shape, not Hono's plain text. */
export function onNotFound(c: Context) {
  return errorResponse(c, 404, 'not_found', `No route for ${c.req.method} ${c.req.path}`)
}

const WHAT: Record<string, string> = {
  json: 'request body',
  query: 'query',
  param: 'path',
  header: 'headers',
}

/**
 * The OpenAPI default hook: a request that fails its route's schema answers 422
 * `validation_error` with the failing fields, the same body as the SDK's own validation.
 */
export function defaultHook(result: Parameters<Hook<unknown, Env, string, unknown>>[0]): void {
  if (!result.success) throw validationError(result.error, WHAT[result.target] ?? result.target)
}
