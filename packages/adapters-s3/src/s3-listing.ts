import {
  compareListKeys,
  decodeListCursor,
  isAddressableName,
  type ListKey,
  type ListOptions,
  type ListResult,
  MAX_LIST_LIMIT,
  mimeTypeOf,
  paginate,
  resolveListLimit,
  type StorageFile,
  toApiPath,
} from '@pstorage/core'
import type { ObjectStore } from './s3-objects.js'

/**
 * An S3 timestamp as the API shows it, in whole seconds: HEAD answers carry an HTTP date
 * (one-second precision), so listings are truncated alike and `stat` and `list` agree.
 *
 * @example
 * ```ts
 * isoSeconds(new Date('2024-01-01T00:00:00.750Z')) // '2024-01-01T00:00:00.000Z'
 * ```
 */
export function isoSeconds(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString()
}

/**
 * The `StorageFile` of the file at normalised path `rel`.
 *
 * @example
 * ```ts
 * fileEntry('isos/a.iso', 1024, info.modified)
 * ```
 */
export function fileEntry(rel: string, size: number, modified: Date): StorageFile {
  const name = rel.slice(rel.lastIndexOf('/') + 1)
  return {
    name,
    path: toApiPath(rel),
    type: 'file',
    size,
    mime_type: mimeTypeOf(name),
    modified_at: isoSeconds(modified),
    item_count: null,
  }
}

/**
 * The `StorageFile` of the directory at `rel`. S3 has no directory timestamps: `modified` is
 * the marker's (or first key's) time for `stat`, the listing's time for `list`. Counting
 * children would cost a listing per directory, so `item_count` is `null` (the port allows it).
 *
 * @example
 * ```ts
 * dirEntry('isos', first.modified)
 * ```
 */
export function dirEntry(rel: string, modified: Date): StorageFile {
  return {
    name: rel.slice(rel.lastIndexOf('/') + 1),
    path: toApiPath(rel),
    type: 'directory',
    size: null,
    mime_type: null,
    modified_at: isoSeconds(modified),
    item_count: null,
  }
}

interface Candidate extends ListKey {
  readonly size: number
  readonly modified: Date
}

/** Keeps the `cap` smallest of `entries` (list order), sorting only once in a while. */
function bound(entries: Candidate[], cap: number, final = false): Candidate[] {
  if (!final && entries.length <= 2 * cap) return entries
  return entries.sort(compareListKeys).slice(0, cap)
}

/** One page of a directory, and whether any key at all was seen under it. */
export interface DirectoryPage extends ListResult {
  readonly seen: boolean
}

/**
 * One `list` page of the directory whose keys start with `dirKey` (`rel` is its API path).
 *
 * Order is directories first, then names by code point, which no single S3 listing gives:
 * S3 interleaves `CommonPrefixes` with files in key order. So:
 * - without a cursor, or after a directory, the whole level is listed with delimiter `/`
 *   (S3 rolls each subtree up into one prefix, so this costs one request per 1000 direct
 *   children) and only the `limit + 1` smallest directories and files are kept;
 * - after a file, only files can follow: the listing starts after that file's key and stops
 *   as soon as `limit + 1` files are in hand (UTF-8 key order is code point order).
 * Either way `paginate` from core cuts the page and makes the key-set cursor, so the result
 * equals paginating the full sorted directory. Names the API cannot address are skipped;
 * the directory's own marker (`dirKey` itself) is not a child.
 *
 * @example
 * ```ts
 * const page = await listDirectory(store, 'pfx/isos/', 'isos', { limit: 100 })
 * ```
 */
export async function listDirectory(
  store: ObjectStore,
  dirKey: string,
  rel: string,
  options: ListOptions,
): Promise<DirectoryPage> {
  const limit = resolveListLimit(options.limit)
  const after = options.cursor === undefined ? undefined : decodeListCursor(options.cursor)
  const filesOnly = after?.type === 'file'
  const listedAt = new Date()
  const cap = limit + 1
  let dirs: Candidate[] = []
  let files: Candidate[] = []
  let seen = false
  let fileCount = 0
  const pages = store.pages({
    prefix: dirKey,
    delimiter: '/',
    ...(filesOnly
      ? { startAfter: dirKey + after.name, maxKeys: Math.min(MAX_LIST_LIMIT, cap) }
      : {}),
  })
  for await (const page of pages) {
    for (const p of page.CommonPrefixes ?? []) {
      seen = true
      const name = (p.Prefix ?? '').slice(dirKey.length, -1)
      if (filesOnly || !isAddressableName(name)) continue
      const entry: Candidate = { type: 'directory', name, size: 0, modified: listedAt }
      if (after && compareListKeys(entry, after) <= 0) continue
      dirs.push(entry)
      dirs = bound(dirs, cap)
    }
    for (const o of page.Contents ?? []) {
      seen = true
      const name = (o.Key ?? '').slice(dirKey.length)
      if (name === '' || !isAddressableName(name)) continue
      const entry: Candidate = {
        type: 'file',
        name,
        size: o.Size ?? 0,
        modified: o.LastModified ?? listedAt,
      }
      if (after && compareListKeys(entry, after) <= 0) continue
      files.push(entry)
      files = bound(files, cap)
      fileCount++
    }
    if (filesOnly && fileCount >= cap) break // every later key sorts after these
  }
  // Every candidate sorts after the cursor: paginate cuts `limit` of them and encodes the
  // cursor of the last one when more follow.
  const candidates = [...bound(dirs, cap, true), ...bound(files, cap, true)]
  const { page, next_cursor } = paginate(candidates, options)
  const items = page.map((c) => {
    const child = rel === '' ? c.name : `${rel}/${c.name}`
    return c.type === 'directory'
      ? dirEntry(child, c.modified)
      : fileEntry(child, c.size, c.modified)
  })
  return next_cursor === undefined ? { items, seen } : { items, next_cursor, seen }
}
