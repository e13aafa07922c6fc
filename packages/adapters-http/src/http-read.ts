import {
  baseName,
  mimeTypeOf,
  type ReadOptions,
  type ReadResult,
  resolveRange,
  toApiPath,
} from '@pstorage/core'
import { httpError, statusError } from './errors.js'
import { discard, type HttpExchange } from './http-client.js'
import { contentLength, type HttpContext, probe } from './http-index.js'
import { entryUrl } from './urls.js'

// RFC 9110 §14.4: `bytes first-last/complete-length`; this driver needs the length.
const CONTENT_RANGE = /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16})$/
// RFC 9110 §15.5.17: a 416 states the current length as `bytes */length`.
const UNSATISFIED_RANGE = /^bytes \*\/(\d{1,16})$/

function emptyRead(size: number, offset: number, content_type: string): ReadResult {
  return { stream: (async function* () {})(), size, offset, length: 0, content_type }
}

/** The `Range` header for `options`, if the read is not of the whole file. */
function rangeHeader(options: ReadOptions): Record<string, string> {
  const { offset = 0, length } = options
  if (offset === 0 && length === undefined) return {}
  return { range: `bytes=${offset}-${length === undefined ? '' : offset + length - 1}` }
}

/**
 * Opens the file at `rel` (normalised, not the root) for streaming: one `GET`, with `Range`
 * unless the whole file is wanted, and `Accept-Encoding: identity` so byte offsets are file
 * offsets. Answers:
 * - 206: `Content-Range` must be `bytes a-b/size` and cover the wanted bytes (a wider range
 *   is trimmed); a multipart or unparseable answer is refused;
 * - 200: the server ignored `Range` (RFC 9110 §14.2 lets it): the stream skips to the offset
 *   and stops after the length, dropping the rest of the body;
 * - 416: fine only for `offset === size` (an empty read; HTTP cannot ask for zero bytes),
 *   else `range_not_satisfiable`;
 * - a redirect to `rel/`: a directory, `bad_request`.
 * A zero-`length` read is a `HEAD`. Sizes come from `Content-Range` or `Content-Length`; an
 * answer with neither, or a compressed one, is refused rather than guessed at.
 *
 * @example
 * ```ts
 * const { stream, size } = await openRead(ctx, 'isos/a.iso', { offset: 512, length: 4096 })
 * ```
 */
export async function openRead(
  ctx: HttpContext,
  rel: string,
  options: ReadOptions,
): Promise<ReadResult> {
  const what = toApiPath(rel)
  const content_type = mimeTypeOf(baseName(rel))
  const isDirectory = () => httpError('bad_request', `${what} is a directory`)
  const { offset = 0 } = options
  if (rel === '') throw isDirectory()
  if (options.length === 0) {
    const found = await probe(ctx, rel)
    if (found.kind !== 'file')
      throw found.kind === 'directory' ? isDirectory() : httpError('not_found', `${what} not found`)
    const size = requireSize(contentLength(found.response), what)
    resolveRange(size, options) // offset > size: range_not_satisfiable
    return emptyRead(size, offset, content_type)
  }
  const ex = await ctx.client.send(entryUrl(ctx.config.base, rel, false), {
    method: 'GET',
    headers: { 'accept-encoding': 'identity', ...rangeHeader(options) },
  })
  try {
    return await answer(ex)
  } catch (error) {
    discard(ex)
    throw error
  }

  async function answer(ex: HttpExchange): Promise<ReadResult> {
    const { response } = ex
    if (ex.slashRedirect) throw isDirectory()
    const coding = response.headers.get('content-encoding')
    if (response.status < 300 && coding !== null && coding.trim().toLowerCase() !== 'identity')
      throw httpError('service_unavailable', `The server sent ${what} compressed`)
    if (response.status === 200) {
      const size = requireSize(contentLength(response), what)
      const want = resolveRange(size, options)
      const stream = ex.body({
        skip: want.offset,
        length: want.length,
        exact: want.offset + want.length === size,
        what,
      })
      return { stream, size, ...want, content_type, ownedChunks: ex.ownedChunks }
    }
    if (response.status === 206) {
      const range = CONTENT_RANGE.exec(response.headers.get('content-range') ?? '')
      const [first, last, size] = range ? range.slice(1).map(Number) : []
      if (first === undefined || last === undefined || size === undefined || last < first)
        throw httpError(
          'service_unavailable',
          `The server sent an invalid Content-Range for ${what}`,
        )
      const want = resolveRange(size, options)
      const length = contentLength(response)
      if (
        last >= size ||
        first > want.offset ||
        last < want.offset + want.length - 1 ||
        (length !== undefined && length !== last - first + 1)
      )
        throw httpError('service_unavailable', `The server sent the wrong range of ${what}`)
      const stream = ex.body({
        skip: want.offset - first,
        length: want.length,
        exact: length !== undefined && want.offset + want.length === last + 1,
        what,
      })
      return { stream, size, ...want, content_type, ownedChunks: ex.ownedChunks }
    }
    if (response.status === 416) {
      discard(ex)
      const stated = UNSATISFIED_RANGE.exec(response.headers.get('content-range') ?? '')?.[1]
      const size = stated !== undefined ? Number(stated) : await sizeByHead()
      const want = resolveRange(size, options) // offset > size: range_not_satisfiable
      if (want.length === 0) return emptyRead(size, want.offset, content_type)
      throw httpError('service_unavailable', `The server refused a valid range of ${what}`)
    }
    throw statusError(response.status, what)
  }

  async function sizeByHead(): Promise<number> {
    const found = await probe(ctx, rel)
    if (found.kind !== 'file') throw httpError('not_found', `${what} not found`)
    return requireSize(contentLength(found.response), what)
  }
}

function requireSize(size: number | undefined, what: string): number {
  if (size === undefined)
    throw httpError('service_unavailable', `The server did not state the size of ${what}`)
  return size
}
