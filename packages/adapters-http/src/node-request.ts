import { Agent as HttpAgent, request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import type { Readable } from 'node:stream'
import { Http1Agent } from '@pstorage/core'

/** Keep-alive connection pools: one per scheme, and core's `Http1Agent` for plain-http GETs. */
export interface NodeAgents {
  readonly 'http:': HttpAgent
  readonly 'https:': HttpsAgent
  readonly bulk: Http1Agent
}

/**
 * Keep-alive agents, as fetch's global dispatcher keeps connections; with `lookup`, every
 * connection resolves its host through it (the server passes core's `guardedLookup`, which
 * refuses an address the guard refuses: the check is on the address connected to).
 *
 * @example
 * ```ts
 * const agents = nodeAgents(guardedLookup(guard))
 * await nodeRequest(url, { method: 'HEAD' }, agents)
 * ```
 */
export function nodeAgents(lookup?: LookupFunction): NodeAgents {
  const options = { keepAlive: true, ...(lookup ? { lookup } : {}) }
  return {
    'http:': new HttpAgent(options),
    'https:': new HttpsAgent(options),
    bulk: new Http1Agent(lookup ? { lookup } : {}),
  }
}

/** Closes the idle connections of `agents`. */
export function destroyAgents(agents: NodeAgents): void {
  agents['http:'].destroy()
  agents['https:'].destroy()
  agents.bulk.destroy()
}

/** The agents of requests made without agents of their own. */
const SHARED_AGENTS = nodeAgents()

/**
 * The Fetch standard's bad ports ("port blocking"), as undici's fetch refuses them: ports
 * of services (SMTP, IRC, X11...) that an HTTP request must not reach. The list of the
 * Node.js 24 runtime's undici.
 */
const BAD_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102,
  103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465,
  512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993,
  995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
  6669, 6679, 6697, 10080,
])

/** An answer of {@link nodeRequest}. */
export interface NodeAnswer {
  /** Status and headers, in order; no body (that is `body`). */
  readonly response: Response
  /** The body, not yet flowing; null for HEAD, 204, 205 and 304. */
  readonly body: Readable | null
}

/**
 * The driver's default transport: what the driver asks of `fetch` (GET and HEAD, headers,
 * no redirect followed, an abort signal): plain-http GETs over core's `Http1Agent`, whose
 * body chunks are each a socket read's buffer (256 KiB reads, no copy), the rest over
 * node:http and node:https, whose body chunks are each a copy in a buffer of its own.
 * Status and headers come as a standard `Response`; the body as a Node stream whose
 * chunks are handed on as they are.
 *
 * Why not the global fetch: undici's fetch copies every body chunk into a new buffer
 * before it enqueues it, and a web stream costs a promise per chunk for each reader: a
 * sixth of the server's CPU time during a file download in a profile of
 * `pnpm bench:backends`, then another fifth for the web-stream layers. Certificates are
 * verified as for fetch (Node's defaults); no `Accept-Encoding` is sent unless asked, so
 * answers come uncompressed. An injected `fetch` (options) replaces this.
 *
 * @example
 * ```ts
 * const { response } = await nodeRequest(new URL('http://mirror/a.iso'), { method: 'HEAD' })
 * ```
 */
export function nodeRequest(
  url: URL,
  init: RequestInit,
  agents: NodeAgents = SHARED_AGENTS,
): Promise<NodeAnswer> {
  return new Promise<NodeAnswer>((resolve, reject) => {
    const method = init.method ?? 'GET'
    const scheme = url.protocol
    if (scheme !== 'http:' && scheme !== 'https:') {
      reject(new TypeError(`unsupported scheme ${scheme}`))
      return
    }
    if (BAD_PORTS.has(Number(url.port || (scheme === 'https:' ? 443 : 80)))) {
      reject(new TypeError('fetch failed', { cause: new Error('bad port') }))
      return
    }
    const headers = Object.fromEntries(new Headers(init.headers))
    if (method === 'GET' && scheme === 'http:') {
      const target = {
        hostname: url.hostname,
        port: Number(url.port || 80),
        path: url.pathname + url.search,
      }
      agents.bulk.get(target, headers, init.signal ?? undefined).then((answer) => {
        try {
          resolve(answerOf(answer.status, answer.rawHeaders, answer.body))
        } catch (error) {
          answer.body.destroy()
          reject(error)
        }
      }, reject)
      return
    }
    const send = scheme === 'https:' ? httpsRequest : httpRequest
    const request = send(
      url,
      {
        method,
        headers,
        agent: agents[scheme],
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (incoming) => {
        try {
          resolve(
            answerOf(incoming.statusCode ?? 0, incoming.rawHeaders, incoming, method === 'HEAD'),
          )
        } catch (error) {
          incoming.destroy()
          reject(error)
        }
      },
    )
    request.on('error', (error) => reject(tlsNamed(error))) // `on`: never an unhandled 'error'
    request.end()
  })
}

/**
 * A failed TLS handshake with the OpenSSL reason as its code (`ERR_SSL_WRONG_VERSION_NUMBER`),
 * as fetch reports it; node:https says only `EPROTO` and puts the reason in the message.
 */
function tlsNamed(error: Error & { code?: unknown }): Error {
  if (error.code !== 'EPROTO') return error
  const reason = /SSL routines:[^:]*:([^:\n]+)/.exec(error.message)?.[1]?.trim()
  if (!reason) return error
  const code = `ERR_SSL_${reason.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`
  return Object.assign(new Error('The TLS handshake failed', { cause: error }), { code })
}

/** Status and headers in order (`raw`: name, value, …), and `body` unless it has none. */
function answerOf(
  status: number,
  raw: readonly string[],
  body: Readable,
  head = false,
): NodeAnswer {
  const headers = new Headers()
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!)
  const response = new Response(null, { status, headers })
  if (head || status === 204 || status === 205 || status === 304) {
    body.resume() // nothing to read: let the connection go back to the pool
    return { response, body: null }
  }
  // Errors are its reader's to handle; until one listens, an 'error' must not be thrown.
  body.on('error', () => undefined)
  return { response, body }
}
