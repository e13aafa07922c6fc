import type { IntegrityIssue } from '@pstorage/core'
import { verifyRecord } from './block-reader.js'
import type { EngineContext } from './context.js'

/**
 * Reads every live block from the medium (never the cache), checks the record checksum,
 * decodes it and verifies its fingerprint. A corrupt block is reported and dropped from
 * the cache, so the next read of it fails with `data_corruption` instead of serving a
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
      const blocks = ctx.blocks.inSegment(segment.id)
      if (blocks.length === 0) continue
      const bytes = await ctx.files.read(segment.id, 0, segment.write_offset)
      for (const block of blocks) {
        const result = verifyRecord(block, bytes, block.offset)
        if (typeof result !== 'string') continue
        ctx.cache.delete(block.id)
        issues.push({
          kind: 'corrupt_block',
          detail: `Block ${block.id} (segment ${segment.id}, offset ${block.offset}, ${block.refs} references): ${result}`,
        })
      }
    }
  }
  return issues
}
