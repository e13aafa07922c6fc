import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { decodeBase64Url, encodeBase64Url } from './base64.js'

/**
 * Opaque credentials: refresh tokens and API keys. Only their SHA-256 is stored; a fast hash
 * is right here (unlike passwords) because 256 random bits cannot be guessed offline, and it
 * lets the server find a row by hash or by public id (RFC 9700 §4.14 refresh tokens; OWASP
 * API2 hashed API keys).
 */

/** Public prefix of API keys; lets secret scanners and log redaction recognise them. */
export const API_KEY_PREFIX = 'psk'
/** Random bytes in every refresh token and API key secret. */
export const TOKEN_BYTES = 32

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567' // RFC 4648 base32, lower case
const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/
// The id excludes '_', so the fixed-length id makes the split unambiguous even though the
// base64url secret may itself contain '_'.
const API_KEY = /^psk_([a-z2-7]{8})_([A-Za-z0-9_-]{43})$/
const SHA256_HEX = /^[0-9a-f]{64}$/

/** A freshly minted API key. */
export interface NewApiKey {
  /** Public id (8 chars): store it, show it in lists and logs, look the key up by it. */
  readonly id: string
  /** The whole key `psk_<id>_<secret>`: show it once, never store it. */
  readonly secret: string
  /** SHA-256 (hex) of `secret`: the only form stored. */
  readonly hash: string
}

/**
 * Mints a refresh token: 32 random bytes, base64url (43 chars), and its hash to store.
 *
 * @example
 * ```ts
 * const { token, hash } = newRefreshToken()
 * await sessions.insert({ hash, family, expiresAt })
 * ```
 */
export function newRefreshToken(): { readonly token: string; readonly hash: string } {
  const token = encodeBase64Url(randomBytes(TOKEN_BYTES))
  return { token, hash: hashToken(token) }
}

/**
 * Returns `input` if it has the shape of a refresh token, else `undefined`, so hostile
 * input (huge strings, non-strings) is refused before it is hashed or sent to the database.
 *
 * @example
 * ```ts
 * const token = parseRefreshToken(body.refresh_token)
 * if (!token) throw new PStorageError('unauthorized', 'Invalid refresh token')
 * ```
 */
export function parseRefreshToken(input: unknown): string | undefined {
  if (typeof input !== 'string' || !REFRESH_TOKEN.test(input)) return undefined
  return decodeBase64Url(input, TOKEN_BYTES) ? input : undefined
}

/**
 * SHA-256 of a token or API key, lowercase hex: the value stored and looked up.
 *
 * @example
 * ```ts
 * hashToken('abc') // 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
 * ```
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/**
 * True if `token` hashes to `storedHash`, compared in constant time so response timing does
 * not reveal how many leading characters of a guess were right.
 *
 * @example
 * ```ts
 * const row = await apiKeys.findById(parsed.id)
 * if (!row || !verifyTokenHash(parsed.secret, row.hash)) throw unauthorized()
 * ```
 */
export function verifyTokenHash(token: string, storedHash: string): boolean {
  if (typeof storedHash !== 'string' || !SHA256_HEX.test(storedHash)) return false
  const actual = createHash('sha256').update(token, 'utf8').digest()
  return timingSafeEqual(actual, Buffer.from(storedHash, 'hex'))
}

/**
 * Mints an API key `psk_<id>_<secret>`: an 8-char public id (40 random bits, base32) and
 * 32 random bytes of secret (base64url). The hash covers the whole key, binding id and secret.
 * Ids can collide (rarely): insert under a unique constraint and retry on conflict.
 *
 * @example
 * ```ts
 * const key = newApiKey()
 * await apiKeys.insert({ id: key.id, hash: key.hash, scopes, expiresAt })
 * return { api_key: key.secret } // shown once
 * ```
 */
export function newApiKey(): NewApiKey {
  const id = base32(randomBytes(5))
  const secret = `${API_KEY_PREFIX}_${id}_${encodeBase64Url(randomBytes(TOKEN_BYTES))}`
  return Object.freeze({ id, secret, hash: hashToken(secret) })
}

/**
 * Splits a presented API key into its public id and the whole key, or returns `undefined`
 * for anything malformed (wrong prefix, length, alphabet, non-string), so a bad header ends
 * in a 401, never a 500.
 *
 * @example
 * ```ts
 * const parsed = parseApiKey(header.slice('Bearer '.length))
 * // { id: 'k3x9q2ab', secret: 'psk_k3x9q2ab_…' } or undefined
 * ```
 */
export function parseApiKey(input: unknown): { id: string; secret: string } | undefined {
  if (typeof input !== 'string' || input.length !== 56) return undefined
  const match = API_KEY.exec(input)
  if (!match || !decodeBase64Url(match[2]!, TOKEN_BYTES)) return undefined
  return { id: match[1]!, secret: input }
}

/** 5 bytes → 8 base32 characters (40 bits, 5 per character). */
function base32(bytes: Buffer): string {
  let bits = 0n
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte)
  let out = ''
  for (let shift = 35n; shift >= 0n; shift -= 5n) out += ID_ALPHABET[Number((bits >> shift) & 31n)]
  return out
}
