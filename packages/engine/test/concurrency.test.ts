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

  it('lands a stream of whole-batch writes in call order through the deep pipeline', async () => {
    // 8 MiB writes are a batch each, so three of them are in the pipeline at once (one
    // finishing, two prepared): later batches dedupe against, overwrite and extend the
    // blocks of batches not yet committed, and re-plan when a commit reaps what they used.
    const { engine: big, remove: removeBig } = await freshEngine({
      capacityBytes: 256 * MiB,
      segmentSize: MiB,
    })
    try {
      await big.createVolume('big', 32 * MiB)
      const [a, b, c] = [901, 902, 903].map((seed) => pseudoRandomBytes(8 * MiB, seed)) as [
        Uint8Array,
        Uint8Array,
        Uint8Array,
      ]
      const tail = pseudoRandomBytes(8 * MiB - 100 - 3 * BLOCK_SIZE, 904)
      const writes: [number, Uint8Array][] = [
        [0, a],
        [8 * MiB, b],
        [0, c], // kills a's blocks: its commit reaps what a later batch deduped against
        [16 * MiB, a],
        [8 * MiB + 3 * BLOCK_SIZE, tail], // ends mid-block: the rest of that block stays b's
        [24 * MiB, c], // dedupes against a batch still in flight
        [4 * MiB, b.subarray(0, 8 * MiB - 1)],
      ]
      const expected = new Uint8Array(32 * MiB)
      for (const [at, bytes] of writes) expected.set(bytes, at)
      const results = await Promise.all(writes.map(([at, bytes]) => big.write('big', at, bytes)))
      // The second `a` finds a's blocks reaped by the commit of `c` before its own: stored
      // anew (after a re-plan, when it had been planned against them).
      expect(results.map((r) => r.was_deduplicated)).toEqual([
        false,
        false,
        false,
        false,
        false,
        true,
        true,
      ])
      expect(Buffer.from(await big.read('big', 0, 32 * MiB)).equals(Buffer.from(expected))).toBe(
        true,
      )
      expect(await big.fsck()).toEqual([])
    } finally {
      await big.close()
      removeBig()
    }
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
