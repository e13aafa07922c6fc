import type { Dirent } from 'node:fs'
import { lstat, readdir, realpath, rmdir, statfs, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { BackendStats } from '../ports/backend-driver.js'
import { backendError } from './driver-kit.js'
import { crossesMount, DRIVER_NAME, type LocalBase, TEMP_PREFIX } from './local-fs.js'
import { isTemplateName } from './mime.js'

/**
 * Deletes the directory `abs` and everything under it without following links and, unless
 * `base.crossMounts`, without entering another file system: `fs.rm({ recursive })` would
 * empty a bind mount of `/etc` placed under the root (security.md, "Path traversal").
 * Each directory is re-checked with `realpath` before it is emptied, so a directory swapped
 * for a symlink mid-walk is refused rather than followed (Node has no `unlinkat`).
 *
 * @example
 * ```ts
 * await removeTree(base, join(base.real, 'old-isos'))
 * ```
 */
export async function removeTree(base: LocalBase, abs: string): Promise<void> {
  if ((await realpath(abs)) !== abs)
    throw backendError(DRIVER_NAME, 'forbidden', 'A directory changed into a link while deleting')
  if (crossesMount(base, abs, await lstat(abs)))
    throw backendError(DRIVER_NAME, 'forbidden', 'Refusing to delete across a mount point')
  const entries = await readdir(abs, { withFileTypes: true })
  for (const entry of entries) {
    const child = join(abs, entry.name)
    const st = await lstat(child)
    if (st.isDirectory()) await removeTree(base, child)
    else await unlink(child) // a symlink is removed itself, never its target
  }
  await rmdir(abs)
}

/**
 * Space and counts of the tree under `base.real`: every regular file (temp files, links and
 * other file systems skipped) until `maxEntries` entries were visited, then `truncated`.
 * `total_bytes` is the file system's capacity (`statfs`). A walk, not a cache: cost grows
 * with the tree, which is why it is bounded (OWASP API4).
 *
 * @example
 * ```ts
 * const { used_bytes, truncated } = await walkStats(base, 100_000)
 * ```
 */
export async function walkStats(base: LocalBase, maxEntries: number): Promise<BackendStats> {
  let used = 0
  let files = 0
  let templates = 0
  let visited = 0
  const pending = [base.real]
  while (pending.length > 0) {
    const dir = pending.pop()!
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[])
    for (const entry of entries) {
      if (++visited > maxEntries) return finish(true)
      if (entry.name.startsWith(TEMP_PREFIX)) continue
      const child = join(dir, entry.name)
      if (entry.isDirectory()) {
        const st = await lstat(child).catch(() => undefined)
        if (st?.isDirectory() && !crossesMount(base, child, st)) pending.push(child)
      } else if (entry.isFile()) {
        const st = await lstat(child).catch(() => undefined) // may vanish mid-walk
        if (!st?.isFile()) continue
        used += st.size
        files++
        if (isTemplateName(entry.name)) templates++
      }
    }
  }
  return finish(false)

  async function finish(truncated: boolean): Promise<BackendStats> {
    const fs = await statfs(base.real)
    return {
      used_bytes: used,
      total_bytes: fs.bsize * fs.blocks,
      file_count: files,
      template_count: templates,
      ...(truncated ? { truncated } : {}),
    }
  }
}
