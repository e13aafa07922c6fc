import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto'
import { PStorageError } from '../errors.js'
import type { SecretVault } from '../ports/secret-vault.js'
import { decodeBase64Url, encodeBase64Url } from './base64.js'
import { createKeyring, isKeyVersion, type Keyring } from './keyring.js'

/** Prefix of the sealed format; a persistent id, never reused for another layout. */
export const VAULT_FORMAT = 'v1'

// NIST SP 800-38D §8.2.2: 96-bit random IVs; the full 128-bit tag (§5.2.1.2 allows shorter
// tags, which weaken forgery resistance).
const IV_BYTES = 12
const TAG_BYTES = 16
const SEALED =
  /^v1\.([1-9][0-9]{0,15})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]*)$/

/** Options of {@link createAesGcmVault}. */
export interface AesGcmVaultOptions {
  /** Keys by version; seal uses `current`, open accepts any version present. */
  readonly keyring: Keyring
}

/**
 * A {@link SecretVault} with key rotation: besides `seal`/`open` it re-encrypts old values
 * under the current key, for a background job that walks every sealed column.
 *
 * @example
 * ```ts
 * if (vault.needsReseal(row.secret)) row.secret = await vault.reseal(row.secret, ctx)
 * ```
 */
export interface AesGcmVault extends SecretVault {
  /** Opens `sealed` with whatever version it names and seals it again under the current key. */
  reseal(sealed: string, context: string): Promise<string>
  /** True if `sealed` was sealed under another key version than the current one. */
  needsReseal(sealed: string): boolean
  /** The key version `sealed` names (without decrypting it). */
  keyVersionOf(sealed: string): number
}

/**
 * Creates an AES-256-GCM {@link SecretVault}. Sealed values look like
 * `v1.<keyVersion>.<iv>.<tag>.<ciphertext>` (base64url) and authenticate the additional data
 * `context|keyVersion`, so a value cannot be swapped into another record or field, nor
 * relabelled with another key version. Failures are `PStorageError`s: `data_corruption` for a
 * malformed, tampered or wrong-context value, `internal_error` for a key version the keyring
 * lacks; `details.reason` says which.
 *
 * Each key must seal fewer than 2^32 values (SP 800-38D §8.3 bound for random IVs); rotate
 * long before that.
 *
 * @example
 * ```ts
 * const vault = createAesGcmVault({ keyring: await loadOrCreateKeyring({ dataDir, env }) })
 * const sealed = await vault.seal('s3cr3t', 'backend:42|secret_access_key')
 * await vault.open(sealed, 'backend:42|secret_access_key') // 's3cr3t'
 * ```
 */
export function createAesGcmVault(options: AesGcmVaultOptions): AesGcmVault {
  // Re-validated and copied, so a caller mutating its Map later cannot swap keys under us.
  const keyring = createKeyring(options.keyring)
  // KeyObjects keep raw key bytes out of inspection and accidental logging.
  const keys = new Map<number, KeyObject>()
  for (const [version, key] of keyring.keys) keys.set(version, createSecretKey(key))

  const seal = async (plaintext: string, context: string): Promise<string> => {
    checkContext(context)
    const version = keyring.current
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', keys.get(version)!, iv, {
      authTagLength: TAG_BYTES,
    })
    cipher.setAAD(aad(context, version))
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    const tag = cipher.getAuthTag()
    return [
      VAULT_FORMAT,
      version,
      encodeBase64Url(iv),
      encodeBase64Url(tag),
      encodeBase64Url(ct),
    ].join('.')
  }

  const open = async (sealed: string, context: string): Promise<string> => {
    checkContext(context)
    const parts = parse(sealed)
    const key = keys.get(parts.version)
    if (!key) {
      throw vaultError(
        'internal_error',
        'unknown_key_version',
        `sealed with key version ${parts.version}, which the keyring lacks; restore that key`,
      )
    }
    // authTagLength pins the tag size: without it a truncated tag could be accepted.
    const decipher = createDecipheriv('aes-256-gcm', key, parts.iv, { authTagLength: TAG_BYTES })
    decipher.setAAD(aad(context, parts.version))
    decipher.setAuthTag(parts.tag)
    try {
      return Buffer.concat([decipher.update(parts.ct), decipher.final()]).toString('utf8')
    } catch (cause) {
      throw vaultError(
        'data_corruption',
        'authentication_failed',
        'sealed value failed authentication (tampered, or opened with the wrong context)',
        cause,
      )
    }
  }

  return Object.freeze({
    seal,
    open,
    reseal: async (sealed: string, context: string) => seal(await open(sealed, context), context),
    needsReseal: (sealed: string) => parse(sealed).version !== keyring.current,
    keyVersionOf: (sealed: string) => parse(sealed).version,
  })
}

interface SealedParts {
  readonly version: number
  readonly iv: Buffer
  readonly tag: Buffer
  readonly ct: Buffer
}

function parse(sealed: string): SealedParts {
  const match = typeof sealed === 'string' ? SEALED.exec(sealed) : null
  const version = Number(match?.[1])
  const iv = match && decodeBase64Url(match[2]!, IV_BYTES)
  const tag = match && decodeBase64Url(match[3]!, TAG_BYTES)
  const ct = match && decodeBase64Url(match[4]!)
  if (!isKeyVersion(version) || !iv || !tag || !ct) {
    throw vaultError('data_corruption', 'malformed', `not a ${VAULT_FORMAT} sealed value`)
  }
  return { version, iv, tag, ct }
}

// The version is the suffix after the last '|' and is digits only, so `context|version` is
// unambiguous even when the context itself contains '|'.
function aad(context: string, version: number): Buffer {
  return Buffer.from(`${context}|${version}`, 'utf8')
}

function checkContext(context: string): void {
  if (typeof context !== 'string' || context.length === 0) {
    throw vaultError('internal_error', 'invalid_context', 'a non-empty context is required')
  }
}

function vaultError(
  code: 'data_corruption' | 'internal_error',
  reason: string,
  message: string,
  cause?: unknown,
): PStorageError {
  return new PStorageError(code, `[pstorage] [vault] ${message}`, {
    details: { reason },
    cause,
  })
}
