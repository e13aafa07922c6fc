import {
  backendError,
  baseName,
  type ErrorCode,
  isPStorageError,
  mimeTypeOf,
  type PStorageError,
  pathSegments,
  type StorageFile,
  toApiPath,
} from '@pstorage/core'
import { DRIVER_NAME } from '../driver-name.js'
import { FTYPE3, NFS3ERR } from '../nfs3/constants.js'
import { hasNfsStatus, NfsStatusError } from '../nfs3/nfs-status-error.js'
import { type Fattr3, isoTime } from '../nfs3/nfs3-types.js'
import type { NfsSession } from './session.js'

/** An object found by path: its handle and attributes, and where its name lives. */
export interface Located {
  readonly fh: Buffer
  readonly attrs: Fattr3
  /** Handle of the parent directory; `undefined` for the root. */
  readonly parent: Buffer | undefined
  /** Name bytes in the parent (empty for the root). */
  readonly name: Buffer
}

/** A directory created by {@link ensureParents}, for rollback. */
export interface CreatedDir {
  readonly parent: Buffer
  readonly name: Buffer
}

const err = (code: ErrorCode, detail: string, cause?: unknown) =>
  backendError(DRIVER_NAME, code, detail, cause === undefined ? {} : { cause })

/**
 * Rewraps a failure with the API path `rel`: an `NfsStatusError` becomes the matching
 * `PStorageError` naming `/rel` (never a server path), keeping it as `cause`. Other errors,
 * notably an upload source's own error, pass through unchanged.
 *
 * @example
 * ```ts
 * await nfs.remove(dir, name).catch((e) => Promise.reject(nfsPathError(e, 'a.txt')))
 * ```
 */
export function nfsPathError(error: unknown, rel: string): unknown {
  if (!(error instanceof NfsStatusError)) return error
  const p = toApiPath(rel)
  if (hasNfsStatus(error, NFS3ERR.NOENT, NFS3ERR.STALE, NFS3ERR.NOTDIR))
    return err('not_found', `${p} not found`, error)
  if (hasNfsStatus(error, NFS3ERR.EXIST)) return err('conflict', `${p} already exists`, error)
  if (hasNfsStatus(error, NFS3ERR.NOTEMPTY)) return err('conflict', `${p} is not empty`, error)
  if (hasNfsStatus(error, NFS3ERR.ISDIR)) return err('bad_request', `${p} is a directory`, error)
  if (error.code === 'forbidden') return err('forbidden', `${p}: permission denied`, error)
  if (error.code === 'insufficient_capacity')
    return err('insufficient_capacity', 'The backend is out of space', error)
  if (error.nfsStatus === 63)
    return err('bad_request', `${p}: name too long for this file system`, error)
  return err(error.code, `${p}: ${error.procedure} failed (${error.nfsStatusName})`, error)
}

/**
 * Attributes of `obj`, asking GETATTR when the reply carried none (they are optional).
 *
 * @example
 * ```ts
 * const attrs = await attrsOf(s, await s.nfs.lookup(dir, name))
 * ```
 */
export async function attrsOf(
  s: NfsSession,
  obj: { readonly fh: Buffer; readonly attrs?: Fattr3 | undefined },
): Promise<Fattr3> {
  return obj.attrs ?? s.nfs.getattr(obj.fh)
}

/**
 * LOOKUP of one name with attributes; `undefined` if it does not exist.
 *
 * @example
 * ```ts
 * const there = await lookupChild(session, dirFh, Buffer.from('a.txt'))
 * ```
 */
export async function lookupChild(
  s: NfsSession,
  dir: Buffer,
  name: Buffer,
): Promise<{ fh: Buffer; attrs: Fattr3 } | undefined> {
  try {
    const obj = await s.nfs.lookup(dir, name)
    return { fh: obj.fh, attrs: await attrsOf(s, obj) }
  } catch (error) {
    if (hasNfsStatus(error, NFS3ERR.NOENT)) return undefined
    throw error
  }
}

/**
 * Finds `rel` by LOOKUP, one component at a time from the export's root handle (never a
 * multi-component path, which servers may interpret). A symlink anywhere is `forbidden`,
 * never followed, even when what is behind it is missing (no oracle for files outside);
 * a missing component, or one below a file, is `not_found`.
 *
 * @example
 * ```ts
 * const { fh, attrs } = await locate(session, 'isos/alpine.iso')
 * ```
 */
export async function locate(s: NfsSession, rel: string): Promise<Located> {
  const segments = pathSegments(rel)
  if (segments.length === 0)
    return {
      fh: s.root,
      attrs: await s.nfs.getattr(s.root),
      parent: undefined,
      name: Buffer.alloc(0),
    }
  let dir = s.root
  let prefix = ''
  for (const [i, segment] of segments.entries()) {
    prefix = prefix === '' ? segment : `${prefix}/${segment}`
    const name = Buffer.from(segment, 'utf8')
    const found = await lookupChild(s, dir, name).catch((e) => {
      // NOTDIR: the previous component changed into a file after we checked it.
      throw hasNfsStatus(e, NFS3ERR.NOTDIR) ? err('not_found', `${toApiPath(rel)} not found`, e) : e
    })
    if (!found) throw err('not_found', `${toApiPath(rel)} not found`)
    if (found.attrs.type === FTYPE3.LNK)
      throw err('forbidden', `${toApiPath(prefix)} crosses a symbolic link`)
    if (i === segments.length - 1) return { ...found, parent: dir, name }
    if (found.attrs.type !== FTYPE3.DIR) throw err('not_found', `${toApiPath(rel)} not found`)
    dir = found.fh
  }
  throw new Error('unreachable')
}

