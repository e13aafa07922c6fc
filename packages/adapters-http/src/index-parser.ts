import { isAddressableName } from '@pstorage/core'
import { httpError } from './errors.js'

/** One entry of a directory index, as the server states it. */
export interface IndexEntry {
  /** A single segment the API can address (`isAddressableName`), NFC. */
  readonly name: string
  readonly type: 'file' | 'directory'
  /** Bytes, only if the index states them exactly (`1234`, not a rounded `1.2K`). */
  readonly size?: number
  /** Modification time, if stated (minute precision in HTML indexes). */
  readonly modified?: Date
}

/** The index formats this driver reads. */
export type IndexFormat = 'html' | 'json'

/**
 * The index format of a response's Content-Type: nginx `autoindex_format json` answers
 * `application/json`; nginx, Apache and most others answer `text/html`. A missing type is
 * read as HTML; anything else (XML, plain text) is not an index this driver reads.
 *
 * @example
 * ```ts
 * indexFormatOf('application/json') // 'json'
 * ```
 */
export function indexFormatOf(contentType: string | null): IndexFormat | undefined {
  const type = (contentType ?? 'text/html').split(';')[0]!.trim().toLowerCase()
  if (type === 'application/json' || type.endsWith('+json')) return 'json'
  if (type === 'text/html' || type === 'application/xhtml+xml') return 'html'
  return undefined
}

/**
 * The entries of an index page in `format`; see {@link parseHtmlIndex} and
 * {@link parseJsonIndex}.
 *
 * @example
 * ```ts
 * const entries = parseDirectoryIndex('json', '[{"name":"a","type":"file","size":1}]')
 * ```
 */
export function parseDirectoryIndex(format: IndexFormat, text: string): IndexEntry[] {
  return format === 'json' ? parseJsonIndex(text) : parseHtmlIndex(text)
}

/**
 * The entries of nginx's `autoindex_format json`:
 * `[{ "name": "a.iso", "type": "file", "mtime": "Sun, 21 Jan 2024 10:15:33 GMT", "size": 12 }]`.
 * Names are raw (not URL-encoded). `type: "other"` entries and names the API cannot address
 * are skipped; a body that is not a JSON array is a `service_unavailable`.
 *
 * @example
 * ```ts
 * parseJsonIndex('[{"name":"d","type":"directory"}]') // [{ name: 'd', type: 'directory' }]
 * ```
 */
export function parseJsonIndex(text: string): IndexEntry[] {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    throw httpError('service_unavailable', 'The JSON directory index is malformed', { cause })
  }
  if (!Array.isArray(value))
    throw httpError('service_unavailable', 'The JSON directory index is not an array')
  const found = new Map<string, IndexEntry>()
  for (const item of value) {
    if (typeof item !== 'object' || item === null) continue
    const { name, type, size, mtime } = item as Record<string, unknown>
    if (typeof name !== 'string' || !isAddressableName(name) || found.has(name)) continue
    if (type !== 'file' && type !== 'directory') continue
    const modified = typeof mtime === 'string' ? validDate(Date.parse(mtime)) : undefined
    const exact = type === 'file' && Number.isSafeInteger(size) && (size as number) >= 0
    found.set(name, {
      name,
      type,
      ...(exact ? { size: size as number } : {}),
      ...(modified ? { modified } : {}),
    })
  }
  return [...found.values()]
}

// Bounds that keep parsing linear in the page size on hostile input (OWASP API10).
const MAX_TAG = 4096
const MAX_ROW = 1024
const ANCHOR = /<a\s/gi
const HREF = /\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/i
const ANCHOR_END = /<\/a\s*>/i
const SCHEME = /^[a-z][a-z0-9+.-]*:/i

/**
 * The entries of an HTML directory index, by its links: nginx `autoindex` (`<pre>` lines),
 * Apache `mod_autoindex` (FancyIndexing `<table>` or `<pre>`, and the plain `<ul>` list),
 * and pages shaped like them (lighttpd, Python's http.server).
 *
 * A link is an entry if its `href` is one relative segment, `name` or `name/` (a
 * directory), optionally `./`-prefixed (nginx and Apache write `./a:b` for names with a
 * colon). Skipped: parent links (`../`, `/`), sort links (`?C=N;O=D`), fragments, absolute
 * URLs and paths, nested paths, and names `normalizeBackendPath` refuses. The `href` is
 * HTML-unescaped then percent-decoded exactly once (security.md: never decode twice); the
 * link text is ignored (nginx cuts long names to `name..>` there). Times and sizes are read
 * from the text after the link on its line: the first date (`2024-01-21 10:15`,
 * `21-Jan-2024 10:15`, `2024-Jan-21 10:15:33`), taken as UTC, then the size next to it, kept
 * only if it is a plain byte count.
 *
 * @example
 * ```ts
 * parseHtmlIndex('<a href="a%20b.iso">a b.iso</a>  21-Jan-2024 10:15   1048576')
 * // [{ name: 'a b.iso', type: 'file', size: 1048576, modified: 2024-01-21T10:15:00Z }]
 * ```
 */
