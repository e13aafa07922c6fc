import { constants } from 'node:fs'
import { access, lstat, mkdir, realpath, stat, statfs, unlink } from 'node:fs/promises'
import { dirname, isAbsolute, join } from 'node:path'
import { z } from 'zod'
import type { PStorageError } from '../errors.js'
import type { BackendDriver, StorageFile } from '../ports/backend-driver.js'
import {
  assertMovable,
  backendError,
  deleteEach,
  normalizeDeletePaths,
  resolveRange,
} from './driver-kit.js'
import { decodeListCursor, paginate, resolveListLimit } from './listing.js'
import { addressableEntries, describeEntry, lstatOrNone } from './local-entries.js'
import {
  assertNotReserved,
  DRIVER_NAME,
  ensureParents,
  fsError,
  fsyncDir,
  type LocalBase,
  mountsUnder,
  openVerified,
  resolveExisting,
} from './local-fs.js'
import { removeTree, walkStats } from './local-walk.js'
import { assertReplaceable, commit, rollbackDirs, writeTemp } from './local-write.js'
import { mimeTypeOf } from './mime.js'
import { baseName, normalizeBackendPath, toApiPath } from './path.js'

export { DRIVER_NAME }

/** Options of {@link createLocalDriver}, validated by {@link LocalDriverConfigSchema}. */
export const LocalDriverConfigSchema = z.strictObject({
  /** Absolute path of an existing directory: the backend root. Symlinks in it are resolved. */
  root: z
    .string()
    .min(1)
    .max(4096)
    .refine((r) => isAbsolute(r) && !r.includes('\0'), 'root must be an absolute path'),
  /** Enter other file systems mounted under the root. @default false */
  crossMounts: z.boolean().default(false),
  /** Entries `stats()` visits before answering `truncated: true`. @default 100000 */
  statsMaxEntries: z.number().int().min(1).max(100_000_000).default(100_000),
})
export type LocalDriverConfig = z.input<typeof LocalDriverConfigSchema>

/**
 * A backend over a local directory (also what the NFS driver serves from its mount point).
 *
 * Decisions (security.md, "Path traversal in the file browser"): symlinks are never
 * followed, wherever they point: a path through one is `forbidden`, and `list` does not show
 * them (nor FIFOs, sockets, devices, temp files, or names the API cannot address). Every
 * component is `lstat`-ed from `realpath(root)` per call, the final real path must equal the
 * lexical one, files open with `O_NOFOLLOW` and are proven by `/proc/self/fd`. Writes stream
 * into `.pstorage-tmp-<hex>` beside the target, fsync, then `link` (no overwrite) or
 * `rename` (overwrite), then fsync the directory. Residual risk: Node has no `openat`, so
 * a local user who can write into the root can still race a rename; API users cannot.
 *
 * @example
 * ```ts
 * const driver = createLocalDriver({ root: '/srv/pstorage/templates' })
 * const page = await driver.list('/', { limit: 100 })
 * ```
 */
