import { commit, type EngineContext } from './context.js'
import type { SegmentRole } from './segment-table.js'

/** Bytes inspected per step when measuring a torn tail. */
const SCAN_STEP = 1024 * 1024

/**
 * Recovery on open. SQLite replays its WAL by itself; what is left is the segment files.
 * A crash between the fsync of appended records and the metadata commit leaves bytes past
 * an open segment's committed `write_offset`: a torn tail that nothing references. They
 * are counted and discarded (the file is cut back and re-extended with zeros), so the next
 * append starts on clean space. A batch that crashed after taking a fresh segment left it
 * `free` in the table, and allocation erases it again. If a crash left two open segments
 * for one stream, all but the newest are sealed.
 *
 * @example
 * ```ts
 * await recover(ctx)
 * ```
 */
export async function recover(ctx: EngineContext): Promise<void> {
  const now = ctx.options.clock.now().getTime()
  for (const role of ['user', 'relocation'] as SegmentRole[]) {
    const extra = ctx.segments.open(role).slice(1)
    if (extra.length > 0) {
      commit(ctx, () => {
        for (const segment of extra)
          ctx.segments.update(segment.id, { state: 'sealed', role: null, sealed_at: now })
      })
    }
  }
  let torn = 0
  for (const segment of ctx.segments.inState('open')) {
    // The tail's extent: from the committed end to its last non-zero byte.
    let end = segment.write_offset
    for (let at = segment.write_offset; at < ctx.geometry.segmentSize; at += SCAN_STEP) {
      const bytes = await ctx.files.read(
        segment.id,
        at,
        Math.min(SCAN_STEP, ctx.geometry.segmentSize - at),
      )
      for (let i = bytes.length - 1; i >= 0; i--) {
        if (bytes[i] !== 0) {
          end = at + i + 1
          break
        }
      }
    }
    torn += end - segment.write_offset
    await ctx.files.discardFrom(segment.id, segment.write_offset)
  }
  ctx.state.tornBytesDiscarded = torn
}
