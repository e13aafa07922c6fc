import type { EngineContext } from './context.js'

/**
 * The live share of a chunk's record bytes: all of them while every present member lives,
 * else in proportion to its live members (rounded down). What `used_bytes` and each
 * segment's `live_bytes` count, and what GC expects to keep of a victim.
 *
 * @example
 * ```ts
 * liveShare(8224, 4, 8) // 4112
 * ```
 */
export function liveShare(recordBytes: number, live: number, present: number): number {
  if (live <= 0) return 0
  return live >= present ? recordBytes : Math.floor((recordBytes * live) / present)
}

/**
 * Deletes every physical block left without references (call inside the transaction that
 * dropped them): forgets their fingerprints, lowers their chunks' live counts, deletes
 * chunks with no live member left and updates the live accounting of their segments.
 * Returns the ids of the blocks reaped.
 *
 * @example
 * ```ts
 * commit(ctx, () => { ctx.maps.remove(id); reapDead(ctx) })
 * ```
 */
export function reapDead(ctx: EngineContext): Set<number> {
  const dead = ctx.blocks.dead()
  const ids = new Set<number>()
  if (dead.length === 0) return ids
  const dying = new Map<number, number>()
  for (const block of dead) {
    ids.add(block.id)
    ctx.dedupe.forgetBytes(block.fp)
    ctx.fpIndex.forget(block.fp, block.id)
    const chunk = block.id - block.slot
    dying.set(chunk, (dying.get(chunk) ?? 0) + 1)
  }
  for (const [id, n] of dying) {
    const chunk = ctx.chunks.get(id)
    if (!chunk) continue
    const live = chunk.live - n
    const before = liveShare(chunk.record_len, chunk.live, chunk.present)
    const after = liveShare(chunk.record_len, live, chunk.present)
    ctx.segments.addLive(chunk.segment, after - before, live > 0 ? 0 : -1, -n)
    if (live > 0) ctx.chunks.setLive(id, live)
    else {
      ctx.chunks.delete(id)
      ctx.cache.delete(id)
    }
  }
  ctx.blocks.deleteDead()
  return ids
}
