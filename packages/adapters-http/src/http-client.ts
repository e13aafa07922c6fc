import { isPStorageError, type PStorageError } from '@pstorage/core'
import { httpError } from './errors.js'
import type { ResolvedHttpOptions } from './options.js'
import { isBelowBase } from './urls.js'

/** One answered request; its body, if any, is the caller's to consume or {@link discard}. */
export interface HttpExchange {
  readonly response: Response
  /** The URL that answered, after same-origin redirects. */
  readonly url: URL
  /**
   * The server redirected `url` to `url + '/'`: the path is a directory (nginx and Apache
   * answer so for `GET /dir`). That redirect is reported, not followed.
   */
  readonly slashRedirect: boolean
  /**
   * Arms the timeout for one wait on the server: body readers call it before each
   * `reader.read()` and {@link HttpExchange.disarm} after, so a slow consumer (backpressure)
   * never counts as a slow server.
   */
  arm(): void
  /** Stops the timer (after each chunk, and once the body is consumed or cancelled). */
  disarm(): void
  /** The `PStorageError` for a failure while reading the body (timeout, reset). */
  bodyError(error: unknown): PStorageError
}

/** A request of {@link HttpClient.send}. */
export interface SendOptions {
  readonly method: 'GET' | 'HEAD'
  readonly headers?: Readonly<Record<string, string>>
}

/** Sends requests below the base URL; see {@link createHttpClient}. */
export interface HttpClient {
  send(url: URL, options: SendOptions): Promise<HttpExchange>
}

// RFC 9110 §15.4: the redirections that carry a Location to follow (304 and 300 do not).
const REDIRECTS = new Set([301, 302, 303, 307, 308])
// Node's TLS and OpenSSL error codes: certificate problems and failed handshakes.
const TLS_CODE =
  /^(ERR_SSL_|ERR_TLS_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/

/** A timer that aborts a request when it is not re-armed within `ms`. */
class IdleTimer {
  readonly #ms: number
  readonly #onTimeout: () => void
  #timer: ReturnType<typeof setTimeout> | undefined
  timedOut = false

  constructor(ms: number, onTimeout: () => void) {
    this.#ms = ms
    this.#onTimeout = onTimeout
  }

  touch(): void {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.timedOut = true
      this.#onTimeout()
    }, this.#ms)
  }

  stop(): void {
    clearTimeout(this.#timer)
  }
}

/** The first string `code` (or `bad port` message) along an error's `cause` chain. */
function codeOf(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const { code, message, cause, errors } = current as {
      code?: unknown
      message?: unknown
      cause?: unknown
      errors?: unknown
    }
    if (typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code)) return code
    if (message === 'bad port') return 'BAD_PORT'
    current = cause ?? (Array.isArray(errors) ? errors[0] : undefined)
  }
  return undefined
}

/**
 * Maps a fetch or body failure to a `service_unavailable` with a summary safe to show:
 * the code (`ECONNREFUSED`, `CERT_HAS_EXPIRED`), never the native message, which names
 * addresses. The native error stays the `cause`.
 */
function networkError(error: unknown, timedOut: boolean, timeoutMs: number): PStorageError {
  if (isPStorageError(error)) return error
  const fail = (detail: string, code?: string) =>
    httpError('service_unavailable', detail, {
      cause: error,
      ...(code ? { details: { code } } : {}),
    })
  if (timedOut) return fail(`The server did not answer within ${timeoutMs} ms`, 'TIMEOUT')
  const code = codeOf(error)
  if (code === undefined) return fail('The server could not be reached')
  if (code === 'ECONNREFUSED') return fail('The server refused the connection', code)
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return fail('The host name does not resolve', code)
  if (code === 'ETIMEDOUT' || (code.startsWith('UND_ERR_') && code.includes('TIMEOUT')))
    return fail('The connection timed out', code)
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE')
    return fail('The server closed the connection', code)
  if (code === 'BAD_PORT')
    return fail('fetch refuses this port (the Fetch standard\'s "bad ports")', code)
  if (TLS_CODE.test(code)) return fail(`The TLS handshake failed (${code})`, code)
  return fail(`The server could not be reached (${code})`, code)
}

