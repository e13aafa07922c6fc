import { isPStorageError, mimeTypeOf, type StorageFile, toApiPath } from '@pstorage/core'
import { readIndexText } from './body.js'
import { httpError, statusError } from './errors.js'
import { discard, type HttpClient } from './http-client.js'
import { type IndexEntry, indexFormatOf, parseDirectoryIndex } from './index-parser.js'
import type { ResolvedHttpOptions } from './options.js'
import { entryUrl } from './urls.js'

/** What the driver's operations share: its options and its transport. */
export interface HttpContext {
  readonly config: ResolvedHttpOptions
  readonly client: HttpClient
}

/** A fetched directory index. */
export interface IndexPage {
  readonly entries: readonly IndexEntry[]
  /** The response's `Date` (else the local clock): the time of entries that state none. */
  readonly seen: Date
  readonly lastModified?: Date
}

/** A file as a `HEAD` describes it. */
export interface HeadInfo {
  readonly size: number
  readonly modified?: Date
}

/** Requests made at once when completing entries or counting directories. */
export const CONCURRENCY = 4
const ACCEPT_INDEX = 'text/html, application/json;q=0.9, */*;q=0.1'

/**
 * An HTTP-date header (RFC 9110 §5.6.7) as a Date, if present and valid.
 *
 * @example
 * ```ts
 * const modified = dateHeader(response, 'last-modified')
 * ```
 */
export function dateHeader(response: Response, name: string): Date | undefined {
  const value = response.headers.get(name)
  const ms = value === null ? Number.NaN : Date.parse(value)
  return Number.isFinite(ms) ? new Date(ms) : undefined
}

/**
 * The Content-Length of a response, if it is a plain byte count.
 *
 * @example
 * ```ts
 * const size = contentLength(head.response) // undefined for a chunked answer
 * ```
 */
export function contentLength(response: Response): number | undefined {
  const value = response.headers.get('content-length')?.trim()
  if (value === undefined || !/^\d{1,16}$/.test(value)) return undefined
  const n = Number(value)
  return Number.isSafeInteger(n) ? n : undefined
}

/**
 * Runs `fn` over `items`, at most `limit` at a time, keeping the order of the results.
 *
 * @example
 * ```ts
 * const sizes = await mapLimit(paths, 4, (p) => headFile(ctx, p))
 * ```
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

/**
 * What is at `rel` according to a `HEAD` of its slash-less URL: a file, a directory (the
 * server redirected to the slash form), or nothing. Other statuses throw.
 *
 * @example
 * ```ts
 * if ((await probe(ctx, 'a.txt')).kind === 'file') throw notADirectory
 * ```
 */
export async function probe(
  ctx: HttpContext,
  rel: string,
): Promise<{ kind: 'file'; response: Response } | { kind: 'directory' | 'missing' }> {
  const ex = await ctx.client.send(entryUrl(ctx.config.base, rel, false), { method: 'HEAD' })
  discard(ex)
  if (ex.slashRedirect) return { kind: 'directory' }
  const { status } = ex.response
  if (status >= 200 && status < 300) return { kind: 'file', response: ex.response }
  if (status === 404 || status === 410) return { kind: 'missing' }
  throw statusError(status, toApiPath(rel))
}

/**
 * The size and time of the file at `rel` by `HEAD`, or `undefined` if it is not a readable
 * file with a Content-Length (such entries are not listed: they could not be downloaded
 * with a size). Network failures still throw.
 *
 * @example
 * ```ts
 * const info = await headFile(ctx, 'isos/a.iso')
 * ```
 */
export async function headFile(ctx: HttpContext, rel: string): Promise<HeadInfo | undefined> {
  const found = await probe(ctx, rel).catch((error: unknown) => {
    if (isPStorageError(error) && error.code !== 'service_unavailable') return undefined
    throw error
  })
  if (found?.kind !== 'file') return undefined
  const size = contentLength(found.response)
  if (size === undefined) return undefined
  const modified = dateHeader(found.response, 'last-modified')
  return modified ? { size, modified } : { size }
}