export function parseHtmlIndex(html: string): IndexEntry[] {
  const starts = Array.from(html.matchAll(ANCHOR), (m) => m.index)
  const found = new Map<string, IndexEntry>()
  for (const [i, start] of starts.entries()) {
    // Everything below looks only inside this anchor's own segment (up to the next anchor,
    // at most MAX_TAG + MAX_ROW characters), so the scan stays linear in the page size.
    const segment = html.slice(
      start,
      Math.min(starts[i + 1] ?? html.length, start + MAX_TAG + MAX_ROW),
    )
    const tagEnd = segment.indexOf('>')
    if (tagEnd < 0 || tagEnd > MAX_TAG) continue
    const href = HREF.exec(segment.slice(2, tagEnd))
    if (!href) continue
    const entry = entryOfHref(decodeEntities(href[1] ?? href[2] ?? href[3] ?? ''))
    if (!entry) continue
    const rest = segment.slice(tagEnd + 1)
    const newline = rest.indexOf('\n')
    const row = rest.slice(0, Math.min(MAX_ROW, newline < 0 ? rest.length : newline))
    const close = ANCHOR_END.exec(row)
    const meta = close ? rowMetadata(row.slice(close.index + close[0].length)) : {}
    // Apache's IconsAreLinks puts a second link to the same entry before the name link:
    // the first one seen keeps its type, the later one fills in what it lacked.
    const first = found.get(entry.name) ?? entry
    const fill = first.type === 'file' ? meta : meta.modified ? { modified: meta.modified } : {}
    found.set(entry.name, { ...fill, ...first })
  }
  return [...found.values()]
}

/** The entry a link names, or `undefined` if it is not a direct child. */
function entryOfHref(href: string): Pick<IndexEntry, 'name' | 'type'> | undefined {
  if (href === '' || href.includes('?') || href.includes('#')) return undefined
  if (SCHEME.test(href) || href.startsWith('/')) return undefined
  let rel = href.startsWith('./') ? href.slice(2) : href
  const type = rel.endsWith('/') ? 'directory' : 'file'
  if (type === 'directory') rel = rel.slice(0, -1)
  if (rel === '' || rel.includes('/')) return undefined
  let name: string
  try {
    name = decodeURIComponent(rel)
  } catch {
    return undefined // malformed or overlong UTF-8 escapes
  }
  return isAddressableName(name) ? { name, type } : undefined
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
// Apache 2.4 `2024-01-21 10:15`; nginx and Apache 2.2 `21-Jan-2024 10:15`; lighttpd
// `2024-Jan-21 10:15:33`. Named groups so one scan finds whichever comes first.
const DATE =
  /(?<y1>\d{4})-(?<m1>\d{2})-(?<d1>\d{2})[ T](?<h1>\d{2}):(?<i1>\d{2})(?::(?<s1>\d{2}))?|(?<d2>\d{1,2})-(?<m2>[A-Za-z]{3})-(?<y2>\d{4}) (?<h2>\d{2}):(?<i2>\d{2})(?::(?<s2>\d{2}))?|(?<y3>\d{4})-(?<m3>[A-Za-z]{3})-(?<d3>\d{2}) (?<h3>\d{2}):(?<i3>\d{2})(?::(?<s3>\d{2}))?/

/** Time and exact size from the text after a link. */
function rowMetadata(rowHtml: string): { size?: number; modified?: Date } {
  const text = decodeEntities(rowHtml.replace(/<[^>]*>/g, ' '))
  const date = DATE.exec(text)
  const after = date ? text.slice(date.index + date[0].length) : text
  const token = /^\s*(\S+)/.exec(after)?.[1]
  const size = token !== undefined && /^\d{1,16}$/.test(token) ? Number(token) : undefined
  const modified = date?.groups ? dateOf(date.groups) : undefined
  return {
    ...(size !== undefined && Number.isSafeInteger(size) ? { size } : {}),
    ...(modified ? { modified } : {}),
  }
}

function dateOf(g: Record<string, string | undefined>): Date | undefined {
  const year = Number(g.y1 ?? g.y2 ?? g.y3)
  const monthText = g.m1 ?? g.m2 ?? g.m3 ?? ''
  const month = /^\d+$/.test(monthText)
    ? Number(monthText) - 1
    : MONTHS.indexOf(monthText.toLowerCase())
  const day = Number(g.d1 ?? g.d2 ?? g.d3)
  const hour = Number(g.h1 ?? g.h2 ?? g.h3)
  const minute = Number(g.i1 ?? g.i2 ?? g.i3)
  const second = Number(g.s1 ?? g.s2 ?? g.s3 ?? 0)
  if (month < 0 || month > 11 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return undefined
  const date = new Date(Date.UTC(year, month, day, hour, minute, second))
  return date.getUTCDate() === day ? date : undefined // 31-Feb is not a date
}

function validDate(ms: number): Date | undefined {
  return Number.isFinite(ms) ? new Date(ms) : undefined
}

// A Map, not an object: `&constructor;`-like names must not reach Object.prototype.
const NAMED_ENTITIES: ReadonlyMap<string, string> = new Map([
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
  ['nbsp', ' '],
])

/** Unescapes the HTML character references index pages use (named basics and numeric). */
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6});/gi, (whole, ref: string) => {
    if (ref[0] !== '#') return NAMED_ENTITIES.get(ref.toLowerCase()) ?? whole
    const code =
      ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : Number(ref.slice(1))
    // A surrogate or out-of-range reference becomes U+FFFD, which names then refuse.
    const valid = code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)
    return String.fromCodePoint(valid ? code : 0xfffd)
  })
}
