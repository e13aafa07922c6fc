import {
  assertMovable,
  type BackendDriver,
  backendError,
  baseName,
  decodeListCursor,
  deleteEach,
  mimeTypeOf,
  normalizeBackendPath,
  normalizeDeletePaths,
  paginate,
  resolveListLimit,
  resolveRange,
  toApiPath,
} from '@pstorage/core'
import { DRIVER_NAME } from '../driver-name.js'
import { FTYPE3, NFS3ERR } from '../nfs3/constants.js'
import { hasNfsStatus } from '../nfs3/nfs-status-error.js'
import type { ResolvedUserspaceOptions } from '../options.js'
import { commitName } from './commit-name.js'
import { addressable, readDirectory, removeTree, walkStats } from './directory.js'
import {
  asStorageError,
  assertReplaceable,
  attrsOf,
  describe,
  ensureParents,
  locateEntry,
  locateOptional,
  lookupChild,
  nfsPathError,
  rollbackDirs,
} from './namespace.js'
import { type NfsSession, openSession, probe } from './session.js'
import { assertNotReserved, tempName } from './temp-names.js'
import { readRange, writeAll } from './transfer.js'

const closedError = () => backendError(DRIVER_NAME, 'service_unavailable', 'The driver is closed')

/**
 * The userspace NFSv3 driver: every operation is NFS procedures on the export's handles
 * over one TCP connection (see the package README for the protocol coverage).
 *
 * Decisions: paths go through `normalizeBackendPath` before any RPC; they are resolved by
 * LOOKUP one component at a time from the root handle, and a symlink anywhere is
 * `forbidden`, never followed (as core's local driver). Writes stream into a hidden
 * `.pstorage-tmp-<hex>` file beside the target (GUARDED CREATE), UNSTABLE WRITEs +
 * COMMIT, then LINK (no overwrite) or RENAME (overwrite); namespace procedures are
 * synchronous on an NFSv3 server (RFC 1813 §3.3), so a resolved write survives a crash.
 * Recursive deletes and the stats walk go by handle, so a name swapped for a symlink
 * mid-walk cannot redirect them. `list` returns `item_count: null` for directories (a
 * READDIRPLUS per child would cost a round trip each); `stat` counts.
 *
 * @example
 * ```ts
 * const driver = createUserspaceDriver(resolveUserspaceOptions({ server: 'nas', export: '/srv/iso' }))
 * ```
 */
