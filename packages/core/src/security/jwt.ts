import { randomUUID, webcrypto } from 'node:crypto'
import { errors, jwtVerify, SignJWT } from 'jose'
import { PStorageError } from '../errors.js'
import type { Clock } from '../ports/clock.js'
import { isRole, type Role } from './roles.js'

/** The one algorithm access tokens use; pinned on verify (RFC 8725 §3.1). */
export const ACCESS_TOKEN_ALG = 'HS256'
/**
 * The `typ` header of access tokens (RFC 9068 §2.1). Explicit typing with mutually exclusive
 * rules (RFC 8725 §3.11–3.12) keeps refresh or ID tokens from passing as access tokens.
 */
export const ACCESS_TOKEN_TYP = 'at+jwt'
/** Minimum HMAC key size: 256 bits, the HS256 output size (RFC 7518 §3.2). */
export const MIN_JWT_KEY_BYTES = 32

// Far above a real token (~350 bytes); refuses multi-megabyte headers before any parsing.
const MAX_TOKEN_LENGTH = 4096

/** Verified claims of an access token. */
export interface AccessTokenClaims {
  /** User id. */
  readonly sub: string
  readonly role: Role
  /** The user's token version when issued; stale once the stored version is bumped. */
  readonly tv: number
  /** Token id, for the denylist of logged-out tokens (kept until `exp`). */
  readonly jti: string
  readonly iss: string
  readonly aud: string
  /** Issued at, epoch seconds. */
  readonly iat: number
  /** Expires at, epoch seconds. */
  readonly exp: number
}

/** Options of {@link createJwtService}. */
export interface JwtServiceOptions {
  /** HMAC key: at least 32 random bytes, never a password (RFC 8725 §3.5). */
  readonly secret: Uint8Array
  /** `iss` written and required, e.g. `https://pstorage.example.com`. */
  readonly issuer: string
  /** `aud` written and required, e.g. `pstorage-api`. */
  readonly audience: string
  readonly clock: Clock
  /** Lifetime in seconds, at most 900 (the reference wants 5–15 min). @default 900 (15 min) */
  readonly ttlSeconds?: number
  /** Allowed clock skew in seconds, at most 60. @default 60 */
  readonly clockToleranceSeconds?: number
}

/**
 * Issues and verifies access tokens.
 *
 * @example
 * ```ts
 * const { token } = await jwt.issue({ sub: user.id, role: user.role, tv: user.tokenVersion })
 * const claims = await jwt.verify(token)
 * ```
 */
export interface JwtService {
  /** Signs a fresh access token (new `jti`, `iat` = now, `exp` = now + ttl). */
  issue(subject: { sub: string; role: Role; tv: number }): Promise<{
    token: string
    claims: AccessTokenClaims
  }>
  /**
   * Verifies signature, algorithm, `typ`, `iss`, `aud`, `exp`/`iat` and claim shapes;
   * `unauthorized` otherwise (`details.reason`: `expired` or `invalid`). The caller still
   * compares `tv` with the user's stored version and checks `jti` against its denylist.
   */
  verify(token: string): Promise<AccessTokenClaims>
}

/**
 * Creates a {@link JwtService} for HS256 access tokens following RFC 8725 (JWT BCP):
 * the algorithm is pinned (`none`, RS/ES and other HS sizes are refused), `typ` must be
 * `at+jwt` so refresh tokens or ID tokens never pass, `iss` and `aud` must match (§3.8–3.9),
 * and no `jku`/`x5u`/`kid` is consulted (the key is local).
 *
 * @example
 * ```ts
 * const jwt = createJwtService({
 *   secret: randomBytes(32),
 *   issuer: 'https://pstorage.example.com',
 *   audience: 'pstorage-api',
 *   clock: systemClock,
 * })
 * ```
 */
export function createJwtService(options: JwtServiceOptions): JwtService {
  const { issuer, audience, clock } = options
  const ttl = options.ttlSeconds ?? 900
  const tolerance = options.clockToleranceSeconds ?? 60
  if (!(options.secret instanceof Uint8Array) || options.secret.byteLength < MIN_JWT_KEY_BYTES) {
    configError(`secret must be at least ${MIN_JWT_KEY_BYTES} random bytes`)
  }
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > 900) configError('ttlSeconds must be 1..900')
  if (!Number.isSafeInteger(tolerance) || tolerance < 0 || tolerance > 60) {
    configError('clockToleranceSeconds must be 0..60')
  }
  if (!issuer || !audience) configError('issuer and audience are required')
  // A private copy: later changes to the caller's buffer cannot change the key.
  const secret = Uint8Array.from(options.secret)
  // Imported once: handing jose the raw bytes would import the key again on every request.
  let key: Promise<webcrypto.CryptoKey> | undefined
  const hmacKey = (): Promise<webcrypto.CryptoKey> => {
    key ??= webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ])
    return key
  }

  return Object.freeze({
    async issue(subject: { sub: string; role: Role; tv: number }) {
      if (!subject.sub || !isRole(subject.role) || !Number.isSafeInteger(subject.tv)) {
        configError('issue() needs a sub, a known role and an integer tv')
      }
      const iat = Math.floor(clock.now().getTime() / 1000)
      const claims: AccessTokenClaims = Object.freeze({
        sub: subject.sub,
        role: subject.role,
        tv: subject.tv,
        jti: randomUUID(),
        iss: issuer,
        aud: audience,
        iat,
        exp: iat + ttl,
      })
      const token = await new SignJWT({ role: claims.role, tv: claims.tv })
        .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, typ: ACCESS_TOKEN_TYP })
        .setSubject(claims.sub)
        .setIssuer(issuer)
        .setAudience(audience)
        .setJti(claims.jti)
        .setIssuedAt(iat)
        .setExpirationTime(claims.exp)
        .sign(await hmacKey())
      return { token, claims }
    },

    async verify(token: string): Promise<AccessTokenClaims> {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw invalid()
      const { payload } = await jwtVerify(token, await hmacKey(), {
        algorithms: [ACCESS_TOKEN_ALG],
        typ: ACCESS_TOKEN_TYP,
        issuer,
        audience,
        currentDate: clock.now(),
        clockTolerance: tolerance,
        // Also refuses an `iat` in the future, and caps any token's usable life at `ttl`
        // whatever `exp` it carries.
        maxTokenAge: ttl,
        requiredClaims: ['sub', 'jti', 'iat', 'exp'],
      }).catch((cause: unknown) => {
        if (!(cause instanceof errors.JWTExpired)) throw invalid(cause)
        throw new PStorageError('unauthorized', 'Access token expired', {
          details: { reason: 'expired' },
          cause,
        })
      })
      const { sub, role, tv, jti, iat, exp } = payload
      if (
        typeof sub !== 'string' ||
        sub === '' ||
        !isRole(role) ||
        typeof tv !== 'number' ||
        !Number.isSafeInteger(tv) ||
        typeof jti !== 'string' ||
        jti === '' ||
        typeof iat !== 'number' ||
        typeof exp !== 'number'
      ) {
        throw invalid()
      }
      return Object.freeze({
        sub,
        role,
        tv,
        jti,
        iss: issuer,
        aud: audience,
        iat,
        exp,
      })
    },
  })
}

function invalid(cause?: unknown): PStorageError {
  // One message for every failure: which check failed is for logs (cause), not for clients.
  return new PStorageError('unauthorized', 'Invalid access token', {
    details: { reason: 'invalid' },
    cause,
  })
}

function configError(message: string): never {
  throw new PStorageError('internal_error', `[pstorage] [jwt] ${message}`)
}
