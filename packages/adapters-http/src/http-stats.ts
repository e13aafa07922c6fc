import { type BackendStats, isPStorageError, isTemplateName, MAX_PATH_BYTES } from '@pstorage/core'
import {
  CONCURRENCY,
  fetchIndex,
  type HttpContext,
  headFile,
  type IndexPage,
} from './http-index.js'

// A subdirectory that cannot be listed is left out, as the local driver skips unreadable
// ones; the base URL itself failing, or the server failing, still throws.
const SKIPPED = new Set([
  'forbidden',
  'not_found',
  'bad_request',
  'not_applicable',
  'payload_too_large',
])

/**
 * Space and counts of the tree under the base URL by a breadth-first crawl of its indexes,
 * `CONCURRENCY` directories at a time. Every request counts against `statsMaxRequests`:
 * an index `GET` per directory, and a `HEAD` per file whose size the index does not state
 * exactly. When the budget runs out the figures are lower bounds and `truncated` is set.
 * A web server has no capacity to report, so there is no `total_bytes`. Symlink loops on
 * the server end at the budget or at the 4096-byte path limit.
 *
 * @example
 * ```ts
 * const { used_bytes, truncated } = await crawlStats(ctx)
 * ```
 */
export async function crawlStats(ctx: HttpContext): Promise<BackendStats> {
  const budget = ctx.config.statsMaxRequests
  const utf8 = new TextEncoder()
  let requests = 0
  let truncated = false
  let used = 0
  let files = 0
  let templates = 0
  const spend = (): boolean => {
    if (requests >= budget) truncated = true
    else requests++
    return !truncated
  }

  async function visit(rel: string, next: string[]): Promise<void> {
    if (!spend()) return
    let page: IndexPage
    try {
      page = await fetchIndex(ctx, rel)
    } catch (error) {
      if (rel !== '' && isPStorageError(error) && SKIPPED.has(error.code)) return
      throw error
    }
    for (const entry of page.entries) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`
      if (entry.type === 'directory') {
        if (utf8.encode(child).length <= MAX_PATH_BYTES) next.push(child)
        continue
      }
      let size = entry.size
      if (size === undefined) {
        if (!spend()) return
        size = (await headFile(ctx, child))?.size
        if (size === undefined) continue
      }
      used += size
      files++
      if (isTemplateName(entry.name)) templates++
    }
  }

  let level = ['']
  while (level.length > 0 && !truncated) {
    const next: string[] = []
    const queue = [...level]
    const worker = async () => {
      for (let rel = queue.shift(); rel !== undefined && !truncated; rel = queue.shift())
        await visit(rel, next)
    }
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker))
    level = next
  }
  return {
    used_bytes: used,
    file_count: files,
    template_count: templates,
    ...(truncated ? { truncated: true } : {}),
  }
}
