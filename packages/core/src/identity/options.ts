import { PStorageError } from '../errors.js'

/** Tunables of the identity services (all in whole seconds or counts). */
export interface IdentityOptions {
  /** Consecutive failed logins that lock an account. @default 5 */
  readonly maxFailedLogins?: number
  /** How long a lockout lasts, in seconds. @default 900 (15 min) */
  readonly lockoutSeconds?: number
  /** Lifetime of each refresh token, in seconds. @default 604800 (7 days) */
  readonly refreshTokenTtlSeconds?: number
  /**
   * Absolute lifetime of a refresh token family (one login and all its rotations), in seconds
   * (RFC 9700 §4.14.2): after it, the user logs in again however active the session was.
   * @default 2592000 (30 days)
   */
  readonly refreshFamilyTtlSeconds?: number
  /** Least time between two `last_used_at` writes of one API key, in seconds. @default 60 */
  readonly apiKeyTouchSeconds?: number
}

/** {@link IdentityOptions} with every default applied. */
export type ResolvedIdentityOptions = Required<IdentityOptions>

/** The defaults of {@link IdentityOptions}. */
export const DEFAULT_IDENTITY_OPTIONS: ResolvedIdentityOptions = Object.freeze({
  maxFailedLogins: 5,
  lockoutSeconds: 900,
  refreshTokenTtlSeconds: 7 * 24 * 3600,
  refreshFamilyTtlSeconds: 30 * 24 * 3600,
  apiKeyTouchSeconds: 60,
})

/**
 * Applies the defaults and checks every value is a positive integer (the touch interval may
 * be 0); a bad value is a configuration bug, so it fails at startup, not on first login.
 *
 * @example
 * ```ts
 * resolveIdentityOptions({ maxFailedLogins: 3 }).lockoutSeconds // 900
 * ```
 */
export function resolveIdentityOptions(options: IdentityOptions = {}): ResolvedIdentityOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined))
  const resolved: ResolvedIdentityOptions = { ...DEFAULT_IDENTITY_OPTIONS, ...defined }
  for (const [key, value] of Object.entries(resolved)) {
    const min = key === 'apiKeyTouchSeconds' ? 0 : 1
    if (!Number.isSafeInteger(value) || value < min) {
      throw new PStorageError(
        'internal_error',
        `[pstorage] [identity] ${key} must be an integer >= ${min}`,
      )
    }
  }
  if (resolved.refreshTokenTtlSeconds > resolved.refreshFamilyTtlSeconds) {
    throw new PStorageError(
      'internal_error',
      '[pstorage] [identity] refreshTokenTtlSeconds must not exceed refreshFamilyTtlSeconds',
    )
  }
  return Object.freeze(resolved)
}
