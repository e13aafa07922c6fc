import { createHash } from 'node:crypto'
import { iscsiError } from './runner-kit.js'

const FINGERPRINT = /^SHA256:([A-Za-z0-9+/]{43})=?$/

/**
 * The OpenSSH fingerprint of a host key, as `ssh-keygen -lf` and `ssh` print it:
 * `SHA256:` + unpadded base64 of the SHA-256 of the key blob (RFC 4253 §6.6 encoding).
 *
 * @example
 * ```ts
 * fingerprintOf(keyBlob) // 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'
 * ```
 */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`
}

/**
 * A pinned fingerprint in the form {@link fingerprintOf} produces (the `=` padding some tools
 * print is dropped); anything else, MD5 `aa:bb:…` included, is a `bad_request`.
 */
export function normalizeFingerprint(input: string): string {
  const m = typeof input === 'string' ? FINGERPRINT.exec(input.trim()) : null
  if (!m)
    throw iscsiError(
      'ssh',
      'bad_request',
      'hostKeyFingerprint must be an OpenSSH SHA256 fingerprint (SHA256:<43 base64 characters>)',
    )
  return `SHA256:${m[1]}`
}
