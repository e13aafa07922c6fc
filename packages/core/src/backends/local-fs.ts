import { randomBytes } from 'node:crypto'
import { constants, type Stats } from 'node:fs'
import {
  type FileHandle,
  lstat,
  mkdir,
  open,
  readFile,
  readlink,
  realpath,
  unlink,
} from 'node:fs/promises'
import { join, sep } from 'node:path'
import { isPStorageError, type PStorageError } from '../errors.js'
import { backendError } from './driver-kit.js'
import { pathSegments, toApiPath } from './path.js'

/**
 * Prefix of in-flight upload files: hidden from listings and refused as a name.
 *
 * @example
 * ```ts
 * const tmp = join(parent, `${TEMP_PREFIX}${hex}`)
 * ```
 */
export const TEMP_PREFIX = '.pstorage-tmp-'

/**
 * The `type` of local backends (re-exported by `local-driver.ts`).
 *
 * @example
 * ```ts
 * if (config.type === DRIVER_NAME) createLocalDriver(config)
 * ```
 */
export const DRIVER_NAME = 'local'

/** The real root of a local tree, resolved per operation (the root may be re-mounted). */
export interface LocalBase {
  readonly real: string
  readonly dev: number
  readonly crossMounts: boolean
  /** Mount points strictly below `real` (empty with `crossMounts`). */
  readonly mounts: ReadonlySet<string>
}

/**
 * Mount points strictly below `real`, from `/proc/self/mountinfo` (Linux; empty elsewhere).
 * A bind mount of the same file system keeps `st_dev`, so comparing devices alone misses it.
 *
 * @example
 * ```ts
 * const mounts = await mountsUnder(await realpath(root))
 * ```
 */
export async function mountsUnder(real: string): Promise<ReadonlySet<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '')
  const prefix = real.endsWith(sep) ? real : real + sep
  const out = new Set<string>()
  for (const line of text.split('\n')) {
    // Field 5 is the mount point, with space, tab, newline and backslash octal-escaped.
    const field = line.split(' ')[4]
    if (!field) continue
    const point = field.replace(/\\([0-7]{3})/g, (_, o: string) =>
      String.fromCharCode(Number.parseInt(o, 8)),
    )
    if (point.startsWith(prefix)) out.add(point)
  }
  return out
}

/**
 * True if `abs` is on another file system or a mount point below the root.
 *
 * @example
 * ```ts
 * if (crossesMount(base, abs, await lstat(abs))) throw forbidden
 * ```
 */
export function crossesMount(base: LocalBase, abs: string, st: Stats): boolean {
  return !base.crossMounts && (st.dev !== base.dev || base.mounts.has(abs))
}

/**
 * Maps a native fs error to a `PStorageError` naming the API path only, keeping the cause.
 *
 * @example
 * ```ts
 * await unlink(abs).catch((e) => Promise.reject(fsError(e, 'a.txt'))) // not_found: /a.txt
 * ```
 */
export function fsError(error: unknown, rel: string): PStorageError {
  if (isPStorageError(error)) return error
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  const p = toApiPath(rel)
  const e = (c: Parameters<typeof backendError>[1], d: string) =>
    backendError(DRIVER_NAME, c, d, { cause: error })
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return e('not_found', `${p} not found`)
    case 'EEXIST':
    case 'ENOTEMPTY':
      return e('conflict', `${p} already exists`)
    case 'EISDIR':
      return e('bad_request', `${p} is a directory`)
    case 'ELOOP':
      return e('forbidden', `${p} crosses a symbolic link`)
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return e('forbidden', `${p}: permission denied`)
    case 'ENOSPC':
    case 'EDQUOT':
      return e('insufficient_capacity', 'The backend is out of space')
    case 'ENAMETOOLONG':
      return e('bad_request', `${p}: name too long for this file system`)
    default:
      return e('internal_error', `${p}: file system error ${code ?? ''}`.trim())
  }
}

/**
 * A fresh temporary name in the same directory (rename is atomic within a file system).
 *
 * @example
 * ```ts
 * const tmp = join(parent, tempName()) // .pstorage-tmp-3f9c…
 * ```
 */
export function tempName(): string {
  return `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`
}

/**
 * Rejects names that collide with in-flight upload files.
 *
 * @example
 * ```ts
 * assertNotReserved('a/.pstorage-tmp-x') // throws bad_request
 * ```
 */
export function assertNotReserved(rel: string): void {
  if (pathSegments(rel).some((s) => s.startsWith(TEMP_PREFIX)))
    throw backendError(
      DRIVER_NAME,
      'bad_request',
      `Names starting with ${TEMP_PREFIX} are reserved`,
    )
}

/**
 * Refuses an entry the driver must not go through: a symlink (never followed, wherever it
 * points) or, unless `crossMounts`, another file system (a bind mount escaping the root).
 * security.md, "Path traversal": compare against the root and list symlinks without following.
 */
