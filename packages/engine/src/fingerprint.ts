import { createHash } from 'node:crypto'

/**
 * Bytes of a fingerprint (SHA-256).
 *
 * @example
 * ```ts
 * buf.subarray(at, at + FINGERPRINT_SIZE)
 * ```
 */
export const FINGERPRINT_SIZE = 32

/**
 * The fingerprint of a block: SHA-256 of its used bytes (ARCHITECTURE.md, step 3). It is the
 * dedupe key and also the end-to-end checksum every read verifies.
 *
 * @example
 * ```ts
 * const fp = fingerprint(new TextEncoder().encode('Hello World!')) // 32-byte Buffer
 * ```
 */
export function fingerprint(block: Uint8Array): Buffer {
  return createHash('sha256').update(block).digest()
}
