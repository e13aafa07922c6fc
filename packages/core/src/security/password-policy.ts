/**
 * Length limits of {@link checkPassword}, after NFKC normalization, in code points (NIST SP
 * 800-63B §5.1.1.2 counts characters, not bytes).
 */
export interface PasswordPolicy {
  /** @default 8 (OWASP Authentication Cheat Sheet minimum with MFA-less login) */
  readonly minLength: number
  /** @default 1024 (long enough for passphrases, short enough to bound hashing work) */
  readonly maxLength: number
}

/** The default {@link PasswordPolicy}. */
export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = Object.freeze({
  minLength: 8,
  maxLength: 1024,
})

/** Why {@link checkPassword} refused a password. */
export type PasswordProblem = 'not_a_string' | 'contains_nul' | 'too_short' | 'too_long'

/**
 * Normalizes a password to NFKC (NIST SP 800-63B §5.1.1.2, so `ｐａｓｓ` typed on another
 * keyboard still matches) and checks it against `policy`; returns the normalized password or
 * the problem. NUL is refused because C-string consumers (PAM, CLIs) would truncate at it.
 *
 * @example
 * ```ts
 * checkPassword('correct horse') // { ok: true, password: 'correct horse' }
 * checkPassword('short')         // { ok: false, problem: 'too_short' }
 * ```
 */
export function checkPassword(
  input: unknown,
  policy: PasswordPolicy = DEFAULT_PASSWORD_POLICY,
): { ok: true; password: string } | { ok: false; problem: PasswordProblem } {
  if (typeof input !== 'string') return { ok: false, problem: 'not_a_string' }
  // Bounds the normalization work on hostile input. Generous: composition can merge a few
  // code points into one (Hangul L+V+T), so only clearly oversized input is cut here.
  if (input.length > policy.maxLength * 4) return { ok: false, problem: 'too_long' }
  if (input.includes('\0')) return { ok: false, problem: 'contains_nul' }
  const password = input.normalize('NFKC')
  let length = 0
  for (const _ of password) length++
  if (length < policy.minLength) return { ok: false, problem: 'too_short' }
  if (length > policy.maxLength) return { ok: false, problem: 'too_long' }
  return { ok: true, password }
}
