import { BLOCK_SIZE, isPStorageError } from '@pstorage/core'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FlashEngine } from '../src/index.js'
import { freshEngine } from './helpers.js'

const KiB = 1024
const MiB = 1024 * KiB

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => (isPStorageError(e) ? e.code : String(e)),
  )
}

describe('physical capacity', () => {
  let engine: FlashEngine
  let remove: () => void

  beforeEach(async () => {
    // 16 segments of 64 KiB: 13 usable after over-provisioning, about 780 KiB for hosts.
    ;({ engine, remove } = await freshEngine({ capacityBytes: MiB }))
    await engine.createVolume('v', 64 * MiB)
  })
  afterEach(async () => {
    await engine.close()
    remove()
  })

  /** Writes random 64 KiB chunks from `start` until the medium refuses one. */
  async function fill(start: number): Promise<number> {
    for (let offset = start; ; offset += 64 * KiB) {
      const code = await codeOf(
        engine.write('v', offset, pseudoRandomBytes(64 * KiB, offset / BLOCK_SIZE + 1)),
      )
      if (code === 'insufficient_capacity') return offset
      expect(code).toBeUndefined()
    }
  }

  it('refuses a write beyond capacity with insufficient_capacity, applying none of it', async () => {
    const full = await fill(0)
    expect(full).toBeGreaterThan(0)
    const { capacity } = (await engine.stats()).flash
    expect(capacity.used_bytes).toBeLessThanOrEqual(capacity.total_bytes)
    expect(capacity.used_bytes + capacity.free_bytes).toBe(capacity.total_bytes)
    // The refused write left no block behind: its range reads as zeros, the end is unchanged.
    const end = await engine.writtenEnd('v')
    expect(end).toBe(full)
    expect(await engine.read('v', full, 64 * KiB)).toEqual(new Uint8Array(64 * KiB))
    // An overwrite of existing data that does not fit leaves the old bytes.
    const before = await engine.read('v', 0, 2 * 64 * KiB)
    const big = pseudoRandomBytes(40 * 64 * KiB, 999)
    expect(await codeOf(engine.write('v', 0, big))).toBe('insufficient_capacity')
    expect(await engine.read('v', 0, 2 * 64 * KiB)).toEqual(before)
    expect(await engine.fsck()).toEqual([])
    // Zero blocks need no medium: still accepted when full.
    await engine.write('v', full, new Uint8Array(64 * KiB))
    expect(await engine.writtenEnd('v')).toBe(full + 64 * KiB)
  })

  it('keeps accepting overwrites when full: foreground GC reclaims the dead versions', async () => {
    const full = await fill(0)
    // A write needs room for its new blocks before the ones it replaces die, so on a full
    // medium each write must fit the spare area: 16 KiB writes, cycling over 256 KiB.
    const region = Math.min(full, 4 * 64 * KiB)
    const last = new Uint8Array(region)
    for (let round = 0; round < 12 * (region / (16 * KiB)); round++) {
      const offset = (round * 16 * KiB) % region
      const chunk = pseudoRandomBytes(16 * KiB, 5000 + round)
      await engine.write('v', offset, chunk)
      last.set(chunk, offset)
    }
    expect(await engine.read('v', 0, region)).toEqual(last)
    const details = await engine.flashDetails()
    expect(details.garbage_collection.segments_erased).toBeGreaterThan(0)
    expect(details.write_amplification).toBeGreaterThan(1)
    expect(await engine.fsck()).toEqual([])
  })

  it('accepts data again once deletes free space and GC erases it', async () => {
    await engine.createVolume('w', 64 * MiB)
    const full = await fill(0)
    expect(await codeOf(engine.write('w', 0, pseudoRandomBytes(64 * KiB, 77)))).toBe(
      'insufficient_capacity',
    )
    await engine.deleteVolume('v')
    expect((await engine.stats()).flash.capacity.used_bytes).toBe(0)
    await engine.collectGarbage()
    const data = pseudoRandomBytes(full / 2, 78)
    await engine.write('w', 0, data)
    expect(await engine.read('w', 0, data.length)).toEqual(data)
    expect(await engine.fsck()).toEqual([])
  })
})
