import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { isPStorageError, type PStorageError } from '@pstorage/core'
import { BodyStream, type BodyWindow } from './body.js'
import { httpError } from './errors.js'
import { destroyAgents, nodeAgents, nodeRequest } from './node-request.js'
import type { FetchLike, ResolvedHttpOptions } from './options.js'
import { isBelowBase } from './urls.js'

/** One answered request; its body, if any, is the caller's to read or {@link discard}. */
export interface HttpExchange {
  /** Status and headers. Its `body` is not used: the body is {@link HttpExchange.body}. */
  readonly response: Response
  /** The URL that answered, after same-origin redirects. */
  readonly url: URL
  /**
   * The server redirected `url` to `url + '/'`: the path is a directory (nginx and Apache
   * answer so for `GET /dir`). That redirect is reported, not followed.
   */
  readonly slashRedirect: boolean
  /**
   * Each chunk of {@link HttpExchange.body} is a view of a buffer that nothing else holds
   * (a socket read's for core's `Http1Agent`; node:http's parser copies every piece of a
   * body into one of its own): true for the default transport, false for an injected `fetch`.
   */
  readonly ownedChunks: boolean
  /**
   * The body as a Node stream (once), cut to `window`, timed and with failures mapped: see
   * {@link BodyStream}.
   */
  body(window?: BodyWindow): Readable
  /** Drops the body if it was not taken (see {@link discard}). */
  discard(): void
}

/** An answer of a transport: status and headers, and the body as a Node stream. */
interface Answer {
  readonly response: Response
  readonly body: Readable | null
}

/** A request of {@link HttpClient.send}. */
export interface SendOptions {
  readonly method: 'GET' | 'HEAD'
  readonly headers?: Readonly<Record<string, string>>
}

/** Sends requests below the base URL; see {@link createHttpClient}. */
export interface HttpClient {
  send(url: URL, options: SendOptions): Promise<HttpExchange>
  /** Closes the client's own idle connections (those of a `lookup` of its own). */
  close(): void
}

// RFC 9110 §15.4: the redirections that carry a Location to follow (304 and 300 do not).
const REDIRECTS = new Set([301, 302, 303, 307, 308])
// Node's TLS and OpenSSL error codes: certificate problems and failed handshakes.
const TLS_CODE =
  /^(ERR_SSL_|ERR_TLS_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/

/**
 * A timer that aborts a request when, while armed, it is not touched within `ms`. Touching
 * records the time instead of replacing the timeout (a download touches it per chunk): the
 * pending timeout, when due, looks at the last touch and waits the rest if there is any.
 * The timeout is `unref`ed: a wait on a server is held open by its socket, not by this.
 */
class IdleTimer {
  readonly #ms: number
  readonly #onTimeout: () => void
  #timer: ReturnType<typeof setTimeout> | undefined
  #armed = false
  #last = 0
  timedOut = false

  constructor(ms: number, onTimeout: () => void) {
    this.#ms = ms
    this.#onTimeout = onTimeout
  }

  /** Arms the timer, or re-arms it for `ms` from now. */
  touch(): void {
    this.#armed = true
    this.#last = performance.now()
    if (this.#timer === undefined) this.#schedule(this.#ms)
  }

  /** Disarms it (while the consumer, not the server, is the one waited on). */
  stop(): void {
    this.#armed = false
  }

  /** Disarms it and drops the pending timeout. */
  clear(): void {
    this.#armed = false
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      if (!this.#armed) return
      const idle = performance.now() - this.#last
      if (idle < this.#ms) {
        this.#schedule(this.#ms - idle)
        return
      }
      this.timedOut = true
      this.#onTimeout()
    }, ms)
    this.#timer.unref()
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
 * - with `lookup` (the server passes core's `guardedLookup`), each connection resolves its
 *   host through it, so the address connected to is the one checked: a DNS answer that
 *   changes between `checkAddress` and the connection (rebinding) is refused too. Such a
 *   client has connection pools of its own, closed by `close()`.
 *
 * Residual risk: an injected `fetch` resolves names itself; only `checkAddress` guards it.
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

  // Pools of its own only for a lookup of its own; else the process-wide ones.
  const agents = config.lookup && !config.fetch ? nodeAgents(config.lookup) : undefined
  const transport: (url: URL, init: RequestInit) => Promise<Answer> = config.fetch
    ? fetchTransport(config.fetch)
    : (url, init) => nodeRequest(url, init, agents)

  async function send(start: URL, options: SendOptions): Promise<HttpExchange> {
    const controller = new AbortController()
    const timer = new IdleTimer(timeoutMs, () => controller.abort())
    const mapError = (error: unknown) => networkError(error, timer.timedOut, timeoutMs)
    let url = start
    try {
      for (let hop = 0; ; hop++) {
        if (!isBelowBase(base, url))
          throw httpError('internal_error', 'A request URL escaped the base URL')
        await checkHost(url)
        timer.touch()
        const { response, body } = await transport(url, {
          method: options.method,
          headers: headersFor(url, options.headers),
          redirect: 'manual',
          signal: controller.signal,
        })
        timer.stop() // the body, if read, is timed per wait by its reader
        const location = REDIRECTS.has(response.status) ? response.headers.get('location') : null
        if (location === null) return exchange({ response, body }, url, false)
        body?.destroy()
        const target = redirectTarget(location, url)
        if (target.pathname === `${url.pathname}/`)
          return exchange({ response, body: null }, url, true)
        if (hop >= config.maxRedirects)
          throw httpError('service_unavailable', `Too many redirects (over ${config.maxRedirects})`)
        url = target
      }
    } catch (error) {
      timer.clear()
      throw mapError(error)
    }

    function exchange(answer: Answer, url: URL, slashRedirect: boolean): HttpExchange {
      let taken = false
      return {
        response: answer.response,
        url,
        slashRedirect,
        ownedChunks: config.fetch === undefined,
        body(window) {
          if (taken) throw httpError('internal_error', 'The body of an answer was read twice')
          taken = true
          return new BodyStream(answer.body, timer, mapError, window)
        },
        discard() {
          if (taken) return
          taken = true
          timer.clear()
          answer.body?.destroy()
        },
      }
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

  function close(): void {
    if (agents) destroyAgents(agents)
  }

  return Object.freeze({ send, close })
}

/**
 * Drops the body of an exchange that is not read, releasing its connection (a no-op once
 * the body was taken with {@link HttpExchange.body}).
 *
 * @example
 * ```ts
 * if (ex.response.status !== 200) { discard(ex); throw statusError(ex.response.status, what) }
 * ```
 */
export function discard(exchange: HttpExchange): void {
  exchange.discard()
}

/**
 * The transport over an injected `fetch`: its web body as a Node stream, so bodies are
 * read the same way whichever transport answered.
 */
function fetchTransport(fetch: FetchLike): (url: URL, init: RequestInit) => Promise<Answer> {
  return async (url, init) => {
    const response = await fetch(url, init)
    const body = response.body
    // The DOM and node:stream/web typings of ReadableStream differ; the object is one.
    return { response, body: body ? Readable.fromWeb(body as WebReadableStream) : null }
  }
}
