import { PStorageError } from '../errors.js'
import { ROLES, type Role } from '../security/roles.js'

/**
 * A user authenticated by an access token. `token` (the access token's `jti` and `exp`, epoch
 * seconds) is present when it came from `auth.authenticate`, so `auth.logout` can put that
 * access token on the denylist.
 */
export interface UserPrincipal {
  readonly kind: 'user'
  readonly id: string
  readonly username: string
  readonly role: Role
  readonly token?: { readonly jti: string; readonly exp: number }
}

/** A caller authenticated by an API key; `role` is the key's, capped at its owner's. */
export interface ApiKeyPrincipal {
  readonly kind: 'api_key'
  readonly id: string
  readonly name: string
  readonly role: Role
  readonly owner_id: string
}

/**
 * Who is calling: what `auth.authenticate` and `auth.authenticateApiKey` return, and what the
 * HTTP layer passes back into the services that need an actor.
 *
 * @example
 * ```ts
 * const principal: Principal = { kind: 'user', id, username: 'alice', role: 'operator' }
 * ```
 */
export type Principal = UserPrincipal | ApiKeyPrincipal

/**
 * The user behind a principal: the user itself, or an API key's owner.
 *
 * @example
 * ```ts
 * principalUserId({ kind: 'api_key', id: 'k', name: 'ci', role: 'viewer', owner_id: 'u' }) // 'u'
 * ```
 */
export function principalUserId(principal: Principal): string {
  return principal.kind === 'user' ? principal.id : principal.owner_id
}

/**
 * True if `role` grants no more than `limit` (ROLES lists the most privileged first).
 *
 * @example
 * ```ts
 * roleWithin('viewer', 'operator') // true
 * roleWithin('admin', 'operator')  // false
 * ```
 */
export function roleWithin(role: Role, limit: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(limit)
}

/**
 * The less privileged of two roles.
 *
 * @example
 * ```ts
 * lesserRole('admin', 'viewer') // 'viewer'
 * ```
 */
export function lesserRole(a: Role, b: Role): Role {
  return roleWithin(a, b) ? a : b
}

/**
 * The one `unauthorized` error of the identity services for bad credentials: the same detail
 * whichever check failed, so answers reveal neither accounts nor the failing check.
 *
 * @example
 * ```ts
 * throw badCredentials('Invalid API key')
 * ```
 */
export function badCredentials(detail = 'Invalid username or password'): PStorageError {
  return new PStorageError('unauthorized', detail)
}
