import { BLOCK_SIZE } from '@pstorage/core'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { FlashEngine } from '../src/index.js'
import { freshEngine } from './helpers.js'

const KiB = 1024
const MiB = 1024 * KiB

describe('garbage collection', () => {
  let engine: FlashEngine
  let remove: () => void
  afterEach(async () => {
    await engine.close()
    remove()
  })

  it('reclaims the space of overwritten data, erases segments, keeps data intact', async () => {
    ;({ engine, remove } = await freshEngine({ capacityBytes: 2 * MiB }))
    await engine.createVolume('v', 8 * MiB)
    let current: Uint8Array = new Uint8Array(0)
    for (let round = 0; round < 4; round++) {
      current = pseudoRandomBytes(512 * KiB, 100 + round)
      await engine.write('v', 0, current)
    }
    const before = await engine.flashDetails()
    expect(before.capacity.dead_bytes).toBeGreaterThan(1 * MiB)
    await engine.collectGarbage()
    const after = await engine.flashDetails()
    expect(after.segments.free).toBeGreaterThan(before.segments.free)
    // Only the open segment may keep dead records.
    expect(after.capacity.dead_bytes).toBeLessThan(64 * KiB)
    expect(after.capacity.live_bytes).toBe(before.capacity.live_bytes)
    expect(after.erase_counts.max).toBeGreaterThanOrEqual(1)
    expect(after.garbage_collection.runs).toBe(before.garbage_collection.runs + 1)
    // 3 dead versions of 128 blocks; some may still sit in the open segment.
    expect(after.garbage_collection.blocks_reclaimed).toBeGreaterThan(3 * 128 - 16)
    expect(after.garbage_collection.blocks_reclaimed).toBeLessThanOrEqual(3 * 128)
    expect(after.write_amplification).toBeGreaterThanOrEqual(1)
    const { flash } = await engine.stats()
    expect(flash.garbage_collection).toEqual({
      state: 'idle',
      gc_runs: after.garbage_collection.runs,
      blocks_reclaimed: after.garbage_collection.blocks_reclaimed,
    })
    expect(flash.health.max_erase_count).toBe(after.erase_counts.max)
    expect(flash.health.health_percentage).toBeLessThan(100)
    expect(await engine.read('v', 0, current.length)).toEqual(current)
    expect(await engine.fsck()).toEqual([])
    expect(await engine.scrub()).toEqual([])
  })

  it('reclaims what deleted volumes and snapshots held, and only that', async () => {
    ;({ engine, remove } = await freshEngine({ capacityBytes: 2 * MiB }))
    await engine.createVolume('keep', MiB)
    await engine.createVolume('drop', MiB)
    const kept = pseudoRandomBytes(256 * KiB, 1)
    const shared = pseudoRandomBytes(64 * KiB, 2)
    await engine.write('keep', 0, kept)
    await engine.write('drop', 0, pseudoRandomBytes(256 * KiB, 3))
    await engine.write('drop', 256 * KiB, shared)
    await engine.createSnapshot('drop', 'snap')
    await engine.write('keep', 512 * KiB, shared)
    await engine.deleteVolume('drop')
    await engine.collectGarbage()
    // The snapshot still holds the dropped volume's blocks.
    expect((await engine.flashDetails()).garbage_collection.blocks_reclaimed).toBe(0)
    await engine.deleteSnapshot('snap')
    await engine.collectGarbage()
    const details = await engine.flashDetails()
    expect(details.garbage_collection.blocks_reclaimed).toBe(64)
    // 80 random blocks stored raw in chunks of 2 (64 KiB segments): 40 records of 32 + 8192 bytes.
    expect(details.capacity.live_bytes).toBe(40 * (32 + 2 * BLOCK_SIZE))
    expect(await engine.read('keep', 0, kept.length)).toEqual(kept)
    expect(await engine.read('keep', 512 * KiB, shared.length)).toEqual(shared)
    expect(await engine.fsck()).toEqual([])
  })

  it('runs in the background when free segments fall under the watermark', async () => {
    ;({ engine, remove } = await freshEngine({
      capacityBytes: 2 * MiB,
      backgroundMaintenance: true,
      gcFreeWatermark: 0.3,
    }))
    await engine.createVolume('v', 8 * MiB)
    let last: Uint8Array = new Uint8Array(0)
    // 6 MiB of writes through a 2 MiB medium: impossible without reclaiming.
    for (let round = 0; round < 24; round++) {
      last = pseudoRandomBytes(256 * KiB, 300 + round)
      await engine.write('v', 0, last)
    }
    // Background steps keep running after the last write until the watermark is met.
    await vi.waitFor(
      async () => {
        const { segments } = await engine.flashDetails()
        expect(segments.free / segments.total).toBeGreaterThanOrEqual(0.3)
      },
      { timeout: 10_000, interval: 20 },
    )
    const details = await engine.flashDetails()
    expect(details.garbage_collection.segments_erased).toBeGreaterThan(10)
    expect(details.garbage_collection.runs).toBeGreaterThanOrEqual(1)
    expect(await engine.read('v', 0, last.length)).toEqual(last)
    expect(await engine.fsck()).toEqual([])
  })
})

describe('wear leveling', () => {
  /** Cold data once, then a hot region overwritten many times; samples the spread. */
  async function hotAndCold(threshold: number) {
    const { engine, remove } = await freshEngine({
      capacityBytes: 1536 * KiB, // 24 segments of 64 KiB
      backgroundMaintenance: true,
      wearLevelingThreshold: threshold,
    })
    try {
      await engine.createVolume('v', 8 * MiB)
      const cold = pseudoRandomBytes(640 * KiB, 1)
      await engine.write('v', MiB, cold)
      let worst = 0
      for (let round = 0; round < 240; round++) {
        await engine.write('v', 0, pseudoRandomBytes(64 * KiB, 1000 + round))
        if (round % 10 === 9)
          worst = Math.max(worst, (await engine.flashDetails()).erase_counts.spread)
      }
      const details = await engine.flashDetails()
      return {
        worst,
        final: details.erase_counts,
        moved: details.wear_leveling.blocks_moved,
        variance: (await engine.stats()).flash.wear_leveling.wear_variance,
        intact: Buffer.from(await engine.read('v', MiB, cold.length)).equals(cold),
        fsck: await engine.fsck(),
      }
    } finally {
      await engine.close()
      remove()
    }
  }

  it('keeps the erase-count spread bounded by moving cold data', async () => {
    const leveled = await hotAndCold(4)
    const unleveled = await hotAndCold(1_000_000)
    // Without leveling the cold segments stay at 0 while hot ones wear on.
    expect(unleveled.moved).toBe(0)
    expect(unleveled.final.min).toBe(0)
    expect(unleveled.worst).toBeGreaterThan(12)
    // With it, cold data moved onto worn segments and the spread stayed near the threshold.
    expect(leveled.moved).toBeGreaterThan(0)
    expect(leveled.worst).toBeLessThanOrEqual(4 + 2)
    expect(leveled.final.min).toBeGreaterThan(0)
    expect(leveled.variance).toBeLessThan(unleveled.variance)
    expect(leveled.intact && unleveled.intact).toBe(true)
    expect(leveled.fsck).toEqual([])
  }, 30_000)
})
