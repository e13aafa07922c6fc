import { randomBytes } from 'node:crypto'
import { backendError, pathSegments } from '@pstorage/core'
import { DRIVER_NAME } from '../driver-name.js'

/**
 * Prefix of in-flight upload files: hidden from listings, refused as a name. The same as
 * core's local driver, so a tree written by either mode looks the same to the other.
 *
 * @example
 * ```ts
 * name.startsWith(TEMP_PREFIX) // an upload in progress (or abandoned by a crash)
 * ```
 */
export const TEMP_PREFIX = '.pstorage-tmp-'
const TEMP_PREFIX_BYTES = Buffer.from(TEMP_PREFIX)

/**
 * A fresh temp name (64 random bits) as NFS name bytes.
 *
 * @example
 * ```ts
 * await nfs.create(dir, tempName(), { mode: 'guarded', attrs: { mode: 0o644 } })
 * ```
 */
export function tempName(): Buffer {
  return Buffer.from(`${TEMP_PREFIX}${randomBytes(8).toString('hex')}`)
}

/**
 * True for a raw directory entry name of an upload in flight.
 *
 * @example
 * ```ts
 * isTempName(Buffer.from('.pstorage-tmp-0a1b')) // true
 * ```
 */
export function isTempName(name: Uint8Array): boolean {
  return Buffer.from(name.buffer, name.byteOffset, name.byteLength)
    .subarray(0, TEMP_PREFIX_BYTES.length)
    .equals(TEMP_PREFIX_BYTES)
}

/**
 * Refuses names that collide with in-flight upload files.
 *
 * @example
 * ```ts
 * assertNotReserved('a/.pstorage-tmp-x') // throws bad_request
 * ```
 */
export function assertNotReserved(rel: string): void {
  if (pathSegments(rel).some((s) => s.startsWith(TEMP_PREFIX)))
    throw backendError(
      DRIVER_NAME,
      'bad_request',
      `Names starting with ${TEMP_PREFIX} are reserved`,
    )
}
