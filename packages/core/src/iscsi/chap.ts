import { randomInt } from 'node:crypto'
import { PStorageError } from '../errors.js'

/** Shortest CHAP secret: the Microsoft initiator refuses fewer than 12 bytes without IPsec. */
export const CHAP_SECRET_MIN_LENGTH = 12
/** Longest CHAP secret: the Microsoft initiator refuses more than 16 bytes. */
export const CHAP_SECRET_MAX_LENGTH = 16
/**
 * The symbols a secret may contain besides `[A-Za-z0-9]`. Each is inert everywhere a secret
 * travels: unquoted in `sh` (tgt-admin pastes it into `system()`), in targetcli's parameter
 * grammar, in tgt's config file (no `#`, `<`, `>`) and in `iscsi://user%secret@host` URLs
 * (no `%`, `@`, `:`, `/`). Space, quotes, `=`, `\` and `$` are excluded (iscsi.md policy).
 */
export const CHAP_SECRET_SYMBOLS = '-_.+'

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
/** The policy as one pattern: 12–16 characters of `[A-Za-z0-9]` and {@link CHAP_SECRET_SYMBOLS}. */
export const CHAP_SECRET_PATTERN = /^[A-Za-z0-9._+-]{12,16}$/
/**
 * CHAP user names: letters, digits and `. _ : -`, 1–223 characters (an initiator IQN is a
 * common user name). LIO stores at most 255 bytes; targetcli splits parameters on spaces
 * and `=`, so neither may appear.
 */
export const CHAP_USER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,222}$/

/**
 * Checks a CHAP user name; throws `bad_request` without echoing it.
 *
 * @example
 * ```ts
 * assertChapUser('node1')       // ok
 * assertChapUser('node 1')      // throws bad_request
 * ```
 */
export function assertChapUser(input: unknown, field = 'userid'): asserts input is string {
  if (typeof input !== 'string' || !CHAP_USER_PATTERN.test(input))
    throw new PStorageError(
      'bad_request',
      `${field} must be 1-223 characters of letters, digits, '.', '_', ':' and '-'`,
      { details: { field } },
    )
}

/**
 * Checks a CHAP secret against the policy (12–16 characters of `[A-Za-z0-9]` and
 * {@link CHAP_SECRET_SYMBOLS}); the error never contains the secret.
 *
 * @example
 * ```ts
 * assertChapSecret('Abc123Def456') // ok
 * assertChapSecret('short')        // throws bad_request
 * ```
 */
export function assertChapSecret(input: unknown, field = 'secret'): asserts input is string {
  if (typeof input !== 'string' || !CHAP_SECRET_PATTERN.test(input))
    throw new PStorageError(
      'bad_request',
      `${field} must be ${CHAP_SECRET_MIN_LENGTH}-${CHAP_SECRET_MAX_LENGTH} characters of ` +
        `letters, digits and '${CHAP_SECRET_SYMBOLS}'`,
      { details: { field } },
    )
}

/**
 * A random CHAP secret from the CSPRNG, uniformly over the policy's alphabet (`randomInt`
 * rejects biased draws). It starts with a letter or digit, so no tool can take it for an
 * option. 16 characters carry about 96 bits, near RFC 3720's 128-bit ceiling that the
 * 16-byte limit of common initiators allows.
 *
 * @example
 * ```ts
 * const secret = generateChapSecret()   // 'q8Vf-2Lx.Tz0b+Km'
 * ```
 */
export function generateChapSecret(length = CHAP_SECRET_MAX_LENGTH): string {
  if (
    !Number.isInteger(length) ||
    length < CHAP_SECRET_MIN_LENGTH ||
    length > CHAP_SECRET_MAX_LENGTH
  )
    throw new PStorageError(
      'bad_request',
      `length must be ${CHAP_SECRET_MIN_LENGTH}..${CHAP_SECRET_MAX_LENGTH}`,
    )
  const all = ALNUM + CHAP_SECRET_SYMBOLS
  let secret = ALNUM[randomInt(ALNUM.length)]!
  while (secret.length < length) secret += all[randomInt(all.length)]!
  return secret
}
