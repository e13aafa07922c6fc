import { BLOCK_SIZE } from '@pstorage/core'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FlashEngine } from '../src/index.js'
import { freshEngine } from './helpers.js'

const KiB = 1024
const MiB = 1024 * KiB

describe('concurrency', () => {
  let engine: FlashEngine
  let remove: () => void

  beforeEach(async () => {
    ;({ engine, remove } = await freshEngine({ capacityBytes: 4 * MiB }))
    await engine.createVolume('v', 8 * MiB)
  })
  afterEach(async () => {
    await engine.close()
    remove()
  })

  it('lands concurrent writes to the same block in call order, partial ones merged', async () => {
    const full = pseudoRandomBytes(BLOCK_SIZE, 1)
    const writes = [
      engine.write('v', 0, pseudoRandomBytes(BLOCK_SIZE, 2)),
      engine.write('v', 0, full),
      engine.write('v', 0, new TextEncoder().encode('abc')),
      engine.write('v', 0, new TextEncoder().encode('X')),
    ]
    await Promise.all(writes)
    const expected = Uint8Array.from(full)
    expected.set(new TextEncoder().encode('Xbc'))
    expect(await engine.read('v', 0, BLOCK_SIZE)).toEqual(expected)
    expect(await engine.fsck()).toEqual([])
  })

  it('never dedupes against a block its own batch overwrote', async () => {
    // One batch: each write replaces the one before, so all but the last new block die in
    // the commit that stores them; their fingerprints must not stay in the dedupe index.
    const versions = Array.from({ length: 8 }, (_, i) => pseudoRandomBytes(BLOCK_SIZE, 500 + i))
    await Promise.all(versions.map((v) => engine.write('v', 0, v)))
    for (const [i, v] of versions.slice(0, 3).entries()) {
      await engine.createVolume(`other-${i}`, MiB)
      await engine.write(`other-${i}`, 0, v)
      expect(await engine.read(`other-${i}`, 0, BLOCK_SIZE)).toEqual(v)
    }
    expect(await engine.read('v', 0, BLOCK_SIZE)).toEqual(versions[7])
    expect(await engine.fsck()).toEqual([])
  })

  it('takes a snapshot between queued writes at exactly that point', async () => {
    const first = pseudoRandomBytes(2 * BLOCK_SIZE, 10)
    const second = pseudoRandomBytes(2 * BLOCK_SIZE, 11)
    const a = engine.write('v', 0, first)
    const snap = engine.createSnapshot('v', 's')
    const b = engine.write('v', 0, second)
    await Promise.all([a, snap, b])
    await engine.createVolumeFromSnapshot('s', 'r')
    expect(await engine.read('r', 0, first.length)).toEqual(first)
    expect(await engine.read('v', 0, second.length)).toEqual(second)
  })

  it('serves reads correctly while GC moves and erases the segments they read', async () => {
    const keep = pseudoRandomBytes(512 * KiB, 20)
    await engine.write('v', 0, keep)
    // Interleave dead data so every segment of `keep` becomes a GC victim.
    for (let round = 0; round < 3; round++) {
      for (let at = 0; at < keep.length; at += 128 * KiB) {
        await engine.write('v', 2 * MiB + at, pseudoRandomBytes(128 * KiB, 100 + round * 10 + at))
      }
    }
    await engine.write('v', 2 * MiB, new Uint8Array(keep.length)) // kill the interleaved blocks
    const reads = Array.from({ length: 40 }, (_, i) =>
      engine.read('v', (i % 8) * 64 * KiB, 64 * KiB).then((bytes) => {
        expect(
          Buffer.from(bytes).equals(
            Buffer.from(keep.subarray((i % 8) * 64 * KiB, ((i % 8) + 1) * 64 * KiB)),
          ),
        ).toBe(true)
      }),
    )
    const gc = engine.collectGarbage()
    await Promise.all([...reads, gc])
    expect((await engine.flashDetails()).garbage_collection.blocks_moved).toBeGreaterThan(0)
    expect(await engine.read('v', 0, keep.length)).toEqual(keep)
    expect(await engine.scrub()).toEqual([])
  })
})
