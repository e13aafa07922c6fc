import type { Dirent, Stats } from 'node:fs'
import { lstat, readdir } from 'node:fs/promises'
import type { StorageFile } from '../ports/backend-driver.js'
import { TEMP_PREFIX } from './local-fs.js'
import { mimeTypeOf } from './mime.js'
import { baseName, isAddressableName, toApiPath } from './path.js'

/**
 * `lstat`, or `undefined` when nothing is there.
 *
 * @example
 * ```ts
 * const existing = await lstatOrNone(abs)
 * ```
 */
export async function lstatOrNone(abs: string): Promise<Stats | undefined> {
  return lstat(abs).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined
    throw e
  })
}

/**
 * The entries of a directory the API can address: plain files and directories only.
 *
 * @example
 * ```ts
 * const count = (await addressableEntries(abs)).length
 * ```
 */
export async function addressableEntries(abs: string): Promise<Dirent[]> {
  const entries = await readdir(abs, { withFileTypes: true })
  // Symlinks, FIFOs, sockets and devices are skipped (a FIFO would block a read forever);
  // so are temp files and names `normalizeBackendPath` refuses (they could not be opened).
  return entries.filter(
    (d) =>
      (d.isFile() || d.isDirectory()) &&
      !d.name.startsWith(TEMP_PREFIX) &&
      isAddressableName(d.name),
  )
}

/**
 * The `StorageFile` of an entry; a directory's `item_count` is what `list` would return.
 *
 * @example
 * ```ts
 * return describeEntry('isos/a.iso', abs, await lstat(abs))
 * ```
 */
export async function describeEntry(rel: string, abs: string, st: Stats): Promise<StorageFile> {
  const dir = st.isDirectory()
  const name = baseName(rel)
  return {
    name,
    path: toApiPath(rel),
    type: dir ? 'directory' : 'file',
    size: dir ? null : st.size,
    mime_type: dir ? null : mimeTypeOf(name),
    modified_at: st.mtime.toISOString(),
    item_count: dir ? (await addressableEntries(abs)).length : null,
  }
}
