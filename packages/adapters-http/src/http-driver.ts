import {
  type BackendDriver,
  type ConnectionTestResult,
  decodeListCursor,
  isPStorageError,
  normalizeBackendPath,
  paginate,
  resolveListLimit,
  resolveRange,
} from '@pstorage/core'
import { DRIVER_NAME, httpError } from './errors.js'
import { createHttpClient, discard } from './http-client.js'
import { describeEntries, fetchIndex, type HttpContext } from './http-index.js'
import { openRead } from './http-read.js'
import { statPath } from './http-stat.js'
import { crawlStats } from './http-stats.js'
import { type HttpDriverOptions, resolveHttpOptions } from './options.js'

/**
 * A read-only backend over a web server's directory indexes: nginx `autoindex` (HTML or
 * `autoindex_format json`), Apache `mod_autoindex` (fancy table, `<pre>` or plain list), and
 * pages shaped like them. Files are downloaded with `Range`, streamed, never buffered.
 *
 * Decisions:
 * - The index is the source of an entry's metadata, for `list` and `stat` alike, so both
 *   always agree: `stat` of `/a/b` reads the index of `/a` (one GET) and finds `b` in it
 *   (`statPath`). HTML indexes state times to the minute; a `HEAD` completes files whose
 *   size is rounded or missing, and then its Last-Modified is used.
 * - `mime_type` and `content_type` come from the extension, never from the server.
 * - A `GET /dir` redirected to `/dir/` marks a directory; a `GET /file/` answered 404 is
 *   told from a missing path by a `HEAD` (nginx and Apache behave so).
 * - Security (security.md, API7/API10): see `createHttpClient` for redirects, credentials
 *   and `checkAddress`, `entryUrl` for why no request leaves the base URL, and the parser for
 *   how hostile index pages are bounded and sanitised.
 *
 * @example
 * ```ts
 * const driver = createHttpDriver({ url: 'https://mirror.example.com/isos/', timeoutMs: 10_000 })
 * const { items } = await driver.list('/')
 * const { stream } = await driver.read('/alpine.iso', { offset: 0, length: 2048 })
 * ```
 */
export function createHttpDriver(options: HttpDriverOptions): BackendDriver {
  const config = resolveHttpOptions(options)
  const ctx: HttpContext = Object.freeze({ config, client: createHttpClient(config) })
  let closed = false

  /** Normalises an API path before any request; a closed driver refuses everything. */
  function pathOf(input: string): string {
    if (closed) throw httpError('service_unavailable', 'The driver is closed')
    return normalizeBackendPath(input)
  }

  async function test(): Promise<ConnectionTestResult> {
    if (closed) throw httpError('service_unavailable', 'The driver is closed')
    const started = performance.now()
    const latency = () => Math.round((performance.now() - started) * 1000) / 1000
    try {
      let ex = await ctx.client.send(config.base, { method: 'HEAD' })
      discard(ex)
      // Some servers and CDNs refuse HEAD (RFC 9110 §9.3.2 makes it optional): try GET.
      if (ex.response.status === 405 || ex.response.status === 501) {
        ex = await ctx.client.send(config.base, { method: 'GET' })
        discard(ex)
      }
      const { status } = ex.response
      const details = { status }
      if (status >= 200 && status < 300)
        return { ok: true, latency_ms: latency(), message: 'Connected', details }
      return { ok: false, latency_ms: latency(), message: failedStatus(status), details }
    } catch (error) {
      const message = isPStorageError(error)
        ? error.message.replace(/^\[pstorage\] \[http\] /, '')
        : 'The server could not be reached'
      const details = isPStorageError(error) && error.details ? { ...error.details } : undefined
      return { ok: false, latency_ms: latency(), message, ...(details ? { details } : {}) }
    }
  }

  const driver: BackendDriver = {
    name: DRIVER_NAME,
    capabilities: Object.freeze({ write: false, rangeRead: true, move: false, stats: true }),
    test,

    async list(path, options = {}) {
      const rel = pathOf(path)
      resolveListLimit(options.limit)
      if (options.cursor !== undefined) decodeListCursor(options.cursor)
      const page = await fetchIndex(ctx, rel)
      const { page: entries, next_cursor } = paginate(page.entries, options)
      const directories = entries.filter((e) => e.type === 'directory').length
      const counts = directories > 0 && directories <= config.maxItemCounts
      const items = await describeEntries(ctx, rel, entries, page, counts)
      return next_cursor === undefined ? { items } : { items, next_cursor }
    },

    async stat(path) {
      return statPath(ctx, pathOf(path))
    },

    async read(path, options = {}) {
      const rel = pathOf(path)
      resolveRange(Number.MAX_SAFE_INTEGER, options) // refuse bad numbers before any request
      return openRead(ctx, rel, options)
    },

    async stats() {
      if (closed) throw httpError('service_unavailable', 'The driver is closed')
      return crawlStats(ctx)
    },

    async close() {
      closed = true
      ctx.client.close()
    },
  }
  return Object.freeze(driver)
}

function failedStatus(status: number): string {
  if (status === 401 || status === 403)
    return `Access denied (HTTP ${status}): check the username and password`
  if (status === 404) return 'The base URL was not found (HTTP 404)'
  return `The server answered HTTP ${status}`
}
