import { PStorageError } from '@pstorage/core'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv, Principal } from '../env.js'

/** What the server needs to turn credentials into a principal (core's identity `auth`). */
export interface Authenticator {
  /** Verifies an access token (JWT). */
  authenticate(bearer: string): Promise<Principal>
  /** Verifies an API key. */
  authenticateApiKey(key: string): Promise<Principal>
}

const BEARER = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i

/**
 * Resolves the caller from `X-API-Key` or `Authorization: Bearer`. Bad credentials are
 * kept, not thrown: a public route ignores them, any other route answers 401 with them
 * (see `authorize`).
 */
export function authenticate(auth: Authenticator): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const apiKey = c.req.header('x-api-key')
    const authorization = c.req.header('authorization')
    try {
      if (apiKey !== undefined) c.set('principal', await auth.authenticateApiKey(apiKey))
      else if (authorization !== undefined) {
        const token = BEARER.exec(authorization)?.[1]
        if (!token)
          throw new PStorageError(
            'unauthorized',
            'Malformed Authorization header: expected Bearer <token>',
          )
        c.set('principal', await auth.authenticate(token))
      }
    } catch (error) {
      c.set('authError', error)
    }
    await next()
  }
}
