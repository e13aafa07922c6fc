import type { Kysely } from 'kysely'
import type { Clock } from '../ports/clock.js'
import type { IdGenerator } from '../ports/id-generator.js'
import type { JwtService } from '../security/jwt.js'
import type { PasswordHasher } from '../security/password-hasher.js'
import type { Database } from '../store/database.js'
import { apiKeyRepository } from './api-key-repository.js'
import { createApiKeyService } from './api-key-service.js'
import { createAuditService } from './audit-service.js'
import { createAuthService } from './auth-service.js'
import { createLockout } from './lockout.js'
import { type IdentityOptions, resolveIdentityOptions } from './options.js'
import { tokenRepository } from './token-repository.js'
import { userRepository } from './user-repository.js'
import { createUserService } from './user-service.js'

/** What {@link createIdentity} is built from: the host supplies every port (STYLE.md §7). */
export interface IdentityDeps {
  /** The migrated metadata database (identity tables from migration `0003_identity`). */
  readonly db: Kysely<Database>
  readonly clock: Clock
  readonly ids: IdGenerator
  /** Hashes passwords; its policy decides what a new password must satisfy. */
  readonly hasher: PasswordHasher
  /** Issues and verifies access tokens; its `ttlSeconds` is the `expires_in` of logins. */
  readonly jwt: JwtService
  readonly options?: IdentityOptions
}

/**
 * The identity services of PStorage: `auth` (login with lockout, rotating refresh tokens
 * with reuse detection, logout, access-token and API-key authentication), `users`,
 * `apiKeys` and the append-only `audit` log. Every input is validated with the exported
 * zod schemas; every answer is an allow-listed DTO without hashes or secrets.
 *
 * @example
 * ```ts
 * const identity = createIdentity({
 *   db: store.db,
 *   clock: systemClock,
 *   ids: uuidGenerator,
 *   hasher: createScryptHasher(),
 *   jwt: createJwtService({ secret, issuer, audience, clock: systemClock }),
 * })
 * const { generatedPassword } = await identity.users.ensureAdmin({})
 * const tokens = await identity.auth.login({ username: 'admin', password }, { ip })
 * const principal = await identity.auth.authenticate(tokens.access_token)
 * ```
 */
export function createIdentity(deps: IdentityDeps) {
  const { db, clock, ids, hasher, jwt } = deps
  const options = resolveIdentityOptions(deps.options)
  const users = userRepository(db)
  const audit = createAuditService({ db, clock, ids })
  const lockout = createLockout({ users, audit, clock, options })
  const auth = createAuthService({
    clock,
    ids,
    hasher,
    jwt,
    options,
    users,
    tokens: tokenRepository(db),
    apiKeys: apiKeyRepository(db),
    lockout,
    audit,
  })
  return Object.freeze({
    auth,
    users: createUserService({ db, clock, ids, hasher, lockout }),
    apiKeys: createApiKeyService({ db, clock, ids }),
    audit,
  })
}

/** The object {@link createIdentity} returns. */
export type Identity = ReturnType<typeof createIdentity>
