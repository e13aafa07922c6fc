export { type AppOptions, createApp, OPENAPI_INFO, routeAccess } from './app.js'
export type { AppEnv, Principal } from './env.js'
export { defaultHook, errorResponse, onError, onNotFound } from './errors.js'
export { jsonBody } from './json-body.js'
export { type Access, authorize, hasRole, type RouteAccess } from './security/access.js'
export type { AuditRecord, AuditSink } from './security/audit.js'
export type { Authenticator } from './security/authenticate.js'
export {
  DEFAULT_RATE_LIMITS,
  type Limit,
  type RateLimits,
  rateLimitsFromEnv,
} from './security/rate-limit.js'
