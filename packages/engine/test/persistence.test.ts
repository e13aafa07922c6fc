import { BLOCK_SIZE, isPStorageError } from '@pstorage/core'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createFlashEngine, type FlashEngine } from '../src/index.js'
import { tempDir, testOptions } from './helpers.js'

const MiB = 1024 * 1024

describe('reopen after a clean close', () => {
  let dir: ReturnType<typeof tempDir>
  let engine: FlashEngine

  beforeEach(async () => {
    dir = tempDir()
    engine = await createFlashEngine(testOptions(dir.path))
  })
  afterEach(async () => {
    await engine.close()
    dir.remove()
  })

  it('recovers data, patterns, snapshots, clones, counters and flash state', async () => {
    await engine.createVolume('v', 4 * MiB)
    await engine.createVolume('d', MiB, { policy: 'dense' })
    const data = pseudoRandomBytes(20 * BLOCK_SIZE + 123, 1)
    data.fill(0, 4 * BLOCK_SIZE, 6 * BLOCK_SIZE)
    await engine.write('v', 0, data)
    await engine.write('d', 0, new TextEncoder().encode('dense '.repeat(2000)))
    await engine.createSnapshot('v', 's')
    await engine.write('v', 0, pseudoRandomBytes(3 * BLOCK_SIZE, 2))
    await engine.cloneVolume('v', 'c')
    await engine.write('v', 40 * BLOCK_SIZE, pseudoRandomBytes(BLOCK_SIZE, 3))
    await engine.collectGarbage()
    const before = {
      v: await engine.read('v'.toString(), 0),
      c: await engine.read('c', 0),
      d: await engine.read('d', 0),
      stats: await engine.stats(),
      volume: await engine.volumeStats('v'),
      details: await engine.flashDetails(),
    }
    await engine.close()
    engine = await createFlashEngine(testOptions(dir.path))
    expect(await engine.read('v', 0)).toEqual(before.v)
    expect(await engine.read('c', 0)).toEqual(before.c)
    expect(await engine.read('d', 0)).toEqual(before.d)
    expect(await engine.stats()).toEqual(before.stats)
    expect(await engine.volumeStats('v')).toEqual(before.volume)
    const details = await engine.flashDetails()
    expect(details.segments).toEqual(before.details.segments)
    expect(details.erase_counts).toEqual(before.details.erase_counts)
    expect(details.recovery.torn_bytes_discarded).toBe(0)
    await engine.createVolumeFromSnapshot('s', 'r')
    expect(await engine.read('r', 0, data.length)).toEqual(data)
    // The fingerprint index survived: the same bytes dedupe against the stored block.
    const again = await engine.write(
      'v',
      60 * BLOCK_SIZE,
      data.subarray(10 * BLOCK_SIZE, 11 * BLOCK_SIZE),
    )
    expect(again.was_deduplicated).toBe(true)
    expect(await engine.fsck()).toEqual([])
    expect(await engine.scrub()).toEqual([])
  })

  it('refuses a second engine on the same directory and a different segment size', async () => {
    const error = await createFlashEngine(testOptions(dir.path)).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isPStorageError(error, 'conflict')).toBe(true)
    await engine.close()
    const mismatch = await createFlashEngine(
      testOptions(dir.path, { segmentSize: 128 * 1024 }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isPStorageError(mismatch, 'bad_request')).toBe(true)
    engine = await createFlashEngine(testOptions(dir.path))
  })

  it('grows the medium when reopened with a larger capacity, never shrinks it', async () => {
    const total = (await engine.stats()).flash.capacity.total_bytes
    await engine.close()
    engine = await createFlashEngine(testOptions(dir.path, { capacityBytes: 32 * MiB }))
    expect((await engine.stats()).flash.capacity.total_bytes).toBeGreaterThan(total)
    await engine.close()
    const error = await createFlashEngine(testOptions(dir.path, { capacityBytes: 8 * MiB })).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isPStorageError(error, 'bad_request')).toBe(true)
    engine = await createFlashEngine({ dataDir: dir.path })
    expect((await engine.flashDetails()).segment_size).toBe(64 * 1024)
  })

  it('refuses every call after close, with service_unavailable', async () => {
    await engine.createVolume('v', MiB)
    await engine.close()
    for (const call of [
      () => engine.write('v', 0, new Uint8Array(1)),
      () => engine.read('v', 0),
      () => engine.createSnapshot('v', 's'),
      () => engine.stats(),
      () => engine.collectGarbage(),
      () => engine.fsck(),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isPStorageError(error, 'service_unavailable')).toBe(true)
    }
  })
})
