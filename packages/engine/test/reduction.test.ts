import { BLOCK_SIZE, FlashMetricsSchema, ReductionMetricsSchema } from '@pstorage/core'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FlashEngine } from '../src/index.js'
import { freshEngine } from './helpers.js'

const MiB = 1024 * 1024

/** A block repeating `unit` (a 1-, 2-, 4- or 8-byte pattern). */
function patternBlock(unit: number[]): Uint8Array {
  const block = new Uint8Array(BLOCK_SIZE)
  for (let i = 0; i < block.length; i++) block[i] = unit[i % unit.length]!
  return block
}

/** Compressible text-like bytes that are not a short pattern. */
function textBlock(seed: number): Uint8Array {
  const words = ['storage', 'flash', 'segment', 'block', 'volume', 'snapshot', 'dedupe', 'erase']
  const picks = pseudoRandomBytes(BLOCK_SIZE, seed)
  let text = ''
  for (let i = 0; text.length < BLOCK_SIZE; i++) text += `${words[picks[i]! % words.length]} `
  return new TextEncoder().encode(text.slice(0, BLOCK_SIZE))
}

describe('data reduction', () => {
  let engine: FlashEngine
  let remove: () => void

  beforeEach(async () => {
    ;({ engine, remove } = await freshEngine())
    await engine.createVolume('v', 4 * MiB)
  })
  afterEach(async () => {
    await engine.close()
    remove()
  })

  it('keeps zero blocks in the block map only', async () => {
    const result = await engine.write('v', 0, new Uint8Array(4 * BLOCK_SIZE))
    expect(result).toMatchObject({
      size: 4 * BLOCK_SIZE,
      was_deduplicated: false,
      was_compressed: false,
    })
    const { reduction, flash } = await engine.stats()
    expect(reduction.pattern_removal).toEqual({ zero_blocks_found: 4, pattern_blocks_found: 0 })
    expect(reduction.bytes_saved.pattern).toBe(4 * BLOCK_SIZE)
    expect(flash.capacity.used_bytes).toBe(0)
    expect((await engine.volumeStats('v')).used_bytes).toBe(4 * BLOCK_SIZE)
    expect(await engine.read('v', 0, 4 * BLOCK_SIZE)).toEqual(new Uint8Array(4 * BLOCK_SIZE))
  })

  it('recognises 1-, 2-, 4- and 8-byte patterns and nothing reaches the medium', async () => {
    const units = [[7], [1, 2], [0xde, 0xad, 0xbe, 0xef], [1, 2, 3, 4, 5, 6, 7, 8]]
    for (const [i, unit] of units.entries())
      await engine.write('v', i * BLOCK_SIZE, patternBlock(unit))
    const { reduction, flash } = await engine.stats()
    expect(reduction.pattern_removal).toEqual({ zero_blocks_found: 0, pattern_blocks_found: 4 })
    expect(flash.capacity.used_bytes).toBe(0)
    for (const [i, unit] of units.entries()) {
      expect(await engine.read('v', i * BLOCK_SIZE, BLOCK_SIZE)).toEqual(patternBlock(unit))
    }
    // A 16-byte period is not a pattern we elide: it is stored (and compressed).
    const longer = patternBlock(Array.from({ length: 16 }, (_, i) => i * 3 + 1))
    await engine.write('v', 8 * BLOCK_SIZE, longer)
    expect((await engine.stats()).reduction.pattern_removal.pattern_blocks_found).toBe(4)
    expect(await engine.read('v', 8 * BLOCK_SIZE, BLOCK_SIZE)).toEqual(longer)
  })

  it('dedupes by fingerprint: a second copy adds a reference, not data', async () => {
    const block = pseudoRandomBytes(BLOCK_SIZE, 5)
    const first = await engine.write('v', 0, block)
    expect(first).toMatchObject({
      was_deduplicated: false,
      was_compressed: false,
      reduction_ratio: 1,
    })
    const usedAfterFirst = (await engine.stats()).flash.capacity.used_bytes
    const second = await engine.write('v', 4 * BLOCK_SIZE, block)
    expect(second.was_deduplicated).toBe(true)
    expect(second.reduction_ratio).toBeGreaterThan(1)
    const { reduction, flash } = await engine.stats()
    expect(flash.capacity.used_bytes).toBe(usedAfterFirst)
    expect(reduction.deduplication).toEqual({ ratio: 2, unique_blocks: 1, duplicate_blocks: 1 })
    expect(reduction.bytes_saved.dedupe).toBe(BLOCK_SIZE)
    // Within one write, too.
    const twice = new Uint8Array(2 * BLOCK_SIZE)
    twice.set(pseudoRandomBytes(BLOCK_SIZE, 6))
    twice.set(pseudoRandomBytes(BLOCK_SIZE, 6), BLOCK_SIZE)
    expect((await engine.write('v', 8 * BLOCK_SIZE, twice)).was_deduplicated).toBe(true)
    expect(await engine.read('v', 8 * BLOCK_SIZE, twice.length)).toEqual(twice)
  })

  it('compresses compressible data and stores random data raw', async () => {
    const text = await engine.write('v', 0, textBlock(1))
    expect(text.was_compressed).toBe(true)
    expect(text.reduction_ratio).toBeGreaterThan(1.5)
    const random = await engine.write('v', BLOCK_SIZE, pseudoRandomBytes(BLOCK_SIZE, 9))
    expect(random).toMatchObject({ was_compressed: false, reduction_ratio: 1 })
    const { reduction } = await engine.stats()
    expect(reduction.compression.algorithm).toBe('lz4')
    expect(reduction.compression.ratio).toBeGreaterThan(1)
    expect(reduction.bytes_saved.compression).toBeGreaterThan(0)
    expect(await engine.read('v', 0, BLOCK_SIZE)).toEqual(textBlock(1))
    expect((await engine.volumeStats('v')).reduction_ratio).toBeGreaterThan(1)
  })

  it('reports a truthful mixed write and documents in the seed shapes', async () => {
    const data = new Uint8Array(4 * BLOCK_SIZE)
    data.set(textBlock(2), 0)
    data.set(pseudoRandomBytes(BLOCK_SIZE, 3), BLOCK_SIZE)
    data.set(pseudoRandomBytes(BLOCK_SIZE, 3), 2 * BLOCK_SIZE)
    // the last block stays zero
    const result = await engine.write('v', 0, data)
    expect(result).toMatchObject({
      size: data.length,
      was_deduplicated: true,
      was_compressed: true,
    })
    expect(result.reduction_ratio).toBeGreaterThan(1)
    const { reduction, flash } = await engine.stats()
    ReductionMetricsSchema.parse(reduction)
    FlashMetricsSchema.parse(flash)
    expect(reduction.pattern_removal.zero_blocks_found).toBe(1)
    expect(reduction.deduplication.unique_blocks).toBe(2)
    expect(reduction.deduplication.duplicate_blocks).toBe(1)
    expect(reduction.overall_reduction_ratio).toBeGreaterThan(1)
    for (const ratio of [
      reduction.overall_reduction_ratio,
      reduction.deduplication.ratio,
      reduction.compression.ratio,
    ]) {
      expect(ratio).toBeGreaterThanOrEqual(1)
    }
    expect(flash.capacity.used_bytes + flash.capacity.free_bytes).toBe(flash.capacity.total_bytes)
    expect(flash.capacity.utilization).toBeCloseTo(
      flash.capacity.used_bytes / flash.capacity.total_bytes,
    )
    expect(flash.health).toEqual({ health_percentage: 100, avg_erase_count: 0, max_erase_count: 0 })
    expect(await engine.read('v', 0, data.length)).toEqual(data)
  })

  it('frees a block only when its last reference goes', async () => {
    const block = pseudoRandomBytes(BLOCK_SIZE, 44)
    await engine.write('v', 0, block)
    await engine.createSnapshot('v', 's')
    await engine.cloneVolume('v', 'c')
    const used = (await engine.stats()).flash.capacity.used_bytes
    await engine.write('v', 0, new Uint8Array(BLOCK_SIZE))
    await engine.deleteVolume('c')
    expect((await engine.stats()).flash.capacity.used_bytes).toBe(used)
    await engine.deleteSnapshot('s')
    expect((await engine.stats()).flash.capacity.used_bytes).toBe(0)
    expect(await engine.fsck()).toEqual([])
  })

  it('supports the dense policy (brotli per block) next to lz4', async () => {
    await engine.createVolume('d', MiB, { policy: 'dense' })
    const data = new Uint8Array(8 * BLOCK_SIZE)
    const other = new Uint8Array(8 * BLOCK_SIZE)
    for (let i = 0; i < 8; i++) data.set(textBlock(100 + i), i * BLOCK_SIZE)
    // Different blocks of the same kind for the lz4 volume: the same ones would dedupe.
    for (let i = 0; i < 8; i++) other.set(textBlock(200 + i), i * BLOCK_SIZE)
    const dense = await engine.write('d', 0, data)
    const lz4 = await engine.write('v', 0, other)
    expect(lz4.was_deduplicated).toBe(false)
    expect(dense.was_compressed).toBe(true)
    expect(dense.reduction_ratio).toBeGreaterThan(lz4.reduction_ratio)
    expect(await engine.read('d', 0, data.length)).toEqual(data)
    expect(await engine.scrub()).toEqual([])
  })
})
