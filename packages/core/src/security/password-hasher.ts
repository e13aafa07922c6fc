import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'
import { PStorageError } from '../errors.js'
import { decodeBase64Url, encodeBase64Url } from './base64.js'
import { checkPassword, DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from './password-policy.js'
import { createSemaphore } from './semaphore.js'

/**
 * Hashes and verifies passwords. Encoded hashes carry their parameters, so a login can
 * verify an old hash and then store a fresh one when {@link PasswordHasher.needsRehash} says
 * the parameters moved on.
 *
 * @example
 * ```ts
 * if (await hasher.verify(password, user?.passwordHash)) {
 *   if (hasher.needsRehash(user.passwordHash)) await save(await hasher.hash(password))
 * }
 * ```
 */
export interface PasswordHasher {
  /** Hashes a password that satisfies the policy; `validation_error` otherwise. */
  hash(password: string): Promise<string>
  /**
   * True if `password` matches `encoded`. With no `encoded` (unknown user) it still does one
   * hash and returns false, so response time does not reveal which accounts exist.
   */
  verify(password: string, encoded: string | null | undefined): Promise<boolean>
  /** True if `encoded` was made with other parameters (or another algorithm) than now. */
  needsRehash(encoded: string): boolean
}

/** scrypt parameters (RFC 7914 §2). */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N. @default 17 (OWASP Password Storage minimum) */
  readonly cost: number
  /** Block size r. @default 8 */
  readonly blockSize: number
  /** Parallelization p. @default 1 */
  readonly parallelization: number
  /** Salt bytes. @default 16 */
  readonly saltLength: number
  /** Derived key bytes. @default 64 */
  readonly keyLength: number
}

/** The OWASP Password Storage Cheat Sheet minimum for scrypt: N=2^17, r=8, p=1. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = Object.freeze({
  cost: 17,
  blockSize: 8,
  parallelization: 1,
  saltLength: 16,
  keyLength: 64,
})

// N=2^17, r=8 needs ~128 MiB; Node's default maxmem is 32 MiB (nodejs/node#21524).
const MAXMEM = 256 * 1024 * 1024
const ENCODED = /^scrypt\$ln=([0-9]{1,2}),r=([0-9]{1,2}),p=([0-9]{1,2})\$([\w-]+)\$([\w-]+)$/

/** Options of {@link createScryptHasher}. */
export interface ScryptHasherOptions {
  /** Overrides of {@link DEFAULT_SCRYPT_PARAMS}; tests pass a low `cost`. */
  readonly params?: Partial<ScryptParams>
  /** Length policy of new passwords. @default DEFAULT_PASSWORD_POLICY (8..1024) */
  readonly policy?: Partial<PasswordPolicy>
  /** Hashes computed at once; each takes ~128 MiB and a libuv thread. @default 2 */
  readonly maxConcurrent?: number
  /** Hashes queued beyond that before failing with `service_unavailable`. @default 32 */
  readonly maxWaiting?: number
}

/**
 * Creates a {@link PasswordHasher} on `node:crypto` scrypt (no native build). Encoded form:
 * `scrypt$ln=17,r=8,p=1$<salt>$<key>` (base64url). Passwords are NFKC-normalized first.
 *
 * @example
 * ```ts
 * const hasher = createScryptHasher()
 * const encoded = await hasher.hash('correct horse battery staple')
 * await hasher.verify('correct horse battery staple', encoded) // true
 * ```
 */
