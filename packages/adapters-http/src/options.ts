import type { LookupFunction } from 'node:net'
import { HTTP_TOKEN } from '@pstorage/core'
import { httpError } from './errors.js'
import { parseBaseUrl } from './urls.js'

/** A `fetch` for the driver to call instead of its node:http transport (tests, a custom dispatcher). */
export type FetchLike = (url: URL, init: RequestInit) => Promise<Response>

/** Options of {@link createHttpDriver}. */
export interface HttpDriverOptions {
  /**
   * Base URL of the directory index that is the backend root, `http:` or `https:` only,
   * without credentials, query or fragment; a missing trailing `/` is added.
   */
  readonly url: string
  /** HTTP Basic user name (RFC 7617, no `:`); sent to the base URL's origin only. @default none */
  readonly username?: string
  /** HTTP Basic password; never logged nor put in an error message. @default '' */
  readonly password?: string
  /** Milliseconds to wait for response headers, and at most between two body chunks. @default 30000 */
  readonly timeoutMs?: number
  /**
   * Extra request headers (a bearer token, a `User-Agent`). Headers the driver owns
   * (`Host`, `Range`, `Accept-Encoding`, `Connection`…) are refused; so is `Authorization`
   * next to `username`. @default {}
   */
  readonly headers?: Readonly<Record<string, string>>
  /**
   * Called with the host name (IPv6 without brackets) before every request, each redirect
   * hop included; a rejection refuses the request (`forbidden`, or the rejection itself if it
   * is a `PStorageError`). The server passes its address guard, which refuses loopback and
   * private addresses (security.md, API7). @default none
   */
  readonly checkAddress?: (hostname: string) => Promise<void>
  /**
   * The DNS lookup of the driver's own connections (not of an injected `fetch`). The server
   * passes core's `guardedLookup` of its address guard: the address a connection is made to
   * is the one checked, so a name that resolves to a public address for `checkAddress` and
   * to a private one when connecting (DNS rebinding) is refused (`forbidden`).
   * @default node:dns lookup
   */
  readonly lookup?: LookupFunction
  /** Largest directory index read, in bytes after decompression (OWASP API4). @default 8 MiB */
  readonly maxIndexBytes?: number
  /** Same-origin redirects followed per request, below the base URL only. @default 5 */
  readonly maxRedirects?: number
  /**
   * A `list` page fetches the index of each directory on it for `item_count` when it holds
   * at most this many directories (a GET each, 4 at a time); else every `item_count` on the
   * page is `null`. `0` turns it off. @default 16
   */
  readonly maxItemCounts?: number
  /** Requests `stats()` makes (index GETs and HEADs) before it answers `truncated`. @default 1000 */
  readonly statsMaxRequests?: number
  /**
   * A fetch implementation to send the requests. @default none: the driver's own transport
   * (`nodeRequest`), fetch's semantics for what the driver asks over node:http(s), without
   * the copy of every body chunk that undici's fetch makes nor a web stream per body.
   */
  readonly fetch?: FetchLike
}

/** {@link HttpDriverOptions} checked, defaulted and frozen. */
export interface ResolvedHttpOptions {
  readonly base: URL
  /** `Basic …` for the base URL's origin, if credentials were given. */
  readonly authorization: string | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly timeoutMs: number
  readonly maxIndexBytes: number
  readonly maxRedirects: number
  readonly maxItemCounts: number
  readonly statsMaxRequests: number
  readonly checkAddress: ((hostname: string) => Promise<void>) | undefined
  readonly lookup: LookupFunction | undefined
  /** undefined: the node:http transport. */
  readonly fetch: FetchLike | undefined
}

const MiB = 1024 * 1024
// RFC 9110 §5.1 field names are tokens (HTTP_TOKEN); §5.5 values carry no CR, LF or NUL.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/
// Headers the driver sets itself, or that change how a response must be read.
const OWNED_HEADERS = new Set([
  'host',
  'range',
  'if-range',
  'accept-encoding',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'proxy-authorization',
])

function bad(why: string): Error {
  return httpError('bad_request', `Invalid http backend config: ${why}`)
}

function integer(name: string, value: unknown, fallback: number, min: number, max: number) {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw bad(`${name} must be an integer in ${min}..${max}`)
  return value
}

function basicAuthorization(username: unknown, password: unknown): string | undefined {
  if (username === undefined && password === undefined) return undefined
  if (typeof username !== 'string' || username.length === 0 || username.length > 256)
    throw bad('username must be a string of 1 to 256 characters')
  if (username.includes(':') || !FIELD_VALUE.test(username))
    throw bad('username must not contain ":" or control characters (RFC 7617)')
  if (password !== undefined && (typeof password !== 'string' || password.length > 1024))
    throw bad('password must be a string of at most 1024 characters')
  // RFC 7617 §2.1: user-id ":" password, UTF-8 (the charset the server may announce).
  const pair = Buffer.from(`${username}:${password ?? ''}`, 'utf8').toString('base64')
  return `Basic ${pair}`
}

function extraHeaders(input: unknown, hasCredentials: boolean): Record<string, string> {
  const out: Record<string, string> = { 'user-agent': 'pstorage-http' }
  if (input === undefined) return out
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw bad('headers must be an object of strings')
  for (const [name, value] of Object.entries(input)) {
    const lower = name.toLowerCase()
    if (!HTTP_TOKEN.test(name) || typeof value !== 'string' || !FIELD_VALUE.test(value))
      throw bad('headers must be valid HTTP field names and values') // values may be secrets
    if (OWNED_HEADERS.has(lower)) throw bad(`the ${lower} header is set by the driver`)
    if (lower === 'authorization' && hasCredentials)
      throw bad('give either username/password or an authorization header')
    out[lower] = value
  }
  return out
}

/**
 * Checks and freezes the options of {@link createHttpDriver}; a bad one is a `bad_request`
 * whose message names the option, never its value.
 *
 * @example
 * ```ts
 * const config = resolveHttpOptions({ url: 'https://mirror.example.com/isos/' })
 * config.timeoutMs // 30000
 * ```
 */
export function resolveHttpOptions(options: HttpDriverOptions): ResolvedHttpOptions {
  if (typeof options !== 'object' || options === null) throw bad('options must be an object')
  const base = parseBaseUrl(options.url)
  const authorization = basicAuthorization(options.username, options.password)
  if (options.checkAddress !== undefined && typeof options.checkAddress !== 'function')
    throw bad('checkAddress must be a function')
  if (options.lookup !== undefined && typeof options.lookup !== 'function')
    throw bad('lookup must be a function')
  if (options.fetch !== undefined && typeof options.fetch !== 'function')
    throw bad('fetch must be a function')
  return Object.freeze({
    base,
    authorization,
    headers: Object.freeze(extraHeaders(options.headers, authorization !== undefined)),
    timeoutMs: integer('timeoutMs', options.timeoutMs, 30_000, 1, 86_400_000),
    maxIndexBytes: integer('maxIndexBytes', options.maxIndexBytes, 8 * MiB, 1024, 1024 * MiB),
    maxRedirects: integer('maxRedirects', options.maxRedirects, 5, 0, 20),
    maxItemCounts: integer('maxItemCounts', options.maxItemCounts, 16, 0, 1000),
    statsMaxRequests: integer('statsMaxRequests', options.statsMaxRequests, 1000, 1, 10_000_000),
    checkAddress: options.checkAddress,
    lookup: options.lookup,
    fetch: options.fetch,
  })
}
