import type { IntegrityIssue } from '@pstorage/core'
import { expectation } from './chunk-reader.js'
import { withVerifiedChunk } from './compute.js'
import type { EngineContext } from './context.js'

/**
 * Reads every live chunk from the medium (never the cache), checks the record checksum and
 * header, decodes it and verifies its content hash. A corrupt chunk is reported and dropped
 * from the cache, so the next read of it fails with `data_corruption` instead of serving a
 * stale copy. Reads each segment once.
 *
 * @example
 * ```ts
 * const issues = await scrub(ctx) // [{ kind: 'corrupt_block', detail: 'Block 7 …' }]
 * ```
 */
export async function scrub(ctx: EngineContext): Promise<IntegrityIssue[]> {
  const issues: IntegrityIssue[] = []
  for (const state of ['open', 'sealed'] as const) {
    for (const segment of ctx.segments.inState(state)) {
      const chunks = ctx.chunks.inSegment(segment.id)
      if (chunks.length === 0) continue
      const bytes = await ctx.files.read(segment.id, 0, segment.write_offset)
      for (const chunk of chunks) {
        const result = withVerifiedChunk(expectation(chunk), bytes, chunk.offset, () => true)
        if (typeof result !== 'string') continue
        ctx.cache.delete(chunk.id)
        const blocks =
          chunk.span === 1 ? `Block ${chunk.id}` : `Blocks ${chunk.id}-${chunk.id + chunk.span - 1}`
        issues.push({
          kind: 'corrupt_block',
          detail: `${blocks} (segment ${segment.id}, offset ${chunk.offset}, ${chunk.live} live): ${result}`,
        })
      }
    }
  }
  return issues
}
