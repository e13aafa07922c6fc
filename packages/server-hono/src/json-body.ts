import { PStorageError } from '@pstorage/core'
import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'

const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i

/**
 * Guards a JSON route: a body of another media type is a 400 (Hono's validator would
 * otherwise read it as `{}`, and a PUT of all-optional fields would "succeed"), and bodies
 * over `maxBytes` are a 413 before they are read in full.
 */
export function jsonBody(maxBytes: number): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new PStorageError('payload_too_large', `Request body exceeds ${maxBytes} bytes`)
    },
  })
  return async (c, next) => {
    const length = c.req.header('content-length')
    const hasBody =
      (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined
    if (hasBody && !JSON_TYPE.test(c.req.header('content-type') ?? '')) {
      throw new PStorageError(
        'bad_request',
        'Request body must be JSON (Content-Type: application/json)',
      )
    }
    return limit(c, next)
  }
}
