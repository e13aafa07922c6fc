/**
 * Strict base64 and base64url codecs. Node's `Buffer.from(s, 'base64')` silently skips
 * characters outside the alphabet, so a corrupted key or token would decode to *something*;
 * these decoders accept only the canonical encoding (RFC 4648 §3.5: non-zero pad bits reject)
 * and return `undefined` for anything else, so callers turn it into their own typed error.
 */

const BASE64URL = /^[A-Za-z0-9_-]*$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * Encodes bytes as unpadded base64url (RFC 4648 §5).
 *
 * @example
 * ```ts
 * encodeBase64Url(new Uint8Array([0xfb, 0xff])) // '-_8'
 * ```
 */
export function encodeBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/**
 * Decodes canonical unpadded base64url, or returns `undefined`.
 *
 * @example
 * ```ts
 * decodeBase64Url('-_8') // Buffer <fb ff>
 * decodeBase64Url('-_9') // undefined: non-canonical pad bits
 * ```
 */
export function decodeBase64Url(text: string, byteLength?: number): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64url')
  if (bytes.toString('base64url') !== text) return undefined
  if (byteLength !== undefined && bytes.length !== byteLength) return undefined
  return bytes
}

/**
 * Decodes canonical padded base64 (RFC 4648 §4), or returns `undefined`.
 *
 * @example
 * ```ts
 * decodeBase64('+/8=') // Buffer <fb ff>
 * ```
 */
export function decodeBase64(text: string, byteLength?: number): Buffer | undefined {
  if (!BASE64.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64')
  if (bytes.toString('base64') !== text) return undefined
  if (byteLength !== undefined && bytes.length !== byteLength) return undefined
  return bytes
}