/**
 * {@link locate} for a plain file or directory; special files (FIFOs, sockets, devices)
 * behave as missing, as they are not listed.
 *
 * @example
 * ```ts
 * const entry = await locateEntry(session, 'a.txt')
 * ```
 */
export async function locateEntry(s: NfsSession, rel: string): Promise<Located> {
  const found = await locate(s, rel)
  if (found.attrs.type !== FTYPE3.REG && found.attrs.type !== FTYPE3.DIR)
    throw err('not_found', `${toApiPath(rel)} not found`)
  return found
}

/**
 * {@link locate}, or `undefined` when `rel` or a parent is missing (or a parent is a file);
 * a symlink on the way is still `forbidden`.
 *
 * @example
 * ```ts
 * const existing = await locateOptional(session, 'a.txt')
 * ```
 */
export async function locateOptional(s: NfsSession, rel: string): Promise<Located | undefined> {
  return locate(s, rel).catch((e: unknown) => {
    if (isPStorageError(e, 'not_found')) return undefined
    throw e
  })
}

/**
 * Refuses an existing target: links are never replaced, directories never overwritten,
 * files only with `overwrite`.
 *
 * @example
 * ```ts
 * assertReplaceable(existing?.attrs, 'a.txt', false) // conflict if a.txt exists
 * ```
 */
export function assertReplaceable(
  existing: Fattr3 | undefined,
  rel: string,
  overwrite: boolean,
): void {
  if (!existing) return
  if (existing.type === FTYPE3.LNK) throw err('forbidden', `${toApiPath(rel)} is a symbolic link`)
  if (existing.type !== FTYPE3.REG || !overwrite)
    throw err('conflict', `${toApiPath(rel)} already exists`)
}

/**
 * Makes sure the parents of `rel` exist (MKDIR one at a time, like `mkdir -p` without
 * following links). A parent that is a file is a `conflict`, a symlink `forbidden`.
 * Returns the parent's handle and the directories created, for {@link rollbackDirs}.
 *
 * @example
 * ```ts
 * const { dir, created } = await ensureParents(session, 'a/b/c.txt')
 * ```
 */
export async function ensureParents(
  s: NfsSession,
  rel: string,
): Promise<{ dir: Buffer; created: CreatedDir[] }> {
  const created: CreatedDir[] = []
  let dir = s.root
  let prefix = ''
  try {
    for (const segment of pathSegments(rel).slice(0, -1)) {
      prefix = prefix === '' ? segment : `${prefix}/${segment}`
      const name = Buffer.from(segment, 'utf8')
      let node = await lookupChild(s, dir, name)
      if (!node) {
        try {
          const made = await s.nfs.mkdir(dir, name, { mode: 0o755 })
          created.push({ parent: dir, name })
          node = made ? { fh: made.fh, attrs: await attrsOf(s, made) } : undefined
        } catch (error) {
          if (!hasNfsStatus(error, NFS3ERR.EXIST)) throw error // else a concurrent mkdir won
        }
        node ??= await lookupChild(s, dir, name)
        if (!node) throw err('conflict', `${toApiPath(prefix)} changed while being created`)
      }
      if (node.attrs.type === FTYPE3.LNK)
        throw err('forbidden', `${toApiPath(prefix)} crosses a symbolic link`)
      if (node.attrs.type !== FTYPE3.DIR)
        throw err('conflict', `${toApiPath(prefix)} is a file, not a directory`)
      dir = node.fh
    }
    return { dir, created }
  } catch (error) {
    await rollbackDirs(s, created)
    throw nfsPathError(error, prefix)
  }
}

/**
 * Removes directories a failed write or move created, innermost first, if still empty
 * (RMDIR never removes what a concurrent writer put there).
 *
 * @example
 * ```ts
 * await rollbackDirs(session, created)
 * ```
 */
export async function rollbackDirs(s: NfsSession, created: readonly CreatedDir[]): Promise<void> {
  for (const d of [...created].reverse()) await s.nfs.rmdir(d.parent, d.name).catch(() => undefined)
}

/**
 * The `StorageFile` of `rel` from its attributes.
 *
 * @example
 * ```ts
 * describe('a.txt', attrs, null)
 * ```
 */
export function describe(rel: string, attrs: Fattr3, itemCount: number | null): StorageFile {
  const dir = attrs.type === FTYPE3.DIR
  const name = baseName(rel)
  return {
    name,
    path: toApiPath(rel),
    type: dir ? 'directory' : 'file',
    size: dir ? null : attrs.size,
    mime_type: dir ? null : mimeTypeOf(name),
    modified_at: isoTime(attrs.mtime),
    item_count: dir ? itemCount : null,
  }
}

/**
 * Narrows an unknown failure to a `PStorageError` for a per-path delete result.
 *
 * @example
 * ```ts
 * const { code, detail } = asStorageError(error, 'a.txt')
 * ```
 */
export function asStorageError(error: unknown, rel: string): PStorageError {
  const mapped = nfsPathError(error, rel)
  return isPStorageError(mapped)
    ? mapped
    : err('internal_error', `${toApiPath(rel)}: unexpected failure`, mapped)
}
