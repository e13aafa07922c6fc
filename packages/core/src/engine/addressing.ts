import { PStorageError } from '../errors.js'
import { BLOCK_SIZE } from '../ports/block-engine.js'

/**
 * Checks a write's addressing against the `BlockEngine` contract: a length that is a
 * non-negative integer (a `writeFrom` caller gives it as a number), a non-negative,
 * block-aligned offset (seeds/001: "must be block-aligned to 4096") and no byte past the
 * volume's end. Every engine calls it before touching anything.
 *
 * @example
 * ```ts
 * checkWrite(4096, data.length, volumeSize) // throws bad_request when out of bounds
 * ```
 */
export function checkWrite(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new PStorageError('bad_request', `Length must be a non-negative integer, got ${length}`)
  }
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new PStorageError('bad_request', `Offset must be a non-negative integer, got ${offset}`)
  }
  if (offset % BLOCK_SIZE !== 0) {
    throw new PStorageError('bad_request', `Offset must be aligned to block size (${BLOCK_SIZE})`)
  }
  if (offset + length > size) {
    throw new PStorageError(
      'bad_request',
      `Write of ${length} bytes at offset ${offset} goes past the end of the volume (${size} bytes)`,
    )
  }
}

/**
 * Checks a read's addressing: a non-negative offset and length that stay within the volume.
 *
 * @example
 * ```ts
 * checkRead(0, 12, volumeSize)
 * ```
 */
export function checkRead(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new PStorageError('bad_request', 'Offset and length must be non-negative integers')
  }
  if (offset > size || offset + length > size) {
    throw new PStorageError(
      'bad_request',
      `Read of ${length} bytes at offset ${offset} goes past the end of the volume (${size} bytes)`,
    )
  }
}
