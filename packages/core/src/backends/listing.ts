import { PStorageError } from '../errors.js'

/** Page size of `list` without a `limit`, and the largest allowed (S3's `max-keys`). */
export const MAX_LIST_LIMIT = 1000

/** The sort key of a listed entry. */
export interface ListKey {
  readonly type: 'file' | 'directory'
  readonly name: string
}

/**
 * Compares strings by Unicode code point (the UTF-8 byte order S3 lists keys in), not by
 * UTF-16 code unit as `<` does: `'\uff21' < '😀'` here, the reverse with `<`.
 *
 * @example
 * ```ts
 * ['😀', 'Ａ'].sort(compareCodePoints) // ['Ａ', '😀']
 * ```
 */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]()
  const ib = b[Symbol.iterator]()
  for (;;) {
    const x = ia.next()
    const y = ib.next()
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!
    if (d !== 0) return d
  }
}

/**
 * The order of every `list`: directories first, then by name in code point order.
 *
 * @example
 * ```ts
 * entries.sort(compareListKeys)
 * ```
 */
export function compareListKeys(a: ListKey, b: ListKey): number {
  if (a.type !== b.type) return a.type === 'directory' ? -1 : 1
  return compareCodePoints(a.name, b.name)
}

/**
 * An opaque cursor after `key`: base64url of `["d"|"f", name]`. Key-set, not offset, so a
 * page boundary survives concurrent inserts and deletes.
 *
 * @example
 * ```ts
 * const next_cursor = encodeListCursor(page.at(-1)!)
 * ```
 */
export function encodeListCursor(key: ListKey): string {
  const json = JSON.stringify([key.type === 'directory' ? 'd' : 'f', key.name])
  return Buffer.from(json, 'utf8').toString('base64url')
}

/**
 * Decodes a cursor of {@link encodeListCursor}; anything else is a `bad_request`.
 *
 * @example
 * ```ts
 * const after = options.cursor === undefined ? undefined : decodeListCursor(options.cursor)
 * ```
 */
export function decodeListCursor(cursor: string): ListKey {
  const bad = () => new PStorageError('bad_request', 'Invalid list cursor')
  if (typeof cursor !== 'string' || cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor))
    throw bad()
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw bad()
  }
  if (!Array.isArray(value) || value.length !== 2) throw bad()
  const [kind, name] = value as unknown[]
  if ((kind !== 'd' && kind !== 'f') || typeof name !== 'string') throw bad()
  return { type: kind === 'd' ? 'directory' : 'file', name }
}

/**
 * The effective page size: `limit` (default and maximum {@link MAX_LIST_LIMIT}) or `bad_request`.
 *
 * @example
 * ```ts
 * const limit = resolveListLimit(options.limit) // 1000 when undefined
 * ```
 */
export function resolveListLimit(limit: number | undefined): number {
  if (limit === undefined) return MAX_LIST_LIMIT
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT)
    throw new PStorageError('bad_request', `limit must be an integer in 1..${MAX_LIST_LIMIT}`)
  return limit
}

/**
 * One page of `entries` (any order): sorts them, skips to after `cursor`, takes `limit`.
 * For drivers that see a whole directory at once (local, HTTP index pages).
 *
 * @example
 * ```ts
 * const { page, next_cursor } = paginate(entries, { limit: 2 })
 * ```
 */
export function paginate<T extends ListKey>(
  entries: readonly T[],
  options: { readonly limit?: number; readonly cursor?: string } = {},
): { page: T[]; next_cursor?: string } {
  const limit = resolveListLimit(options.limit)
  const after = options.cursor === undefined ? undefined : decodeListCursor(options.cursor)
  const sorted = [...entries].sort(compareListKeys)
  const start = after ? sorted.findIndex((e) => compareListKeys(e, after) > 0) : 0
  const page = start < 0 ? [] : sorted.slice(start, start + limit)
  const more = start >= 0 && start + limit < sorted.length
  return more ? { page, next_cursor: encodeListCursor(page.at(-1)!) } : { page }
}