export function createLocalDriver(config: LocalDriverConfig): BackendDriver {
  const parsed = LocalDriverConfigSchema.safeParse(config)
  if (!parsed.success)
    throw backendError(DRIVER_NAME, 'bad_request', 'Invalid local backend config', {
      details: { issues: parsed.error.issues.map((i) => i.message) },
    })
  const { root, crossMounts, statsMaxEntries } = parsed.data
  let closed = false

  function live(): void {
    if (closed) throw backendError(DRIVER_NAME, 'service_unavailable', 'The driver is closed')
  }

  async function base(): Promise<LocalBase> {
    try {
      const real = await realpath(root)
      const st = await stat(real)
      if (!st.isDirectory()) throw new Error('root is not a directory')
      const mounts = crossMounts ? new Set<string>() : await mountsUnder(real)
      return { real, dev: st.dev, crossMounts, mounts }
    } catch (cause) {
      throw backendError(DRIVER_NAME, 'service_unavailable', 'The backend root is unavailable', {
        cause,
      })
    }
  }

  /** Normalises an API path and refuses the temp-file namespace, before any I/O. */
  function pathOf(input: string): string {
    live()
    const rel = normalizeBackendPath(input)
    assertNotReserved(rel)
    return rel
  }

  /** An existing file or directory; special files behave as missing (they are not listed). */
  async function entry(b: LocalBase, rel: string) {
    const found = await resolveExisting(b, rel)
    if (!found.st.isFile() && !found.st.isDirectory())
      throw backendError(DRIVER_NAME, 'not_found', `${toApiPath(rel)} not found`)
    return found
  }

  const driver: BackendDriver = {
    name: DRIVER_NAME,
    capabilities: Object.freeze({ write: true, rangeRead: true, move: true, stats: true }),

    async test() {
      live()
      const started = performance.now()
      const latency = () => Math.round((performance.now() - started) * 1000) / 1000
      try {
        const b = await base()
        await access(b.real, constants.R_OK | constants.W_OK)
        const fs = await statfs(b.real)
        const details = { free_bytes: fs.bsize * fs.bavail, total_bytes: fs.bsize * fs.blocks }
        return { ok: true, latency_ms: latency(), message: 'Connected', details }
      } catch {
        return { ok: false, latency_ms: latency(), message: 'The backend root is not accessible' }
      }
    },

    async list(path, options = {}) {
      const rel = pathOf(path)
      resolveListLimit(options.limit)
      if (options.cursor !== undefined) decodeListCursor(options.cursor)
      const { abs, st } = await entry(await base(), rel)
      if (!st.isDirectory())
        throw backendError(DRIVER_NAME, 'bad_request', `${toApiPath(rel)} is not a directory`)
      const keys = (
        await addressableEntries(abs).catch((e) => Promise.reject(fsError(e, rel)))
      ).map((d) => ({
        type: d.isDirectory() ? ('directory' as const) : ('file' as const),
        name: d.name,
      }))
      const { page, next_cursor } = paginate(keys, options)
      const items = await Promise.all(
        page.map(async (key) => {
          const child = rel === '' ? key.name : `${rel}/${key.name}`
          const childAbs = join(abs, key.name)
          // Entries may vanish or change type between readdir and lstat: skip them.
          const cst = await lstatOrNone(childAbs).catch(() => undefined)
          if (!cst || (key.type === 'directory' ? !cst.isDirectory() : !cst.isFile())) return
          return describeEntry(child, childAbs, cst).catch(() => undefined)
        }),
      )
      const present = items.filter((i): i is StorageFile => i !== undefined)
      return next_cursor === undefined ? { items: present } : { items: present, next_cursor }
    },

    async stat(path) {
      const rel = pathOf(path)
      const { abs, st } = await entry(await base(), rel)
      return describeEntry(rel, abs, st).catch((e) => Promise.reject(fsError(e, rel)))
    },

    async read(path, options = {}) {
      const rel = pathOf(path)
      resolveRange(Number.MAX_SAFE_INTEGER, options) // refuse bad numbers before any I/O
      const { abs, st } = await entry(await base(), rel)
      if (st.isDirectory())
        throw backendError(DRIVER_NAME, 'bad_request', `${toApiPath(rel)} is a directory`)
      // O_NONBLOCK: if a FIFO is swapped in after the lstat, open must not hang a pool thread.
      const fh = await openVerified(abs, rel, constants.O_RDONLY | constants.O_NONBLOCK, st)
      try {
        const size = (await fh.stat()).size // the descriptor's size is the truth from here on
        const { offset, length } = resolveRange(size, options)
        const content_type = mimeTypeOf(baseName(rel))
        if (length === 0) {
          await fh.close()
          return { stream: (async function* () {})(), size, offset, length, content_type }
        }
        const stream = fh.createReadStream({ start: offset, end: offset + length - 1 })
        return { stream: stream as AsyncIterable<Uint8Array>, size, offset, length, content_type }
      } catch (error) {
        await fh.close().catch(() => undefined)
        throw error
      }
    },

    async write(path, source, options = {}) {
      const rel = pathOf(path)
      const overwrite = options.overwrite === true
      if (rel === '') throw backendError(DRIVER_NAME, 'conflict', 'The root is a directory')
      const b = await base()
      // Fail fast, before consuming a large upload; re-checked atomically at commit.
      const before = await resolveExisting(b, rel).catch((e: PStorageError) => {
        if (e.code === 'not_found') return undefined
        throw e
      })
      assertReplaceable(before?.st, rel, overwrite)
      const { abs: parent, created } = await ensureParents(b, rel)
      const abs = join(parent, baseName(rel))
      let tmp: string | undefined
      try {
        tmp = await writeTemp(parent, rel, source)
        assertReplaceable(await lstatOrNone(abs), rel, overwrite)
        await commit(tmp, abs, overwrite).catch((e: NodeJS.ErrnoException) =>
          Promise.reject(fsError(e.code === 'EISDIR' ? { ...e, code: 'EEXIST' } : e, rel)),
        )
        tmp = undefined
        await fsyncDir(parent) // the rename itself survives a crash
        return await describeEntry(rel, abs, await lstat(abs))
      } catch (error) {
        if (tmp !== undefined) await unlink(tmp).catch(() => undefined)
        await rollbackDirs(created)
        throw error
      }
    },

    async mkdir(path) {
      const rel = pathOf(path)
      if (rel === '') throw backendError(DRIVER_NAME, 'conflict', 'The root already exists')
      const { abs: parent } = await ensureParents(await base(), rel)
      const abs = join(parent, baseName(rel))
      await mkdir(abs).catch((e) => Promise.reject(fsError(e, rel)))
      await fsyncDir(parent)
      return describeEntry(rel, abs, await lstat(abs))
    },

    async delete(paths) {
      live()
      const rels = normalizeDeletePaths(paths)
      for (const rel of rels) assertNotReserved(rel)
      const b = await base()
      return deleteEach(
        rels,
        async (rel) => {
          const { abs, st } = await entry(b, rel)
          if (st.isDirectory()) await removeTree(b, abs)
          else await unlink(abs)
          await fsyncDir(dirname(abs))
        },
        fsError,
      )
    },

    async move(from, to, options = {}) {
      const src = pathOf(from)
      const dst = pathOf(to)
      assertMovable(src, dst)
      const overwrite = options.overwrite === true
      const b = await base()
      const source = await entry(b, src)
      const { abs: parent, created } = await ensureParents(b, dst)
      const abs = join(parent, baseName(dst))
      try {
        const existing = await lstatOrNone(abs)
        // A type change (file ↔ directory) is a conflict even with overwrite.
        assertReplaceable(existing, dst, overwrite && !source.st.isDirectory())
        await commit(source.abs, abs, overwrite || source.st.isDirectory())
        await fsyncDir(dirname(source.abs))
        if (dirname(source.abs) !== parent) await fsyncDir(parent)
        return await describeEntry(dst, abs, await lstat(abs))
      } catch (error) {
        await rollbackDirs(created)
        throw fsError(error, dst)
      }
    },

    async stats() {
      live()
      return walkStats(await base(), statsMaxEntries)
    },

    async close() {
      closed = true
    },
  }
  return Object.freeze(driver)
}
