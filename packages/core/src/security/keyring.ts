import { PStorageError } from '../errors.js'

/** Length of every key-encryption key: AES-256 takes 32 bytes. */
export const KEY_BYTES = 32

/**
 * Versioned key-encryption keys. New seals use `current`; any version in `keys` can open.
 * Versions are persistent ids written into every sealed value: never reuse one for another key.
 *
 * @example
 * ```ts
 * const keyring: Keyring = { current: 2, keys: new Map([[1, oldKey], [2, newKey]]) }
 * ```
 */
export interface Keyring {
  /** Version new values are sealed with; must be present in `keys`. */
  readonly current: number
  /** Version (positive integer) → 32-byte key. */
  readonly keys: ReadonlyMap<number, Uint8Array>
}

/** What {@link createKeyring} accepts: keys as a `Map` or a `{ "1": key }` record. */
export interface KeyringInput {
  readonly current: number
  readonly keys: ReadonlyMap<number, Uint8Array> | Readonly<Record<string, Uint8Array>>
}

/**
 * Validates a keyring and copies it into a frozen {@link Keyring} (versions are positive
 * integers, every key is exactly 32 bytes, `current` exists). Throws `internal_error`: a bad
 * keyring is a deployment mistake, never a client's.
 *
 * @example
 * ```ts
 * const keyring = createKeyring({ current: 1, keys: { 1: randomBytes(32) } })
 * ```
 */
export function createKeyring(input: KeyringInput): Keyring {
  const entries =
    input.keys instanceof Map
      ? [...input.keys.entries()]
      : Object.entries(input.keys).map(([v, k]) => [Number(v), k] as const)
  const keys = new Map<number, Uint8Array>()
  for (const [version, key] of entries) {
    if (!isKeyVersion(version)) fail(`key version ${String(version)} is not a positive integer`)
    if (!(key instanceof Uint8Array) || key.byteLength !== KEY_BYTES) {
      fail(`key version ${version} must be exactly ${KEY_BYTES} bytes`)
    }
    keys.set(version, Uint8Array.from(key))
  }
  if (!keys.has(input.current)) fail(`current key version ${input.current} is not in the keyring`)
  return Object.freeze({ current: input.current, keys })
}

/** True for a usable key version: a positive safe integer. */
export function isKeyVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0
}

function fail(message: string): never {
  throw new PStorageError('internal_error', `[pstorage] [keyring] ${message}`, {
    details: { reason: 'invalid_keyring' },
  })
}
