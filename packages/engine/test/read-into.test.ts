import { isPStorageError } from '@pstorage/core'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { createFlashEngine, type FlashEngine } from '../src/index.js'
import { flipSegmentByte, same, tempDir, testOptions } from './helpers.js'

const KiB = 1024
const MiB = 1024 * KiB

/** 1 MiB segments and room for a 12 MiB volume written twice. */
const options = (dir: string, overrides = {}) =>
  testOptions(dir, { segmentSize: MiB, capacityBytes: 96 * MiB, ...overrides })

/**
 * A 12 MiB image with every kind of extent: random (stored raw), text (compressed), zeros,
 * a 2-byte pattern, a block repeated from earlier, and never-written space at the end.
 */
function image(): Uint8Array {
  const out = new Uint8Array(12 * MiB)
  out.set(pseudoRandomBytes(3 * MiB, 1), 0)
  const text = new TextEncoder().encode('segment extent volume chunk '.repeat(80_000))
  out.set(text.subarray(0, 2 * MiB), 3 * MiB)
  // 5..6 MiB stays zero.
  out.fill(0xab, 6 * MiB, 7 * MiB)
  for (let i = 6 * MiB; i < 7 * MiB; i += 2) out[i] = 0xcd
  out.set(out.subarray(0, MiB), 7 * MiB)
  out.set(pseudoRandomBytes(3 * MiB + 123, 2), 8 * MiB)
  // 11 MiB + 123 .. 12 MiB: never written.
  return out
}

/** Buffers a streaming reader might reuse: plain memory and shared memory. */
const targets = {
  Buffer: (n: number) => Buffer.alloc(n, 0x77),
  SharedArrayBuffer: (n: number) => new Uint8Array(new SharedArrayBuffer(n)).fill(0x77),
}

describe("readInto: reads into the caller's buffers", () => {
  let engine: FlashEngine
  let dir: ReturnType<typeof tempDir>
  afterEach(async () => {
    await engine.close()
    dir.remove()
  })

  for (const policy of ['lz4', 'dense'] as const) {
    for (const [kind, make] of Object.entries(targets)) {
      it(`fills a reused ${kind} exactly as read() returns (${policy})`, async () => {
        dir = tempDir()
        engine = await createFlashEngine(options(dir.path))
        await engine.createVolume('v', 12 * MiB, { policy })
        const data = image()
        await engine.write('v', 0, data.subarray(0, 11 * MiB + 123))
        expect((await engine.volumeStats('v')).policy).toBe(policy)
        // Small (read on the calling thread), one window (workers), several windows.
        for (const [offset, length] of [
          [4096, 100 * KiB],
          [5 * MiB - 8192, 100 * KiB], // across the zeros: holes overwrite what was there
          [11 * MiB, 64 * KiB], // never written
          [MiB, MiB],
          [0, 12 * MiB],
          [8 * MiB - 4096, 4 * MiB],
        ] as const) {
          const target = make(length)
          await engine.readInto('v', offset, target)
          same(target, data.subarray(offset, offset + length))
          same(target, await engine.read('v', offset, length))
        }
        // One buffer for many reads: every byte is rewritten, zeros included.
        const reused = make(MiB)
        for (let at = 0; at < 12 * MiB; at += MiB) {
          await engine.readInto('v', at, reused)
          same(reused, data.subarray(at, at + MiB))
        }
      })
    }
  }

  it('works without worker threads (computeThreads: 0)', async () => {
    dir = tempDir()
    engine = await createFlashEngine(options(dir.path, { computeThreads: 0 }))
    await engine.createVolume('v', 12 * MiB)
    const data = image()
    await engine.write('v', 0, data)
    const target = Buffer.alloc(12 * MiB)
    await engine.readInto('v', 0, target)
    same(target, data)
  })

  it('refuses reads past the end and targets that are not bytes', async () => {
    dir = tempDir()
    engine = await createFlashEngine(options(dir.path))
    await engine.createVolume('v', MiB)
    const past = await engine.readInto('v', MiB - 4096, Buffer.alloc(8192)).catch((e) => e)
    expect(isPStorageError(past, 'bad_request')).toBe(true)
    const notBytes = await engine
      .readInto('v', 0, [1, 2, 3] as unknown as Uint8Array)
      .catch((e: unknown) => e)
    expect(isPStorageError(notBytes, 'bad_request')).toBe(true)
    const unknown = await engine.readInto('nope', 0, Buffer.alloc(4096)).catch((e) => e)
    expect(isPStorageError(unknown, 'not_found')).toBe(true)
  })

  it('fails with data_corruption on a flipped byte, through the workers and in place', async () => {
    dir = tempDir()
    engine = await createFlashEngine(options(dir.path))
    await engine.createVolume('v', 4 * MiB)
    const data = pseudoRandomBytes(2 * MiB, 10) // stored raw: findable in the segment files
    await engine.write('v', 0, data)
    await engine.close()
    flipSegmentByte(dir.path, data.subarray(MiB + 300 * KiB, MiB + 300 * KiB + 64), 10)
    engine = await createFlashEngine(options(dir.path))
    for (const make of Object.values(targets)) {
      const error = await engine.readInto('v', 0, make(2 * MiB)).catch((e: unknown) => e)
      expect(isPStorageError(error, 'data_corruption')).toBe(true)
      // Outside the damaged chunk everything reads.
      const head = make(MiB)
      await engine.readInto('v', 0, head)
      same(head, data.subarray(0, MiB))
    }
  })
})