export function createUserspaceDriver(o: ResolvedUserspaceOptions): BackendDriver {
  let closed = false
  let current: Promise<NfsSession> | undefined

  function live(): void {
    if (closed) throw closedError()
  }

  /** The mounted session, opened on first use; a failed open is retried by the next call. */
  function session(): Promise<NfsSession> {
    live()
    if (!current) {
      const opening = openSession(o)
      current = opening
      opening.catch(() => {
        if (current === opening) current = undefined
      })
    }
    return current
  }

  /**
   * Runs `fn` on the session, rewrapping NFS failures with the API path. A STALE or
   * BADHANDLE answer may mean the root handle died (export re-created, server without
   * persistent handles): if GETATTR of the root confirms it, the session is dropped so
   * the next call mounts again.
   */
  async function run<T>(rel: string, fn: (s: NfsSession) => Promise<T>): Promise<T> {
    const s = await session()
    try {
      return await fn(s)
    } catch (error) {
      if (hasNfsStatus(error, NFS3ERR.STALE, NFS3ERR.BADHANDLE)) await checkRoot(s)
      if (closed) throw closedError()
      throw nfsPathError(error, rel)
    }
  }

  async function checkRoot(s: NfsSession): Promise<void> {
    const dead = await s.nfs.getattr(s.root).then(
      () => false,
      (e: unknown) => hasNfsStatus(e, NFS3ERR.STALE, NFS3ERR.BADHANDLE),
    )
    if (dead && current && (await current.catch(() => undefined)) === s) {
      current = undefined
      void s.close()
    }
  }

  /** Normalises an API path and refuses the temp-file namespace, before any I/O. */
  function pathOf(input: string): string {
    live()
    const rel = normalizeBackendPath(input)
    assertNotReserved(rel)
    return rel
  }

  async function countItems(s: NfsSession, fh: Buffer): Promise<number> {
    return addressable((await readDirectory(s, fh)).entries).length
  }

  const driver: BackendDriver = {
    name: DRIVER_NAME,
    capabilities: Object.freeze({ write: true, rangeRead: true, move: true, stats: true }),

    async test() {
      live()
      return probe(o)
    },

    async list(path, options = {}) {
      const rel = pathOf(path)
      resolveListLimit(options.limit)
      if (options.cursor !== undefined) decodeListCursor(options.cursor)
      return run(rel, async (s) => {
        const dir = await locateEntry(s, rel)
        if (dir.attrs.type !== FTYPE3.DIR)
          throw backendError(DRIVER_NAME, 'bad_request', `${toApiPath(rel)} is not a directory`)
        const entries = addressable((await readDirectory(s, dir.fh)).entries)
        const keys = entries.map((e) => ({ ...e, name: e.apiName }))
        const { page, next_cursor } = paginate(keys, options)
        const items = page.map((e) =>
          describe(rel === '' ? e.name : `${rel}/${e.name}`, e.attrs, null),
        )
        return next_cursor === undefined ? { items } : { items, next_cursor }
      })
    },

    async stat(path) {
      const rel = pathOf(path)
      return run(rel, async (s) => {
        const found = await locateEntry(s, rel)
        const dir = found.attrs.type === FTYPE3.DIR
        return describe(rel, found.attrs, dir ? await countItems(s, found.fh) : null)
      })
    },

    async read(path, options = {}) {
      const rel = pathOf(path)
      resolveRange(Number.MAX_SAFE_INTEGER, options) // refuse bad numbers before any I/O
      return run(rel, async (s) => {
        const found = await locateEntry(s, rel)
        if (found.attrs.type === FTYPE3.DIR)
          throw backendError(DRIVER_NAME, 'bad_request', `${toApiPath(rel)} is a directory`)
        const size = found.attrs.size
        const { offset, length } = resolveRange(size, options)
        return {
          stream: readRange(s, found.fh, offset, length, o.ioDepth, rel),
          size,
          offset,
          length,
          content_type: mimeTypeOf(baseName(rel)),
          ownedChunks: true, // each a READ reply's own buffer (see readRange)
        }
      })
    },

    async write(path, source, options = {}) {
      const rel = pathOf(path)
      const overwrite = options.overwrite === true
      if (rel === '') throw backendError(DRIVER_NAME, 'conflict', 'The root is a directory')
      return run(rel, async (s) => {
        // Fail fast, before consuming a large upload; re-checked atomically at commit.
        assertReplaceable((await locateOptional(s, rel))?.attrs, rel, overwrite)
        const { dir, created } = await ensureParents(s, rel)
        const name = Buffer.from(baseName(rel), 'utf8')
        const tmp = tempName()
        let committed = false
        try {
          const made = await s.nfs.create(dir, tmp, { mode: 'guarded', attrs: { mode: 0o644 } })
          const tmpFh = made?.fh ?? (await s.nfs.lookup(dir, tmp)).fh
          await writeAll(s, tmpFh, source, o.ioDepth, rel)
          const how = await commitName(s, { dir, name: tmp }, tmpFh, { dir, name }, rel, overwrite)
          committed = true
          // A temp name left by a failed REMOVE is hidden, and inert: the target is committed.
          if (how === 'linked') await s.nfs.remove(dir, tmp).catch(() => undefined)
          return describe(rel, await s.nfs.getattr(tmpFh), null)
        } catch (error) {
          if (!committed) {
            await s.nfs.remove(dir, tmp).catch(() => undefined)
            await rollbackDirs(s, created)
          }
          throw error
        }
      })
    },

    async mkdir(path) {
      const rel = pathOf(path)
      if (rel === '') throw backendError(DRIVER_NAME, 'conflict', 'The root already exists')
      return run(rel, async (s) => {
        const { dir } = await ensureParents(s, rel)
        const made = await s.nfs.mkdir(dir, Buffer.from(baseName(rel), 'utf8'), { mode: 0o755 })
        const obj = made ?? (await s.nfs.lookup(dir, Buffer.from(baseName(rel), 'utf8')))
        return describe(rel, await attrsOf(s, obj), 0)
      })
    },

    async delete(paths) {
      live()
      const rels = normalizeDeletePaths(paths)
      for (const rel of rels) assertNotReserved(rel)
      const s = await session()
      return deleteEach(
        rels,
        async (rel) => {
          const found = await locateEntry(s, rel)
          if (found.attrs.type === FTYPE3.DIR) {
            await removeTree(s, found.fh)
            await s.nfs.rmdir(found.parent!, found.name)
          } else await s.nfs.remove(found.parent!, found.name)
        },
        (error, rel) => {
          if (closed) throw closedError()
          return asStorageError(error, rel)
        },
      )
    },

    async move(from, to, options = {}) {
      const src = pathOf(from)
      const dst = pathOf(to)
      assertMovable(src, dst)
      const overwrite = options.overwrite === true
      const source = await run(src, (s) => locateEntry(s, src))
      const isDir = source.attrs.type === FTYPE3.DIR
      return run(dst, async (s) => {
        // A type change (file ↔ directory) is a conflict even with overwrite.
        assertReplaceable((await locateOptional(s, dst))?.attrs, dst, overwrite && !isDir)
        const { dir, created } = await ensureParents(s, dst)
        const name = Buffer.from(baseName(dst), 'utf8')
        try {
          const from = { dir: source.parent!, name: source.name }
          if (isDir) {
            // RENAME would replace an empty directory target: the checks make that a race
            // window only (NFSv3 has no RENAME_NOREPLACE).
            assertReplaceable((await lookupChild(s, dir, name))?.attrs, dst, false)
            await s.nfs.rename(from.dir, from.name, dir, name)
          } else if (
            (await commitName(s, from, source.fh, { dir, name }, dst, overwrite)) === 'linked'
          )
            await s.nfs.remove(from.dir, from.name).catch(async (error: unknown) => {
              // Keep one name, not two: undo the link, then report.
              await s.nfs.remove(dir, name).catch(() => undefined)
              throw nfsPathError(error, src)
            })
          const attrs = await s.nfs.getattr(source.fh)
          return describe(dst, attrs, isDir ? await countItems(s, source.fh) : null)
        } catch (error) {
          await rollbackDirs(s, created)
          if (hasNfsStatus(error, NFS3ERR.EXIST, NFS3ERR.NOTEMPTY, NFS3ERR.ISDIR, NFS3ERR.NOTDIR))
            throw backendError(DRIVER_NAME, 'conflict', `${toApiPath(dst)} already exists`, {
              cause: error,
            })
          throw error
        }
      })
    },

    async stats() {
      live()
      return run('', (s) => walkStats(s, o.statsMaxEntries))
    },

    async close() {
      if (closed) return
      closed = true
      const opening = current
      current = undefined
      const s = await opening?.catch(() => undefined)
      await s?.close()
    },
  }
  return Object.freeze(driver)
}
