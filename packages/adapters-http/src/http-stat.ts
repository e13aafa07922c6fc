import {
  baseName,
  isPStorageError,
  mimeTypeOf,
  parentPath,
  type StorageFile,
  toApiPath,
} from '@pstorage/core'
import { httpError, statusError } from './errors.js'
import { discard } from './http-client.js'
import {
  contentLength,
  countItems,
  dateHeader,
  describeEntries,
  fetchIndex,
  type HttpContext,
  type IndexPage,
} from './http-index.js'
import { entryUrl } from './urls.js'

/**
 * The `StorageFile` at the normalised path `rel`. The root is its own index; any other
 * entry is looked up in its parent's index and described exactly as `list` describes it,
 * so the two agree (HTML indexes state times to the minute, a `HEAD` would not). A missing
 * parent, or a parent that is a file, means `not_found`. Only when the parent cannot be
 * listed (401/403, or not an index) does a `HEAD` of the path itself answer.
 *
 * @example
 * ```ts
 * const file = await statPath(ctx, 'isos/alpine.iso')
 * ```
 */
export async function statPath(ctx: HttpContext, rel: string): Promise<StorageFile> {
  if (rel === '') {
    const page = await fetchIndex(ctx, '')
    return {
      name: '',
      path: '/',
      type: 'directory',
      size: null,
      mime_type: null,
      modified_at: (page.lastModified ?? page.seen).toISOString(),
      item_count: page.entries.length,
    }
  }
  const missing = (cause?: unknown) =>
    httpError('not_found', `${toApiPath(rel)} not found`, { cause })
  const parent = parentPath(rel)
  let page: IndexPage
  try {
    page = await fetchIndex(ctx, parent)
  } catch (error) {
    if (isPStorageError(error, 'not_found') || isPStorageError(error, 'bad_request'))
      throw missing(error)
    if (isPStorageError(error, 'forbidden') || isPStorageError(error, 'not_applicable'))
      return statByHead(ctx, rel)
    throw error
  }
  const entry = page.entries.find((e) => e.name === baseName(rel))
  if (!entry) throw missing()
  const [file] = await describeEntries(ctx, parent, [entry], page, true)
  if (!file) throw missing()
  return file
}

/** `stat` when the parent cannot be listed: what a `HEAD` of the path says. */
async function statByHead(ctx: HttpContext, rel: string): Promise<StorageFile> {
  const what = toApiPath(rel)
  const ex = await ctx.client.send(entryUrl(ctx.config.base, rel, false), { method: 'HEAD' })
  discard(ex)
  const { response } = ex
  const modified = dateHeader(response, 'last-modified') ?? dateHeader(response, 'date')
  const name = baseName(rel)
  const common = { name, path: what, modified_at: (modified ?? new Date()).toISOString() }
  if (ex.slashRedirect) {
    const item_count = await countItems(ctx, rel)
    return { ...common, type: 'directory', size: null, mime_type: null, item_count }
  }
  if (response.status < 200 || response.status >= 300) throw statusError(response.status, what)
  const size = contentLength(response)
  if (size === undefined)
    throw httpError('service_unavailable', `The server did not state the size of ${what}`)
  return { ...common, type: 'file', size, mime_type: mimeTypeOf(name), item_count: null }
}
