import type { Clock } from '../ports/clock.js'
import type { IdGenerator } from '../ports/id-generator.js'
import type { JwtService } from '../security/jwt.js'
import {
  hashToken,
  newRefreshToken,
  parseApiKey,
  parseRefreshToken,
  verifyTokenHash,
} from '../security/opaque-tokens.js'
import type { PasswordHasher } from '../security/password-hasher.js'
import type { Role } from '../security/roles.js'
import { parseInput } from '../services/validate.js'
import type { ApiKeyRepository } from './api-key-repository.js'
import type { AuditService } from './audit-service.js'
import {
  LoginRequestSchema,
  LogoutRequestSchema,
  RefreshRequestSchema,
  type TokenResponse,
} from './auth-schemas.js'
import { toUser } from './dto.js'
import type { Lockout, LoginContext } from './lockout.js'
import type { ResolvedIdentityOptions } from './options.js'
import {
  type ApiKeyPrincipal,
  badCredentials,
  lesserRole,
  type Principal,
  principalUserId,
  type UserPrincipal,
} from './principal.js'
import type { RefreshTokenRow, UserRow } from './tables.js'
import type { TokenRepository } from './token-repository.js'
import type { UserRepository } from './user-repository.js'
import type { User } from './user-schemas.js'

/** What the auth service is built from (see `createIdentity`). */
export interface AuthDeps {
  readonly clock: Clock
  readonly ids: IdGenerator
  readonly hasher: PasswordHasher
  readonly jwt: JwtService
  readonly options: ResolvedIdentityOptions
  readonly users: UserRepository
  readonly tokens: TokenRepository
  readonly apiKeys: ApiKeyRepository
  readonly lockout: Lockout
  readonly audit: AuditService
}

const iso = (ms: number) => new Date(ms).toISOString()
const invalidRefresh = () => badCredentials('Invalid refresh token')
const invalidAccess = () => badCredentials('Invalid access token')
// Compared against when the key id is unknown; no key hashes to it in practice.
const UNKNOWN_KEY_HASH = '0'.repeat(64)

/**
 * Login, refresh-token rotation, logout and access-token authentication (seeds/003
 * "Authentication"; security.md JWT rules; RFC 9700 §4.14 refresh token rotation).
 *
 * @example
 * ```ts
 * const tokens = await auth.login({ username: 'admin', password }, { ip })
 * const principal = await auth.authenticate(tokens.access_token)
 * ```
 */