/**
 * Fetches and parses the index of the directory `rel` (`GET <base>/<rel>/`).
 * `not_found` if nothing is there, `bad_request` if `rel` is a file (nginx and Apache answer
 * 404 to `GET /file/`, so a `HEAD` tells the two apart), `forbidden` on 401/403,
 * `not_applicable` if the answer is neither HTML nor JSON.
 *
 * @example
 * ```ts
 * const { entries } = await fetchIndex(ctx, 'isos')
 * ```
 */
export async function fetchIndex(ctx: HttpContext, rel: string): Promise<IndexPage> {
  const what = toApiPath(rel)
  const ex = await ctx.client.send(entryUrl(ctx.config.base, rel, true), {
    method: 'GET',
    headers: { accept: ACCEPT_INDEX },
  })
  const { response } = ex
  if (response.status === 200) {
    const format = indexFormatOf(response.headers.get('content-type'))
    if (format === undefined) {
      discard(ex)
      throw httpError('not_applicable', `The server's answer for ${what} is not a directory index`)
    }
    const text = await readIndexText(ex, ctx.config.maxIndexBytes, what)
    const lastModified = dateHeader(response, 'last-modified')
    return {
      entries: parseDirectoryIndex(format, text),
      seen: dateHeader(response, 'date') ?? new Date(),
      ...(lastModified ? { lastModified } : {}),
    }
  }
  discard(ex)
  if (response.status !== 404 && response.status !== 410) throw statusError(response.status, what)
  if (rel === '')
    throw httpError('service_unavailable', 'The base URL answered HTTP 404', {
      details: { status: response.status },
    })
  if ((await probe(ctx, rel)).kind === 'file')
    throw httpError('bad_request', `${what} is not a directory`)
  throw httpError('not_found', `${what} not found`)
}

/**
 * Entries a `list` of `rel` would return, or `null` when that cannot be known (the index is
 * refused, too large, or the server failed): a count must not fail the listing it decorates.
 *
 * @example
 * ```ts
 * const item_count = await countItems(ctx, 'isos')
 * ```
 */
export async function countItems(ctx: HttpContext, rel: string): Promise<number | null> {
  try {
    return (await fetchIndex(ctx, rel)).entries.length
  } catch (error) {
    if (isPStorageError(error)) return null
    throw error
  }
}

/**
 * The `StorageFile`s of index entries of the directory `parent`, in order. Files whose size
 * the index does not state exactly (Apache's `1.2K`, nginx with `autoindex_exact_size off`,
 * lists without sizes) or that have no time get one `HEAD`, `CONCURRENCY` at a time, and its
 * Content-Length and Last-Modified; entries that `HEAD` does not confirm are dropped.
 * With `counts`, directories get `item_count` from their own index.
 *
 * @example
 * ```ts
 * const items = await describeEntries(ctx, 'isos', page.entries.slice(0, 10), page, false)
 * ```
 */
export async function describeEntries(
  ctx: HttpContext,
  parent: string,
  entries: readonly IndexEntry[],
  page: IndexPage,
  counts: boolean,
): Promise<StorageFile[]> {
  const described = await mapLimit(entries, CONCURRENCY, async (entry) => {
    const rel = parent === '' ? entry.name : `${parent}/${entry.name}`
    const common = { name: entry.name, path: toApiPath(rel) }
    if (entry.type === 'directory') {
      return {
        ...common,
        type: 'directory',
        size: null,
        mime_type: null,
        modified_at: (entry.modified ?? page.seen).toISOString(),
        item_count: counts ? await countItems(ctx, rel) : null,
      } satisfies StorageFile
    }
    let { size, modified } = entry
    if (size === undefined || modified === undefined) {
      const head = await headFile(ctx, rel)
      if (!head) return undefined
      size = head.size
      modified = head.modified ?? modified
    }
    return {
      ...common,
      type: 'file',
      size,
      // From the extension, never the server's Content-Type: the remote side must not pick
      // the type PStorage serves the bytes under (`text/html` would be stored XSS).
      mime_type: mimeTypeOf(entry.name),
      modified_at: (modified ?? page.seen).toISOString(),
      item_count: null,
    } satisfies StorageFile
  })
  return described.filter((f) => f !== undefined)
}