export function createScryptHasher(options: ScryptHasherOptions = {}): PasswordHasher {
  const params: ScryptParams = Object.freeze({ ...DEFAULT_SCRYPT_PARAMS, ...options.params })
  const problem = paramsProblem(params)
  if (problem) throw new PStorageError('internal_error', `[pstorage] [scrypt] ${problem}`)
  const policy: PasswordPolicy = Object.freeze({ ...DEFAULT_PASSWORD_POLICY, ...options.policy })
  const semaphore = createSemaphore({
    max: options.maxConcurrent ?? 2,
    maxWaiting: options.maxWaiting ?? 32,
  })
  const derive = (password: string, salt: Buffer, p: ScryptParams) =>
    semaphore.run(() => scryptAsync(password, salt, p))

  return Object.freeze({
    async hash(password: string): Promise<string> {
      const checked = checkPassword(password, policy)
      if (!checked.ok) {
        throw new PStorageError('validation_error', passwordMessage(checked.problem, policy), {
          details: { field: 'password', reason: checked.problem },
        })
      }
      const salt = randomBytes(params.saltLength)
      const key = await derive(checked.password, salt, params)
      return encode(params, salt, key)
    },

    async verify(password: string, encoded: string | null | undefined): Promise<boolean> {
      const stored = encoded === null || encoded === undefined ? undefined : decode(encoded)
      if (encoded !== null && encoded !== undefined && !stored) {
        throw new PStorageError('data_corruption', '[pstorage] [scrypt] malformed password hash')
      }
      // Only the upper bound applies here: a raised minimum must not lock out old accounts.
      const checked = checkPassword(password, { minLength: 0, maxLength: policy.maxLength })
      // Every path derives once, so timing tells neither "no such user" nor "rejected input"
      // apart from "wrong password" (OWASP Authentication Cheat Sheet, account enumeration).
      const key = await derive(
        checked.ok ? checked.password : '',
        stored?.salt ?? randomBytes(params.saltLength),
        stored?.params ?? params,
      )
      return checked.ok && stored !== undefined && timingSafeEqual(key, stored.key)
    },

    needsRehash(encoded: string): boolean {
      const stored = decode(encoded)
      if (!stored) return true
      const p = stored.params
      return (Object.keys(params) as Array<keyof ScryptParams>).some((k) => p[k] !== params[k])
    },
  })
}

function encode(p: ScryptParams, salt: Buffer, key: Buffer): string {
  const settings = `ln=${p.cost},r=${p.blockSize},p=${p.parallelization}`
  return `scrypt$${settings}$${encodeBase64Url(salt)}$${encodeBase64Url(key)}`
}

function decode(encoded: string): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const match = typeof encoded === 'string' ? ENCODED.exec(encoded) : null
  if (!match) return undefined
  const salt = decodeBase64Url(match[4]!)
  const key = decodeBase64Url(match[5]!)
  if (!salt || !key) return undefined
  const params: ScryptParams = {
    cost: Number(match[1]),
    blockSize: Number(match[2]),
    parallelization: Number(match[3]),
    saltLength: salt.length,
    keyLength: key.length,
  }
  // A stored hash is data: refuse parameters that would cost unbounded memory or CPU.
  return paramsProblem(params) ? undefined : { params, salt, key }
}

function paramsProblem(p: ScryptParams): string | undefined {
  const inRange = (v: number, min: number, max: number) =>
    Number.isSafeInteger(v) && v >= min && v <= max
  if (!inRange(p.cost, 1, 20)) return `cost (log2 N) must be 1..20, got ${p.cost}`
  if (!inRange(p.blockSize, 1, 32)) return `blockSize must be 1..32, got ${p.blockSize}`
  if (!inRange(p.parallelization, 1, 16)) return `parallelization must be 1..16`
  if (!inRange(p.saltLength, 16, 64)) return `saltLength must be 16..64 bytes`
  if (!inRange(p.keyLength, 32, 128)) return `keyLength must be 32..128 bytes`
  // OpenSSL's EVP_PBE_scrypt needs 128·r·(N + 2 + p) bytes (RFC 7914 §5 memory use).
  if (128 * p.blockSize * (2 ** p.cost + 2 + p.parallelization) > MAXMEM) {
    return 'parameters need more than 256 MiB'
  }
  return undefined
}

function scryptAsync(password: string, salt: Buffer, p: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** p.cost,
    r: p.blockSize,
    p: p.parallelization,
    maxmem: MAXMEM,
  }
  return new Promise((resolve, reject) => {
    scrypt(password, salt, p.keyLength, options, (error, key) =>
      error ? reject(error) : resolve(key),
    )
  })
}

function passwordMessage(problem: string, policy: PasswordPolicy): string {
  switch (problem) {
    case 'too_short':
      return `Password must be at least ${policy.minLength} characters`
    case 'too_long':
      return `Password must be at most ${policy.maxLength} characters`
    case 'contains_nul':
      return 'Password must not contain NUL characters'
    default:
      return 'Password must be a string'
  }
}
