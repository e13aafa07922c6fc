import { pathSegments } from '@pstorage/core'
import { httpError } from './errors.js'

/**
 * The base URL of a backend: `http:` or `https:` only, no credentials (they belong in the
 * `username`/`password` options, which are never logged), no query or fragment (entry URLs
 * are built by appending path segments). A missing trailing `/` is added, so `/pub` and
 * `/pub/` name the same directory. Errors never echo the input: it may hold a password.
 *
 * @example
 * ```ts
 * parseBaseUrl('https://mirror.example.com/isos').href // 'https://mirror.example.com/isos/'
 * ```
 */
export function parseBaseUrl(input: unknown): URL {
  const bad = (why: string) => httpError('bad_request', `Invalid http backend url: ${why}`)
  if (typeof input !== 'string' || input.length === 0 || input.length > 2048)
    throw bad('expected a string of 1 to 2048 characters')
  let url: URL
  try {
    url = new URL(input)
  } catch {
    throw bad('not an absolute URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw bad('only http: and https: are supported')
  if (url.username !== '' || url.password !== '')
    throw bad('credentials in the URL are not allowed; use the username and password options')
  if (url.search !== '' || url.hash !== '') throw bad('a query or fragment is not allowed')
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  return url
}

/**
 * The URL of the entry at the normalised path `rel` (`normalizeBackendPath` output) below
 * `base`; `directory` adds the trailing `/` that asks a server for a directory's index.
 *
 * Why it cannot leave `base` (security.md, "Path traversal"): every segment is
 * percent-encoded with `encodeURIComponent`, which leaves no `/`, `\`, `?`, `#` or `%`
 * unescaped, and `normalizeBackendPath` already refused `.`, `..`, empty and `%XX`
 * segments, so the URL parser has no dot segment to remove and no separator to split on.
 * That argument is then checked, not trusted: the parsed URL must keep exactly the path
 * that was built, on the base's origin, below the base's path, or this throws
 * `internal_error` before any request is made.
 *
 * @example
 * ```ts
 * entryUrl(new URL('http://h/pub/'), 'isos/a b.iso', false).href // 'http://h/pub/isos/a%20b.iso'
 * ```
 */
export function entryUrl(base: URL, rel: string, directory: boolean): URL {
  const segments = pathSegments(rel).map(encodeURIComponent)
  const path = `${base.pathname}${segments.join('/')}${directory && rel !== '' ? '/' : ''}`
  // Concatenated, not resolved: `new URL('//x/a', origin)` would read `//x` as a host.
  const url = new URL(`${base.origin}${path}`)
  if (url.origin !== base.origin || url.pathname !== path || !isBelowBase(base, url))
    throw httpError('internal_error', 'An entry URL escaped the base URL')
  return url
}

/**
 * True if `target` is on `base`'s origin (scheme, host and port) and at or below its path:
 * the only URLs this driver requests, and the only redirect targets it follows.
 *
 * @example
 * ```ts
 * isBelowBase(new URL('http://h/pub/'), new URL('http://h/pub/a')) // true
 * isBelowBase(new URL('http://h/pub/'), new URL('https://h/pub/a')) // false
 * ```
 */
export function isBelowBase(base: URL, target: URL): boolean {
  return (
    target.origin === base.origin &&
    target.username === '' &&
    target.password === '' &&
    target.pathname.startsWith(base.pathname)
  )
}
