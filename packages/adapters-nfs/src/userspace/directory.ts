import { type BackendStats, isAddressableName, isTemplateName } from '@pstorage/core'
import { FTYPE3, NFS3_VERFSIZE, NFS3ERR } from '../nfs3/constants.js'
import { hasNfsStatus } from '../nfs3/nfs-status-error.js'
import type { Fattr3 } from '../nfs3/nfs3-types.js'
import { RpcError } from '../rpc/rpc-error.js'
import type { NfsSession } from './session.js'
import { isTempName } from './temp-names.js'

/** A directory entry with its handle and attributes. */
export interface DirEntry {
  readonly name: Buffer
  readonly fh: Buffer
  readonly attrs: Fattr3
}

const DOT = Buffer.from('.')
const DOTDOT = Buffer.from('..')
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
/** READDIRPLUS restarts after NFS3ERR_BAD_COOKIE (the directory changed under the walk). */
const MAX_RESTARTS = 3

/**
 * Runs `fn` over `items` with at most `limit` calls in flight, in order of start.
 *
 * @example
 * ```ts
 * await forEachLimit(entries, 8, (e) => nfs.remove(dir, e.name))
 * ```
 */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

/**
 * Every entry of a directory but `.` and `..`, by READDIRPLUS with cookie paging
 * (RFC 1813 §3.3.17), restarting from the start if the server invalidates the cookie.
 * Entries the server sent without a handle or attributes get a LOOKUP. Stops after `max`
 * entries and says so with `truncated`.
 *
 * @example
 * ```ts
 * const { entries } = await readDirectory(session, dirFh)
 * ```
 */
export async function readDirectory(
  s: NfsSession,
  dir: Buffer,
  max = Number.POSITIVE_INFINITY,
): Promise<{ entries: DirEntry[]; truncated: boolean }> {
  for (let restart = 0; ; restart++) {
    try {
      return await readOnce(s, dir, max)
    } catch (error) {
      if (!hasNfsStatus(error, NFS3ERR.BAD_COOKIE) || restart >= MAX_RESTARTS) throw error
    }
  }
}

async function readOnce(
  s: NfsSession,
  dir: Buffer,
  max: number,
): Promise<{ entries: DirEntry[]; truncated: boolean }> {
  const entries: DirEntry[] = []
  const partial: { name: Buffer; fh?: Buffer | undefined; attrs?: Fattr3 | undefined }[] = []
  let cookie = 0n
  let verf: Buffer = Buffer.alloc(NFS3_VERFSIZE)
  let truncated = false
  for (;;) {
    // dircount bounds the names+cookies part, maxcount the whole reply (RFC 1813 §3.3.17).
    const res = await s.nfs.readdirplus(dir, cookie, verf, s.dirBytes / 4, s.dirBytes)
    for (const e of res.entries) {
      if (e.name.equals(DOT) || e.name.equals(DOTDOT)) continue
      if (entries.length + partial.length >= max) {
        truncated = true
        break
      }
      if (e.fh && e.attrs) entries.push({ name: e.name, fh: e.fh, attrs: e.attrs })
      else partial.push(e)
    }
    if (res.eof || truncated) break
    const last = res.entries.at(-1)
    if (!last) throw new RpcError('protocol', 'service_unavailable', 'READDIRPLUS made no progress')
    cookie = last.cookie
    verf = res.cookieverf
  }
  // Servers may omit handles or attributes (RFC 1813 allows it): look those entries up.
  await forEachLimit(partial, 8, async (e) => {
    try {
      const obj = e.fh ? { fh: e.fh, attrs: e.attrs } : await s.nfs.lookup(dir, e.name)
      entries.push({ name: e.name, fh: obj.fh, attrs: obj.attrs ?? (await s.nfs.getattr(obj.fh)) })
    } catch (error) {
      if (!hasNfsStatus(error, NFS3ERR.NOENT, NFS3ERR.STALE)) throw error // vanished: skip
    }
  })
  return { entries, truncated }
}