function guard(base: LocalBase, abs: string, st: Stats, rel: string): void {
  if (st.isSymbolicLink())
    throw backendError(DRIVER_NAME, 'forbidden', `${toApiPath(rel)} crosses a symbolic link`)
  if (crossesMount(base, abs, st))
    throw backendError(DRIVER_NAME, 'forbidden', `${toApiPath(rel)} crosses a mount point`)
}

/** The real path must equal the lexical one: catches a component swapped mid-walk. */
async function assertReal(abs: string, rel: string): Promise<void> {
  if ((await realpath(abs)) !== abs)
    throw backendError(DRIVER_NAME, 'forbidden', `${toApiPath(rel)} crosses a symbolic link`)
}

/**
 * Resolves an existing entry by `lstat`-ing every component from the root, never following a
 * link; a missing component is `not_found` even behind a link, so nothing outside leaks.
 *
 * @example
 * ```ts
 * const { abs, st } = await resolveExisting(base, 'isos/a.iso')
 * ```
 */
export async function resolveExisting(
  base: LocalBase,
  rel: string,
): Promise<{ abs: string; st: Stats }> {
  let abs = base.real
  let prefix = ''
  let st: Stats | undefined
  try {
    for (const segment of pathSegments(rel)) {
      if (st && !st.isDirectory()) throw fsError({ code: 'ENOTDIR' }, rel)
      abs = join(abs, segment)
      prefix = prefix === '' ? segment : `${prefix}/${segment}`
      st = await lstat(abs)
      guard(base, abs, st, prefix)
    }
    await assertReal(abs, rel)
    return { abs, st: st ?? (await lstat(abs)) }
  } catch (error) {
    throw fsError(error, rel)
  }
}

/**
 * Ensures the parent directories of `rel` exist inside the root, creating missing ones one
 * at a time (`mkdir -p` without following links) and fsyncing each new entry's directory.
 * A parent that is a file → `conflict`. Returns the parent's absolute path and the
 * directories created, so a failed write can remove them again.
 *
 * @example
 * ```ts
 * const { abs: parent, created } = await ensureParents(base, 'a/b/c.txt')
 * ```
 */
export async function ensureParents(
  base: LocalBase,
  rel: string,
): Promise<{ abs: string; created: string[] }> {
  const segments = pathSegments(rel).slice(0, -1)
  const created: string[] = []
  let abs = base.real
  let prefix = ''
  try {
    for (const segment of segments) {
      const parent = abs
      abs = join(abs, segment)
      prefix = prefix === '' ? segment : `${prefix}/${segment}`
      let st = await lstat(abs).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e
        return undefined
      })
      if (!st) {
        const made = await mkdir(abs).then(
          () => true,
          (e: NodeJS.ErrnoException) => {
            if (e.code !== 'EEXIST') throw e
            return false
          },
        )
        if (made) created.push(abs)
        await fsyncDir(parent)
        st = await lstat(abs)
      }
      guard(base, abs, st, prefix)
      if (!st.isDirectory())
        throw backendError(
          DRIVER_NAME,
          'conflict',
          `${toApiPath(prefix)} is a file, not a directory`,
        )
    }
    await assertReal(abs, rel)
    return { abs, created }
  } catch (error) {
    throw fsError(error, rel)
  }
}

/**
 * Opens `abs` without following a final symlink (`O_NOFOLLOW`), then proves the handle is
 * the entry that was checked: same device and inode as `expected`, and on Linux the kernel's
 * own path of the descriptor (`/proc/self/fd/N`) equals `abs`, which no intermediate symlink
 * swap can fake (TOCTOU; Node has no `openat2(RESOLVE_BENEATH)`).
 *
 * @example
 * ```ts
 * const fh = await openVerified(abs, rel, constants.O_RDONLY, st)
 * ```
 */
export async function openVerified(
  abs: string,
  rel: string,
  flags: number,
  expected?: Stats,
): Promise<FileHandle> {
  const fh = await open(abs, flags | constants.O_NOFOLLOW, 0o644).catch((e: unknown) => {
    throw fsError(e, rel)
  })
  try {
    const st = await fh.stat()
    const moved = expected && (st.dev !== expected.dev || st.ino !== expected.ino)
    const seen = await readlink(`/proc/self/fd/${fh.fd}`).catch(() => abs)
    if (moved || seen !== abs || !st.isFile()) {
      // A file created through a swapped parent is removed where the kernel put it.
      if (flags & constants.O_CREAT) await unlink(seen).catch(() => undefined)
      throw backendError(DRIVER_NAME, 'forbidden', `${toApiPath(rel)} changed while being opened`)
    }
    return fh
  } catch (error) {
    await fh.close().catch(() => undefined)
    throw fsError(error, rel)
  }
}

/**
 * fsync a directory so a rename, create or unlink in it survives a crash.
 *
 * @example
 * ```ts
 * await rename(tmp, abs)
 * await fsyncDir(parent)
 * ```
 */
export async function fsyncDir(abs: string): Promise<void> {
  const fh = await open(abs, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await fh.sync()
  } catch (error) {
    // Some file systems cannot fsync a directory; the data itself was synced already.
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EBADF') throw error
  } finally {
    await fh.close()
  }
}
