import { z } from 'zod'
import { decodeBase64 } from './base64.js'
import { createKeyring, KEY_BYTES, type Keyring } from './keyring.js'

/** The `format` tag of a serialized keyring; a persistent id, never reused. */
export const KEYRING_FORMAT = 'pstorage-keyring/v1'

const KeyringJsonSchema = z.strictObject({
  format: z.literal(KEYRING_FORMAT).optional(),
  current: z.number().int().positive(),
  keys: z.record(z.string().regex(/^[1-9][0-9]{0,15}$/), z.string()),
})

/**
 * Parses a keyring from its text form, or returns an error message (never containing key
 * material) for the caller to wrap in its own typed error. Two forms are accepted:
 * - a bare base64 32-byte key (`openssl rand -base64 32`), which becomes version 1;
 * - JSON `{"format":"pstorage-keyring/v1","current":2,"keys":{"1":"<b64>","2":"<b64>"}}`
 *   (`format` optional), the form that carries several versions for rotation.
 *
 * @example
 * ```ts
 * const parsed = parseKeyring(process.env.PSTORAGE_MASTER_KEY ?? '')
 * if (typeof parsed === 'string') throw new Error(parsed)
 * ```
 */
export function parseKeyring(text: string): Keyring | string {
  const trimmed = text.trim()
  if (!trimmed.startsWith('{')) {
    const key = decodeBase64(trimmed, KEY_BYTES)
    return key ? createKeyring({ current: 1, keys: { 1: key } }) : BARE_KEY_ERROR
  }
  let json: unknown
  try {
    json = JSON.parse(trimmed)
  } catch {
    return 'not valid JSON'
  }
  const parsed = KeyringJsonSchema.safeParse(json)
  if (!parsed.success) {
    // Only the paths: zod messages are value-free today, but keys must never reach a log.
    const paths = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)')
    return `invalid keyring JSON at ${paths.join(', ')}`
  }
  const keys = new Map<number, Uint8Array>()
  for (const [version, encoded] of Object.entries(parsed.data.keys)) {
    const key = decodeBase64(encoded, KEY_BYTES)
    if (!key) return `key version ${version} is not base64 of ${KEY_BYTES} bytes`
    keys.set(Number(version), key)
  }
  if (!keys.has(parsed.data.current)) {
    return `current key version ${parsed.data.current} is not in the keyring`
  }
  return createKeyring({ current: parsed.data.current, keys })
}

/**
 * Serializes a keyring to the JSON form {@link parseKeyring} reads (with a trailing newline).
 *
 * @example
 * ```ts
 * formatKeyring(createKeyring({ current: 1, keys: { 1: randomBytes(32) } }))
 * // '{"format":"pstorage-keyring/v1","current":1,"keys":{"1":"…"}}\n'
 * ```
 */
export function formatKeyring(keyring: Keyring): string {
  const keys: Record<string, string> = {}
  for (const version of [...keyring.keys.keys()].sort((a, b) => a - b)) {
    keys[String(version)] = Buffer.from(keyring.keys.get(version)!).toString('base64')
  }
  return `${JSON.stringify({ format: KEYRING_FORMAT, current: keyring.current, keys })}\n`
}

const BARE_KEY_ERROR = `expected base64 of exactly ${KEY_BYTES} bytes or a JSON keyring`
