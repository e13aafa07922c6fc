import { BLOCK_SIZE, isPStorageError } from '@pstorage/core'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { createFlashEngine, type FlashEngine } from '../src/index.js'
import { flipSegmentByte, same, tempDir, testOptions } from './helpers.js'

const KiB = 1024
const MiB = 1024 * KiB

/** Compressible, non-repeating text (each block differs). */
function text(bytes: number, seed: number): Uint8Array {
  const words = ['chunk', 'flash', 'extent', 'volume', 'zstd', 'lz4', 'dedupe', 'segment']
  const picks = pseudoRandomBytes(bytes, seed)
  let out = ''
  for (let i = 0; out.length < bytes; i++) out += `${words[picks[i % bytes]! % 8]}${i % 97} `
  return new TextEncoder().encode(out.slice(0, bytes))
}

/** 1 MiB segments: chunks of 8 blocks (lz4) and 32 (dense). */
const big = (dir: string, overrides = {}) =>
  testOptions(dir, { segmentSize: MiB, capacityBytes: 64 * MiB, ...overrides })

describe('multi-block chunks, extents and the dense policy', () => {
  let engine: FlashEngine
  let dir: ReturnType<typeof tempDir>
  afterEach(async () => {
    await engine.close()
    dir.remove()
  })

  it('compresses blocks of a write together, and GC compacts chunks whose members died', async () => {
    dir = tempDir()
    engine = await createFlashEngine(big(dir.path))
    await engine.createVolume('v', 8 * MiB)
    const data = text(64 * KiB, 1) // 16 blocks: 2 chunks of 8
    await engine.write('v', 0, data)
    let details = await engine.flashDetails()
    expect(details.compression.chunks_stored).toBe(2)
    // Cached now (a small read decodes on this thread): GC must not leave a stale layout.
    same(await engine.read('v', 0, data.length), data)
    expect(details.reduction_policies.lz4.chunk_blocks).toBe(8)
    // Kill 3 members of the first chunk and 1 of the second.
    const model = Uint8Array.from(data)
    for (const block of [1, 2, 5, 12]) {
      const fresh = pseudoRandomBytes(BLOCK_SIZE, 100 + block)
      await engine.write('v', block * BLOCK_SIZE, fresh)
      model.set(fresh, block * BLOCK_SIZE)
    }
    // Random data after them seals their segment: GC only takes sealed segments.
    await engine.write('v', 4 * MiB, pseudoRandomBytes(MiB + 64 * KiB, 11))
    details = await engine.flashDetails()
    expect(details.capacity.dead_bytes).toBeGreaterThan(0)
    await engine.collectGarbage()
    details = await engine.flashDetails()
    // Dead members are dropped from their chunks; only the open segment keeps dead bytes.
    expect(details.garbage_collection.blocks_reclaimed).toBeGreaterThanOrEqual(4)
    same(await engine.read('v', 0, model.length), model)
    expect(await engine.fsck()).toEqual([])
    expect(await engine.scrub()).toEqual([])
    await engine.close()
    engine = await createFlashEngine(big(dir.path))
    same(await engine.read('v', 0, model.length), model)
    expect(await engine.fsck()).toEqual([])
  })

  it('keeps extents right through overwrites, partial blocks, zero runs and repeated blocks', async () => {
    dir = tempDir()
    engine = await createFlashEngine(big(dir.path))
    await engine.createVolume('v', 4 * MiB)
    const model = new Uint8Array(2 * MiB)
    const put = async (offset: number, bytes: Uint8Array) => {
      await engine.write('v', offset, bytes)
      model.set(bytes, offset)
    }
    await put(0, text(MiB, 2))
    await put(64 * KiB, new Uint8Array(128 * KiB)) // zeros in the middle
    const one = pseudoRandomBytes(BLOCK_SIZE, 3)
    const repeated = new Uint8Array(16 * BLOCK_SIZE)
    for (let i = 0; i < 16; i++) repeated.set(one, i * BLOCK_SIZE)
    await put(512 * KiB, repeated)
    await put(520 * KiB, text(3 * BLOCK_SIZE + 5, 4)) // ends in a partial block, merged
    await put(MiB, text(8 * BLOCK_SIZE, 5))
    await put(MiB + 4 * BLOCK_SIZE, pseudoRandomBytes(100, 6))
    await engine.createSnapshot('v', 's')
    await put(0, text(256 * KiB, 7))
    for (const [at, len] of [
      [0, model.length],
      [MiB - 100, 300],
      [520 * KiB + 3 * BLOCK_SIZE, BLOCK_SIZE],
    ] as const) {
      same(await engine.read('v', at, len), model.subarray(at, at + len))
    }
    expect(await engine.fsck()).toEqual([])
    await engine.deleteSnapshot('s')
    expect(await engine.fsck()).toEqual([])
  })

  it('stores dense volumes with zstd over larger chunks and reports the codec in use', async () => {
    dir = tempDir()
    engine = await createFlashEngine(big(dir.path))
    await engine.createVolume('fast', 4 * MiB)
    await engine.createVolume('small', 4 * MiB, { policy: 'dense' })
    // Nothing compressed yet: the codecs of the volumes' policies.
    expect((await engine.stats()).reduction.compression.algorithm).toBe('lz4+zstd')
    const data = text(512 * KiB, 8)
    await engine.write('small', 0, data)
    let details = await engine.flashDetails()
    expect(details.reduction_policies.dense).toMatchObject({ algorithm: 'zstd', chunk_blocks: 32 })
    expect(details.compression.by_codec.zstd.logical_bytes).toBe(data.length)
    expect(details.compression.by_codec.zstd.ratio).toBeGreaterThan(2)
    expect((await engine.stats()).reduction.compression.algorithm).toBe('zstd')
    expect(await engine.volumeStats('small')).toMatchObject({ policy: 'dense', algorithm: 'zstd' })
    expect(await engine.volumeStats('fast')).toMatchObject({ policy: 'lz4', algorithm: 'lz4' })
    await engine.write('fast', 0, text(512 * KiB, 9))
    expect((await engine.stats()).reduction.compression.algorithm).toMatch(
      /^(lz4\+zstd|zstd\+lz4)$/,
    )
    await engine.close()
    engine = await createFlashEngine(big(dir.path))
    same(await engine.read('small', 0, data.length), data)
    details = await engine.flashDetails()
    expect(details.compression.by_codec.zstd.logical_bytes).toBe(data.length)
    expect(await engine.scrub()).toEqual([])
  })

  it('verifies large reads decoded by the workers: a flipped byte is data_corruption', async () => {
    dir = tempDir()
    engine = await createFlashEngine(big(dir.path))
    await engine.createVolume('v', 4 * MiB)
    const data = pseudoRandomBytes(MiB, 10) // stored raw: findable in the segment files
    await engine.write('v', 0, data)
    same(await engine.read('v', 0, data.length), data)
    await engine.close()
    flipSegmentByte(dir.path, data.subarray(300 * KiB, 300 * KiB + 64), 10)
    engine = await createFlashEngine(big(dir.path))
    const error = await engine.read('v', 0, data.length).catch((e: unknown) => e)
    expect(isPStorageError(error, 'data_corruption')).toBe(true)
    // It names the chunk as a read on this thread does (the index's row, not the worker's).
    const here = await engine.read('v', 300 * KiB, 4 * KiB).catch((e: unknown) => e)
    expect(isPStorageError(here, 'data_corruption')).toBe(true)
    const details = (e: unknown) => (e as { details: Record<string, number> }).details
    expect(details(error)).toEqual(details(here))
    expect(details(error)).toMatchObject({
      pblock: expect.any(Number),
      segment: expect.any(Number),
    })
    // Outside the damaged chunk everything reads.
    same(await engine.read('v', 0, 256 * KiB), data.subarray(0, 256 * KiB))
    expect((await engine.scrub()).length).toBe(1)
  })

  it('works without worker threads (computeThreads: 0)', async () => {
    dir = tempDir()
    engine = await createFlashEngine(big(dir.path, { computeThreads: 0 }))
    await engine.createVolume('v', 4 * MiB)
    const data = text(MiB, 11)
    await engine.write('v', 0, data)
    await engine.write('v', MiB, data)
    expect((await engine.flashDetails()).compute_threads).toBe(0)
    same(await engine.read('v', 0, 2 * MiB), Buffer.concat([data, data]))
    expect((await engine.stats()).reduction.deduplication.duplicate_blocks).toBe(256)
    expect(await engine.fsck()).toEqual([])
  })
})