export function createAuthService(deps: AuthDeps) {
  const { clock, ids, hasher, jwt, options, users, tokens, apiKeys, lockout, audit } = deps

  /** A new access token and a refresh token in `family` (a new family at login). */
  const issue = async (user: UserRow, family?: { id: string; expires_at: string }) => {
    const { token: access, claims } = await jwt.issue({
      sub: user.id,
      role: user.role as Role,
      tv: Number(user.token_version),
    })
    const now = clock.now().getTime()
    const familyEnd = family?.expires_at ?? iso(now + options.refreshFamilyTtlSeconds * 1000)
    const own = iso(now + options.refreshTokenTtlSeconds * 1000)
    const { token, hash } = newRefreshToken()
    await tokens.insert({
      id: ids.next(),
      family_id: family?.id ?? ids.next(),
      user_id: user.id,
      token_hash: hash,
      created_at: iso(now),
      expires_at: own < familyEnd ? own : familyEnd,
      family_expires_at: familyEnd,
      used_at: null,
      revoked_at: null,
    })
    const response: TokenResponse = {
      access_token: access,
      refresh_token: token,
      token_type: 'bearer',
      expires_in: claims.exp - claims.iat,
    }
    return response
  }

  /** Reuse of a rotated refresh token: revoke its family, audit, refuse. */
  const reused = async (row: RefreshTokenRow, now: string): Promise<never> => {
    await tokens.revokeFamily(row.family_id, now)
    await audit.record({
      action: 'auth.refresh_token_reuse',
      outcome: 'denied',
      actor_type: 'anonymous',
      resource_type: 'user',
      resource_id: row.user_id,
      detail: `Refresh token reused; session ${row.family_id} revoked`,
    })
    throw invalidRefresh()
  }

  return Object.freeze({
    /**
     * Exchanges username and password for a token pair. Unknown user, wrong password and
     * disabled account all answer the same `unauthorized` after the same hashing work;
     * every such failure counts toward the lockout (`account_locked`, 423).
     */
    async login(input: unknown, ctx: LoginContext = {}): Promise<TokenResponse> {
      const { username, password } = parseInput(LoginRequestSchema, input)
      const name = username.trim().toLowerCase()
      const user = await users.findByUsername(name)
      const wait = lockout.lockedFor(name, user)
      // No hashing while locked: the right password must not be confirmable during a lockout.
      if (wait > 0) throw lockout.lockedError(wait)
      const ok = await hasher.verify(password, user?.password_hash)
      if (!user || !ok || !Number(user.is_active)) {
        await lockout.fail(name, user, ctx)
        throw badCredentials()
      }
      const now = clock.now().toISOString()
      const rehash = hasher.needsRehash(user.password_hash)
        ? await hasher.hash(password).catch(() => undefined) // policy raised since: keep old
        : undefined
      await users.update(user.id, {
        failed_logins: 0,
        locked_until: null,
        last_login: now,
        ...(rehash !== undefined && { password_hash: rehash }),
      })
      await tokens.purgeExpired(user.id, now)
      return issue(user)
    },

    /**
     * Rotates a refresh token: the presented one is marked used and a new pair is issued in
     * the same family. Presenting a used token again is reuse (one copy was stolen): the whole
     * family is revoked and the event audited.
     */
    async refresh(input: unknown): Promise<TokenResponse> {
      const { refresh_token } = parseInput(RefreshRequestSchema, input)
      const token = parseRefreshToken(refresh_token)
      const row = token === undefined ? undefined : await tokens.findByHash(hashToken(token))
      if (!row || row.revoked_at !== null) throw invalidRefresh()
      const now = clock.now().toISOString()
      if (row.used_at !== null) return reused(row, now)
      if (row.expires_at <= now) throw invalidRefresh()
      // Lost the race to a concurrent request presenting the same token: that is reuse too.
      if (!(await tokens.markUsed(row.id, now))) return reused(row, now)
      const user = await users.find(row.user_id)
      if (!user || !Number(user.is_active)) {
        await tokens.revokeFamily(row.family_id, now)
        throw invalidRefresh()
      }
      return issue(user, { id: row.family_id, expires_at: row.family_expires_at })
    },

    /**
     * Ends the session of a refresh token (its whole family) and, given the caller's access
     * token principal, denylists that access token until it expires. Idempotent: unknown,
     * malformed or already revoked tokens, and other users' tokens, are ignored.
     */
    async logout(input: unknown, principal?: Principal): Promise<void> {
      const { refresh_token } = parseInput(LogoutRequestSchema, input)
      const now = clock.now().toISOString()
      if (principal?.kind === 'user' && principal.token) {
        await tokens.denyAccessToken(principal.token.jti, iso(principal.token.exp * 1000), now)
      }
      const token = parseRefreshToken(refresh_token)
      const row = token === undefined ? undefined : await tokens.findByHash(hashToken(token))
      if (!row || (principal && principalUserId(principal) !== row.user_id)) return
      await tokens.revokeFamily(row.family_id, now)
    },

    /** "Log out everywhere": every access token of the user stops working, every session ends. */
    async logoutAll(principal: Principal): Promise<void> {
      const userId = principalUserId(principal)
      const now = clock.now().toISOString()
      await users.updateAndBump(userId, { updated_at: now })
      await tokens.revokeUser(userId, now)
    },

    /**
     * Verifies an access token (`Bearer ` prefix optional) and that its user still exists, is
     * active, has the token's `tv` and has not logged this token out; `unauthorized` otherwise.
     */
    async authenticate(bearer: string): Promise<UserPrincipal> {
      const claims = await jwt.verify(String(bearer).replace(/^Bearer\s+/i, ''))
      const [user, denied] = await Promise.all([
        users.find(claims.sub),
        tokens.isAccessTokenDenied(claims.jti),
      ])
      if (!user || !Number(user.is_active) || Number(user.token_version) !== claims.tv || denied) {
        throw invalidAccess()
      }
      return Object.freeze({
        kind: 'user',
        id: user.id,
        username: user.username,
        role: user.role as Role,
        token: Object.freeze({ jti: claims.jti, exp: claims.exp }),
      })
    },

    /**
     * Verifies an API key (`Bearer ` prefix optional): known id, constant-time hash match,
     * not revoked, not expired, owner still active. The role is the key's, capped at the
     * owner's current role. Records `last_used_at` at most once per `apiKeyTouchSeconds`.
     * Every failure is the same `unauthorized`.
     */
    async authenticateApiKey(key: string): Promise<ApiKeyPrincipal> {
      const parsed = parseApiKey(String(key).replace(/^Bearer\s+/i, ''))
      if (!parsed) throw badCredentials('Invalid API key')
      const row = await apiKeys.findByKeyId(parsed.id)
      // Hash even for an unknown id, so timing does not tell which key ids exist.
      const match = verifyTokenHash(parsed.secret, row?.key_hash ?? UNKNOWN_KEY_HASH)
      const now = clock.now()
      const nowIso = now.toISOString()
      const live =
        row !== undefined &&
        match &&
        row.revoked_at === null &&
        (row.expires_at === null || row.expires_at > nowIso)
      const owner = live ? await users.find(row.owner_id) : undefined
      if (!row || !owner || !Number(owner.is_active)) throw badCredentials('Invalid API key')
      const touchedBefore = iso(now.getTime() - options.apiKeyTouchSeconds * 1000)
      if (row.last_used_at === null || row.last_used_at <= touchedBefore) {
        await apiKeys.touch(row.id, nowIso, touchedBefore)
      }
      return Object.freeze({
        kind: 'api_key',
        id: row.id,
        name: row.name,
        role: lesserRole(row.role as Role, owner.role as Role),
        owner_id: owner.id,
      })
    },

    /** The caller's user (an API key's owner); seeds/003 `GET /auth/me`. */
    async me(principal: Principal): Promise<User> {
      const user = await users.find(principalUserId(principal))
      if (!user) throw invalidAccess()
      return toUser(user, clock.now())
    },
  })
}

export type AuthService = ReturnType<typeof createAuthService>
