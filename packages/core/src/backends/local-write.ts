import { constants, type Stats } from 'node:fs'
import { type FileHandle, link, rename, rmdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { PStorageError } from '../errors.js'
import { backendError } from './driver-kit.js'
import { lstatOrNone } from './local-entries.js'
import { DRIVER_NAME, fsError, openVerified, tempName } from './local-fs.js'
import { toApiPath } from './path.js'

// Filesystems without hard links (vfat, some FUSE/SMB): fall back to check-then-rename.
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'EXDEV', 'ENOSYS'])

/**
 * Refuses an existing target: links are never replaced, directories never overwritten, files
 * only with `overwrite`.
 *
 * @example
 * ```ts
 * assertReplaceable(await lstatOrNone(abs), 'a.txt', false) // conflict if a.txt exists
 * ```
 */
export function assertReplaceable(
  existing: Stats | undefined,
  rel: string,
  overwrite: boolean,
): void {
  if (!existing) return
  if (existing.isSymbolicLink())
    throw backendError(DRIVER_NAME, 'forbidden', `${toApiPath(rel)} is a symbolic link`)
  if (existing.isDirectory() || !overwrite)
    throw backendError(DRIVER_NAME, 'conflict', `${toApiPath(rel)} already exists`)
}

/**
 * Puts `from` at `to`: `rename` (atomic replace) or, without overwrite, `link` + `unlink`,
 * which fails with EEXIST instead of clobbering (Node has no `renameat2(RENAME_NOREPLACE)`).
 *
 * @example
 * ```ts
 * await commit(tmp, abs, false)
 * ```
 */
export async function commit(from: string, to: string, overwrite: boolean): Promise<void> {
  if (!overwrite) {
    try {
      await link(from, to) // atomic no-clobber: of concurrent writers exactly one wins
      await unlink(from)
      return
    } catch (error) {
      if (!NO_LINK.has((error as NodeJS.ErrnoException).code ?? '')) throw error
      if (await lstatOrNone(to)) throw Object.assign(new Error('exists'), { code: 'EEXIST' })
    }
  }
  await rename(from, to)
}

/** Writes all of `chunk` (a write may be short). */
async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  if (!(chunk instanceof Uint8Array))
    throw new PStorageError('bad_request', 'Upload chunks must be bytes')
  for (let at = 0; at < chunk.length; ) {
    const { bytesWritten } = await fh.write(chunk, at, chunk.length - at)
    if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' })
    at += bytesWritten
  }
}

/**
 * Streams `source` into a fresh temp file in `parent` (`O_CREAT|O_EXCL|O_NOFOLLOW`), fsyncs
 * it and returns its path; on any failure the temp file is removed and the error rethrown
 * (a source's own error unchanged), so a failed upload leaves nothing behind.
 *
 * @example
 * ```ts
 * const tmp = await writeTemp(parent, 'a.txt', source)
 * await commit(tmp, join(parent, 'a.txt'), false)
 * ```
 */
export async function writeTemp(
  parent: string,
  rel: string,
  source: AsyncIterable<Uint8Array>,
): Promise<string> {
  const tmp = join(parent, tempName())
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL
  const fh = await openVerified(tmp, rel, flags)
  try {
    try {
      for await (const chunk of source)
        await writeAll(fh, chunk).catch((e) => Promise.reject(fsError(e, rel)))
      await fh.sync().catch((e) => Promise.reject(fsError(e, rel))) // data before the rename
    } finally {
      await fh.close()
    }
    return tmp
  } catch (error) {
    await unlink(tmp).catch(() => undefined)
    throw error
  }
}

/**
 * Removes directories a failed write or move created, innermost first, if still empty
 * (`rmdir` never removes what a concurrent writer put there).
 *
 * @example
 * ```ts
 * await rollbackDirs(created)
 * ```
 */
export async function rollbackDirs(created: readonly string[]): Promise<void> {
  for (const dir of [...created].reverse()) await rmdir(dir).catch(() => undefined)
}