/** A listed entry: its API name and whether it is a directory. */
export interface ListedEntry extends DirEntry {
  readonly apiName: string
  readonly type: 'file' | 'directory'
}

/**
 * The entries the API can address: plain files and directories whose name is valid UTF-8,
 * addressable (`isAddressableName`) and not an in-flight upload. Symlinks, devices,
 * FIFOs and sockets are skipped, as core's local driver does.
 *
 * @example
 * ```ts
 * const visible = addressable((await readDirectory(s, fh)).entries)
 * ```
 */
export function addressable(entries: readonly DirEntry[]): ListedEntry[] {
  const out: ListedEntry[] = []
  for (const e of entries) {
    if (e.attrs.type !== FTYPE3.REG && e.attrs.type !== FTYPE3.DIR) continue
    if (isTempName(e.name)) continue
    let apiName: string
    try {
      apiName = UTF8.decode(e.name)
    } catch {
      continue // not UTF-8: no API path can name it
    }
    if (!isAddressableName(apiName)) continue
    out.push({ ...e, apiName, type: e.attrs.type === FTYPE3.DIR ? 'directory' : 'file' })
  }
  return out
}

/**
 * Deletes everything under the directory `dir`, then nothing else: by handle, so a name
 * swapped for a symlink mid-walk cannot redirect it (a symlink is removed itself, REMOVE
 * never follows one). The caller removes `dir` itself with RMDIR.
 *
 * @example
 * ```ts
 * await removeTree(session, entry.fh)
 * await session.nfs.rmdir(entry.parent!, entry.name)
 * ```
 */
export async function removeTree(s: NfsSession, dir: Buffer): Promise<void> {
  const { entries } = await readDirectory(s, dir)
  const gone = (error: unknown) => {
    if (!hasNfsStatus(error, NFS3ERR.NOENT)) throw error // removed concurrently: fine
  }
  for (const e of entries)
    if (e.attrs.type === FTYPE3.DIR) {
      await removeTree(s, e.fh)
      await s.nfs.rmdir(dir, e.name).catch(gone)
    }
  const files = entries.filter((e) => e.attrs.type !== FTYPE3.DIR)
  await forEachLimit(files, 8, (e) => s.nfs.remove(dir, e.name).catch(gone))
}

/**
 * Space and counts of the tree: every regular file (uploads in flight and links skipped)
 * until `maxEntries` entries were visited, then `truncated`. `used_bytes` is the sum of
 * file sizes (the port's definition), `total_bytes` FSSTAT's capacity. A walk, not a
 * cache: its cost grows with the tree, which is why it is bounded (OWASP API4).
 *
 * @example
 * ```ts
 * const { file_count, truncated } = await walkStats(session, 100_000)
 * ```
 */
export async function walkStats(s: NfsSession, maxEntries: number): Promise<BackendStats> {
  let used = 0
  let files = 0
  let templates = 0
  let visited = 0
  let truncated = false
  const pending = [s.root]
  while (pending.length > 0 && !truncated) {
    const dir = pending.pop()!
    const page = await readDirectory(s, dir, maxEntries - visited + 1).catch((e: unknown) => {
      // A directory removed mid-walk is simply gone.
      if (hasNfsStatus(e, NFS3ERR.NOENT, NFS3ERR.STALE)) return { entries: [], truncated: false }
      throw e
    })
    for (const e of page.entries) {
      if (++visited > maxEntries) {
        truncated = true
        break
      }
      if (isTempName(e.name)) continue
      if (e.attrs.type === FTYPE3.DIR) pending.push(e.fh)
      else if (e.attrs.type === FTYPE3.REG) {
        used += e.attrs.size
        files++
        if (isTemplateName(e.name.toString('utf8'))) templates++
      }
    }
  }
  const fs = await s.nfs.fsstat(s.root)
  return {
    used_bytes: used,
    total_bytes: fs.tbytes,
    file_count: files,
    template_count: templates,
    ...(truncated ? { truncated } : {}),
  }
}
