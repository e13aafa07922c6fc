import { BLOCK_SIZE, isPStorageError } from '@pstorage/core'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createFlashEngine, type FlashEngine } from '../src/index.js'
import { flipSegmentByte, tempDir, testOptions } from './helpers.js'

const MiB = 1024 * 1024

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  )
}

describe('integrity: scrub and verified reads', () => {
  let dir: ReturnType<typeof tempDir>
  let engine: FlashEngine
  const good = pseudoRandomBytes(BLOCK_SIZE, 1)
  const victim = pseudoRandomBytes(BLOCK_SIZE, 2)

  beforeEach(async () => {
    dir = tempDir()
    engine = await createFlashEngine(testOptions(dir.path))
    await engine.createVolume('v', MiB)
    // Random blocks are stored raw, so their bytes can be found in the segment file.
    await engine.write('v', 0, good)
    await engine.write('v', BLOCK_SIZE, victim)
    await engine.cloneVolume('v', 'c')
  })
  afterEach(async () => {
    await engine.close()
    dir.remove()
  })

  it('reports a flipped payload byte in scrub and fails the read with data_corruption', async () => {
    await engine.close()
    flipSegmentByte(dir.path, victim.subarray(0, 64), 1000)
    engine = await createFlashEngine(testOptions(dir.path))
    const issues = await engine.scrub()
    expect(issues).toHaveLength(1)
    expect(issues[0]!.kind).toBe('corrupt_block')
    expect(issues[0]!.detail).toMatch(/checksum|fingerprint/)
    for (const volume of ['v', 'c']) {
      const error = await errorOf(engine.read(volume, BLOCK_SIZE, BLOCK_SIZE))
      expect(isPStorageError(error, 'data_corruption')).toBe(true)
      // A read that touches the bad block fails as a whole: never bad bytes.
      expect(isPStorageError(await errorOf(engine.read(volume, 0)), 'data_corruption')).toBe(true)
    }
    expect(await engine.read('v', 0, BLOCK_SIZE)).toEqual(good)
    // The structure is intact; only the payload is bad, which is scrub's finding.
    expect(await engine.fsck()).toEqual([])
    // Overwriting the corrupt block heals the volume; the clone still sees the damage.
    await engine.write('v', BLOCK_SIZE, pseudoRandomBytes(BLOCK_SIZE, 3))
    expect(await engine.read('v', BLOCK_SIZE, BLOCK_SIZE)).toEqual(pseudoRandomBytes(BLOCK_SIZE, 3))
    expect(
      isPStorageError(await errorOf(engine.read('c', BLOCK_SIZE, BLOCK_SIZE)), 'data_corruption'),
    ).toBe(true)
  })

  it('drops a corrupt block from the cache, so reads see the medium after scrub', async () => {
    expect(await engine.read('v', BLOCK_SIZE, BLOCK_SIZE)).toEqual(victim) // now cached
    flipSegmentByte(dir.path, victim.subarray(0, 64), 10)
    expect(await engine.scrub()).toHaveLength(1)
    expect(
      isPStorageError(await errorOf(engine.read('v', BLOCK_SIZE, BLOCK_SIZE)), 'data_corruption'),
    ).toBe(true)
  })

  it('catches a damaged record header in fsck and scrub', async () => {
    await engine.close()
    // The record header is the 32 bytes before the payload: corrupt its chunk id field.
    flipSegmentByte(dir.path, victim.subarray(0, 64), -32 + 20)
    engine = await createFlashEngine(testOptions(dir.path))
    const fsckIssues = await engine.fsck()
    expect(fsckIssues.map((i) => i.kind)).toContain('index_mismatch')
    expect((await engine.scrub()).map((i) => i.kind)).toEqual(['corrupt_block'])
    expect(
      isPStorageError(await errorOf(engine.read('v', BLOCK_SIZE, BLOCK_SIZE)), 'data_corruption'),
    ).toBe(true)
  })
})
