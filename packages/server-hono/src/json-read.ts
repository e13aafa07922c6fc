import type { BufferPool } from '@pstorage/core'

/**
 * The body of a JSON read (`GET /api/v1/volumes/{id}/read`) built straight into a reused
 * buffer: the base64 is encoded into the buffer that goes to the socket, with no string in
 * between. A string of up to 22 MB per call, copied again into the socket's own buffer,
 * was what kept the garbage collector of a busy server running (a fifth of its time).
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
/** Two base64 characters per 12 bits, as one little-endian 16-bit store. */
const PAIRS = (() => {
  const codes = new TextEncoder().encode(ALPHABET)
  const pairs = new Uint16Array(4096)
  for (let i = 0; i < 4096; i++) pairs[i] = codes[i >> 6]! | (codes[i & 63]! << 8)
  return pairs
})()
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Length of the padded base64 of `bytes` bytes. */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4
}

/**
 * Writes the padded base64 of `src` into `out` at `at` (which must be even, `out` starting
 * at an even offset of its buffer); returns the end. The same bytes `toString('base64')`
 * gives.
 *
 * @example
 * ```ts
 * encodeBase64Into(Buffer.from('abc'), out, 0) // out now starts with 'YWJj'; returns 4
 * ```
 */
export function encodeBase64Into(src: Uint8Array, out: Buffer, at: number): number {
  const whole = src.length - (src.length % 3)
  if (LITTLE_ENDIAN && (out.byteOffset + at) % 2 === 0) {
    const words = new Uint16Array(out.buffer, out.byteOffset + at, (whole / 3) * 2)
    let w = 0
    for (let i = 0; i < whole; i += 3) {
      const v = (src[i]! << 16) | (src[i + 1]! << 8) | src[i + 2]!
      words[w++] = PAIRS[v >>> 12]!
      words[w++] = PAIRS[v & 4095]!
    }
    at += w * 2
  } else {
    at += out.write(Buffer.from(src.buffer, src.byteOffset, whole).toString('base64'), at, 'latin1')
  }
  if (whole < src.length) {
    const rest = Buffer.from(src.buffer, src.byteOffset + whole, src.length - whole)
    at += out.write(rest.toString('base64'), at, 'latin1')
  }
  return at
}

/**
 * The JSON document of a read, `{"volume_id":…,"offset":…,"size":…,"data":"<base64>"}`
 * (a space before `"data"` when it keeps the base64 at an even offset, for the 16-bit
 * stores), in a (non-shared) buffer from `pool`.
 *
 * @example
 * ```ts
 * const body = readDocument(new BufferPool(8 << 20, { shared: false }), 'v1', 0, bytes)
 * ```
 */
export function readDocument(
  pool: BufferPool,
  volumeId: string,
  offset: number,
  bytes: Uint8Array,
): Buffer {
  let head = Buffer.from(
    `{"volume_id":${JSON.stringify(volumeId)},"offset":${offset},"size":${bytes.length},"data":"`,
  )
  if (head.length % 2 === 1) {
    head = Buffer.from(
      `{"volume_id":${JSON.stringify(volumeId)},"offset":${offset},"size":${bytes.length}, "data":"`,
    )
  }
  const view = pool.take(head.length + base64Length(bytes.length) + 2)
  const body = Buffer.from(view.buffer, view.byteOffset, view.length)
  let at = head.copy(body, 0)
  at = encodeBase64Into(bytes, body, at)
  body.write('"}', at, 'latin1')
  return body
}