/**
 * The transport of the HTTP driver, enforcing its security rules on every request
 * (security.md, API7 and API10):
 * - redirects are never followed by fetch (`redirect: 'manual'`); this follows at most
 *   `maxRedirects` of them itself, and only to URLs on the base URL's origin and below its
 *   path: another host, scheme or port, or a path outside the base, is `forbidden`;
 * - `checkAddress` runs before every request, each redirect hop included;
 * - the `Authorization` header goes only to the base URL's origin (the only origin ever
 *   requested, so the check is belt and braces);
 * - `timeoutMs` bounds the wait for headers, then each wait for a body chunk (not the time
 *   a consumer takes between chunks).
 *
 * Residual risk: `checkAddress` sees the host name, and fetch resolves it again to connect,
 * so a DNS answer that changes in between (rebinding) is not caught here. Close that gap
 * with an injected `fetch` whose dispatcher checks the resolved address at connect time.
 *
 * @example
 * ```ts
 * const client = createHttpClient(resolveHttpOptions({ url: 'https://mirror.example.com/' }))
 * const { response } = await client.send(new URL('https://mirror.example.com/a.iso'), { method: 'HEAD' })
 * ```
 */
export function createHttpClient(config: ResolvedHttpOptions): HttpClient {
  const { base, timeoutMs } = config

  async function checkHost(url: URL): Promise<void> {
    if (!config.checkAddress) return
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
    try {
      await config.checkAddress(host)
    } catch (error) {
      if (isPStorageError(error)) throw error
      throw httpError('forbidden', 'The backend host was refused by the address check', {
        cause: error,
      })
    }
  }

  function headersFor(url: URL, extra: Readonly<Record<string, string>> | undefined) {
    const headers: Record<string, string> = { ...config.headers, ...extra }
    if (config.authorization !== undefined && url.origin === base.origin)
      headers.authorization = config.authorization
    return headers
  }

  async function send(start: URL, options: SendOptions): Promise<HttpExchange> {
    const controller = new AbortController()
    const timer = new IdleTimer(timeoutMs, () => controller.abort())
    const exchange = (response: Response, url: URL, slashRedirect: boolean): HttpExchange => ({
      response,
      url,
      slashRedirect,
      arm: () => timer.touch(),
      disarm: () => timer.stop(),
      bodyError: (error) => networkError(error, timer.timedOut, timeoutMs),
    })
    let url = start
    try {
      for (let hop = 0; ; hop++) {
        if (!isBelowBase(base, url))
          throw httpError('internal_error', 'A request URL escaped the base URL')
        await checkHost(url)
        timer.touch()
        const response = await config.fetch(url, {
          method: options.method,
          headers: headersFor(url, options.headers),
          redirect: 'manual',
          signal: controller.signal,
        })
        const location = REDIRECTS.has(response.status) ? response.headers.get('location') : null
        if (location === null) {
          timer.stop() // the body, if read, is timed per chunk by its reader
          return exchange(response, url, false)
        }
        await response.body?.cancel().catch(() => undefined)
        const target = redirectTarget(location, url)
        if (target.pathname === `${url.pathname}/`) {
          timer.stop()
          return exchange(response, url, true)
        }
        if (hop >= config.maxRedirects)
          throw httpError('service_unavailable', `Too many redirects (over ${config.maxRedirects})`)
        url = target
      }
    } catch (error) {
      timer.stop()
      throw networkError(error, timer.timedOut, timeoutMs)
    }
  }

  /** The URL a `Location` names, if this driver may follow it. */
  function redirectTarget(location: string, from: URL): URL {
    let target: URL
    try {
      target = new URL(location, from)
    } catch {
      throw httpError('service_unavailable', 'The server sent an invalid redirect')
    }
    if (target.origin !== base.origin || target.username !== '' || target.password !== '')
      throw httpError(
        'forbidden',
        'The server redirected to another host, port or scheme; only redirects within the base URL are followed',
      )
    if (!isBelowBase(base, target))
      throw httpError(
        'forbidden',
        'The server redirected outside the base URL; only redirects within it are followed',
      )
    return target
  }

  return Object.freeze({ send })
}

/**
 * Cancels the body of an exchange that is not read, releasing its connection.
 *
 * @example
 * ```ts
 * if (ex.response.status !== 200) { discard(ex); throw statusError(ex.response.status, what) }
 * ```
 */
export function discard(exchange: HttpExchange): void {
  exchange.disarm()
  exchange.response.body?.cancel().catch(() => undefined)
}
