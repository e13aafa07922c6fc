import { PStorageError } from '@pstorage/core'

/** A resolved byte range: `length` bytes from `start`. */
export interface ByteRange {
  readonly start: number
  readonly length: number
}

const DIGITS = /^\d{1,16}$/

/**
 * Parses a `Range` header against a resource of `size` bytes (RFC 9110 §14.1.2): one range
 * of `bytes=a-b`, `bytes=a-` or `bytes=-n`. Returns `undefined` for no header; throws
 * `range_not_satisfiable` (416) for a range outside the resource, and `bad_request` for a
 * malformed header or several ranges (not supported).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!match) {
    const detail = header.includes(',')
      ? 'Only a single byte range is supported'
      : `Malformed Range header '${header}'`
    throw new PStorageError('bad_request', detail)
  }
  const [, first = '', last = ''] = match
  if ((first && !DIGITS.test(first)) || (last && !DIGITS.test(last)) || (!first && !last)) {
    throw new PStorageError('bad_request', `Malformed Range header '${header}'`)
  }
  if (!first) {
    const suffix = Math.min(Number(last), size)
    if (suffix === 0) throw unsatisfiable(size)
    return { start: size - suffix, length: suffix }
  }
  const start = Number(first)
  const end = last ? Math.min(Number(last), size - 1) : size - 1
  if (start >= size || (last && Number(last) < start)) throw unsatisfiable(size)
  return { start, length: end - start + 1 }
}

function unsatisfiable(size: number): PStorageError {
  return new PStorageError('range_not_satisfiable', `The resource has ${size} bytes`, {
    details: { size },
  })
}

/**
 * Parses the `Content-Range` of an upload, `bytes a-b/total` or `bytes a-b/*`, into the
 * range it writes; its length must match `Content-Length`.
 */
export function parseContentRange(header: string, contentLength: number): ByteRange {
  const match = /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/.exec(header.trim())
  if (!match) throw new PStorageError('bad_request', `Malformed Content-Range header '${header}'`)
  const start = Number(match[1])
  const end = Number(match[2])
  if (end < start || end - start + 1 !== contentLength) {
    throw new PStorageError(
      'bad_request',
      `Content-Range ${header} does not match Content-Length ${contentLength}`,
    )
  }
  return { start, length: contentLength }
}
