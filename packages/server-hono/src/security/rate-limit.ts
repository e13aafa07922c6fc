import { getConnInfo } from '@hono/node-server/conninfo'
import { createRateLimiter, PStorageError, type RateLimiter, systemClock } from '@pstorage/core'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env.js'

/** A limit: `limit` requests per `windowMs`, per caller. */
export interface Limit {
  readonly limit: number
  readonly windowMs: number
}

/** Rate limits of the API; `false` turns them off (labs and test rigs). */
export interface RateLimits {
  readonly general: Limit
  readonly login: Limit
  readonly upload: Limit
}

/** The defaults of seeds/003 "Rate Limiting": 100/min, login 5 per 5 min, uploads 3/min. */
export const DEFAULT_RATE_LIMITS: RateLimits = Object.freeze({
  general: { limit: 100, windowMs: 60_000 },
  login: { limit: 5, windowMs: 300_000 },
  upload: { limit: 3, windowMs: 60_000 },
})

/**
 * Reads the limits from the environment: `PSTORAGE_RATE_LIMIT=off`, or per class
 * `PSTORAGE_RATE_LIMIT_GENERAL`, `_LOGIN`, `_UPLOAD` in requests per minute.
 */
export function rateLimitsFromEnv(env: NodeJS.ProcessEnv): RateLimits | false {
  if (env.PSTORAGE_RATE_LIMIT === 'off') return false
  const perMinute = (name: string, fallback: Limit): Limit => {
    const text = env[name]
    if (text === undefined || text === '') return fallback
    if (!/^\d{1,9}$/.test(text) || Number(text) < 1)
      throw new Error(`${name} must be a positive whole number of requests per minute`)
    return { limit: Number(text), windowMs: 60_000 }
  }
  return {
    general: perMinute('PSTORAGE_RATE_LIMIT_GENERAL', DEFAULT_RATE_LIMITS.general),
    login: perMinute('PSTORAGE_RATE_LIMIT_LOGIN', DEFAULT_RATE_LIMITS.login),
    upload: perMinute('PSTORAGE_RATE_LIMIT_UPLOAD', DEFAULT_RATE_LIMITS.upload),
  }
}

/** The limit class of a request: login, upload (bulk data in), or general. */
function classOf(method: string, path: string): keyof RateLimits {
  if (path === '/api/v1/auth/login') return 'login'
  if (method === 'PUT' && /^\/api\/v1\/volumes\/[^/]+\/data$/.test(path)) return 'upload'
  if (method === 'POST' && /^\/api\/v1\/storage\/backends\/[^/]+\/files$/.test(path)) {
    return 'upload'
  }
  return 'general'
}

/** The client's address: the socket's peer (never a header a client could forge). */
export function clientIp(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown'
  } catch {
    return 'unknown' // not served by @hono/node-server (app.request in tests)
  }
}

/**
 * Token buckets per identity and per IP for each class; the stricter answer wins. Sets
 * `X-RateLimit-Limit/Remaining/Reset`, and answers 429 `rate_limited` with `Retry-After`.
 */
export function rateLimit(limits: RateLimits): MiddlewareHandler<AppEnv> {
  const buckets = new Map<keyof RateLimits, RateLimiter>()
  for (const name of ['general', 'login', 'upload'] as const) {
    buckets.set(name, createRateLimiter({ ...limits[name], clock: systemClock }))
  }
  return async (c, next) => {
    const kind = classOf(c.req.method, c.req.path)
    const limiter = buckets.get(kind)!
    const principal = c.get('principal')
    const keys = [`ip:${clientIp(c)}`, ...(principal ? [`${principal.kind}:${principal.id}`] : [])]
    const results = keys.map((key) => limiter.take(key))
    const worst = results.reduce((a, b) => (!b.allowed || b.remaining < a.remaining ? b : a))
    c.header('X-RateLimit-Limit', String(worst.limit))
    c.header('X-RateLimit-Remaining', String(worst.remaining))
    c.header('X-RateLimit-Reset', String(worst.resetAt))
    if (results.some((r) => !r.allowed)) {
      const denied = results.filter((r) => !r.allowed)
      const wait = Math.max(...denied.map((r) => r.retryAfterSeconds))
      c.header('Retry-After', String(wait))
      throw new PStorageError('rate_limited', `Too many ${kind} requests; retry in ${wait} s`, {
        details: { limit: worst.limit, retry_after_seconds: wait },
      })
    }
    await next()
  }
}
