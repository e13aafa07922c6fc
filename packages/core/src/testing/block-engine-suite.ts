import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isPStorageError } from '../errors.js'
import { BLOCK_SIZE, type BlockEngine } from '../ports/block-engine.js'
import { FlashMetricsSchema, ReductionMetricsSchema } from '../schemas/metrics.js'

/** Options of {@link runBlockEngineSuite}. */
export interface BlockEngineSuiteOptions {
  /** Suite title. */
  readonly name: string
  /** Makes a fresh, empty engine for each test. */
  readonly create: () => BlockEngine | Promise<BlockEngine>
  /**
   * For durable engines: closes `engine` and opens the same store again. When given, the
   * suite also proves that everything written survives a reopen.
   */
  readonly reopen?: (engine: BlockEngine) => Promise<BlockEngine>
  /** Called after each test with the engine (closed or not) to remove its files. */
  readonly destroy?: () => void | Promise<void>
}

const MiB = 1024 * 1024
const enc = new TextEncoder()

/** Deterministic, incompressible-looking bytes (xorshift32), so failures reproduce. */
export function pseudoRandomBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** Expects `promise` to reject with a `PStorageError` of `code`. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, `expected a ${code} error`).toBeDefined()
  expect(isPStorageError(error) ? error.code : error).toBe(code)
}

/**
 * The conformance suite of the `BlockEngine` port: every engine runs it, and it asserts
 * exactly the contract documented on `BlockEngine`.
 *
 * @example
 * ```ts
 * import { runBlockEngineSuite } from '@pstorage/core/testing'
 * runBlockEngineSuite({ name: 'memory', create: () => createMemoryBlockEngine() })
 * ```
 */
export function runBlockEngineSuite(options: BlockEngineSuiteOptions): void {
  describe(`BlockEngine conformance: ${options.name}`, () => {
    let engine: BlockEngine

    beforeEach(async () => {
      engine = await options.create()
    })
    afterEach(async () => {
      await engine.close().catch(() => undefined)
      await options.destroy?.()
    })

    describe('data path', () => {
      it('round-trips a multi-block write byte-exact', async () => {
        await engine.createVolume('v', 4 * MiB)
        const data = pseudoRandomBytes(3 * BLOCK_SIZE + 100)
        const result = await engine.write('v', BLOCK_SIZE, data)
        expect(result.size).toBe(data.length)
        expect(result.reduction_ratio).toBeGreaterThanOrEqual(1)
        expect(await engine.read('v', BLOCK_SIZE, data.length)).toEqual(data)
      })

      it('reads a final partial block back at its used length (seeds/001 "Hello World!")', async () => {
        await engine.createVolume('v', MiB)
        await engine.write('v', 0, enc.encode('Hello World!'))
        const bytes = await engine.read('v', 0)
        expect(new TextDecoder().decode(bytes)).toBe('Hello World!')
        expect(await engine.writtenEnd('v')).toBe(12)
      })

      it('merges a partial write into the block: bytes past it keep their values', async () => {
        await engine.createVolume('v', MiB)
        await engine.write('v', 0, new Uint8Array(BLOCK_SIZE).fill(0x61))
        await engine.write('v', 0, enc.encode('xyz'))
        const block = await engine.read('v', 0, BLOCK_SIZE)
        expect(new TextDecoder().decode(block.subarray(0, 5))).toBe('xyzaa')
        expect(block.subarray(3).every((b) => b === 0x61)).toBe(true)
        expect(await engine.writtenEnd('v')).toBe(BLOCK_SIZE)
      })

      it('reads never-written space as zeros, also around written data', async () => {
        await engine.createVolume('v', MiB)
        expect(await engine.read('v', 8192, 100)).toEqual(new Uint8Array(100))
        await engine.write('v', BLOCK_SIZE, enc.encode('abc'))
        const bytes = await engine.read('v', 0, 3 * BLOCK_SIZE)
        expect(bytes.length).toBe(3 * BLOCK_SIZE)
        expect(bytes.subarray(0, BLOCK_SIZE).every((b) => b === 0)).toBe(true)
        expect(new TextDecoder().decode(bytes.subarray(BLOCK_SIZE, BLOCK_SIZE + 3))).toBe('abc')
        expect(bytes.subarray(BLOCK_SIZE + 3).every((b) => b === 0)).toBe(true)
      })

      it('reads nothing without a length at or past the written end, and unaligned reads work', async () => {
        await engine.createVolume('v', MiB)
        expect((await engine.read('v', 0)).length).toBe(0)
        await engine.write('v', 0, enc.encode('Hello World!'))
        expect((await engine.read('v', 4096)).length).toBe(0)
        expect(new TextDecoder().decode(await engine.read('v', 6, 5))).toBe('World')
        expect(new TextDecoder().decode(await engine.read('v', 6))).toBe('World!')
      })

      it('fills a reused buffer with readInto exactly as read returns, zeros included', async (context) => {
        // Optional in the port (services fall back to read): reported as skipped, not passed.
        if (!engine.readInto) return context.skip()
        await engine.createVolume('v', MiB)
        const data = pseudoRandomBytes(3 * BLOCK_SIZE + 100, 21)
        await engine.write('v', BLOCK_SIZE, data)
        for (const target of [
          new Uint8Array(5 * BLOCK_SIZE),
          new Uint8Array(new SharedArrayBuffer(5 * BLOCK_SIZE)),
        ]) {
          target.fill(0xee)
          await engine.readInto('v', 0, target)
          expect(Buffer.compare(target, await engine.read('v', 0, 5 * BLOCK_SIZE))).toBe(0)
          expect(target.subarray(0, BLOCK_SIZE).every((b) => b === 0)).toBe(true)
          expect(Buffer.compare(target.subarray(BLOCK_SIZE, BLOCK_SIZE + data.length), data)).toBe(
            0,
          )
          expect(target.subarray(BLOCK_SIZE + data.length).every((b) => b === 0)).toBe(true)
        }
        const past = await engine
          .readInto('v', MiB - 10, new Uint8Array(20))
          .catch((e: unknown) => e)
        expect(isPStorageError(past, 'bad_request')).toBe(true)
      })

      it('writes what fill puts into a lent buffer as write does; checks the range before fill, writes nothing if fill throws', async (context) => {
        // Optional in the port (services fall back to write): reported as skipped, not passed.
        if (!engine.writeFrom) return context.skip()
        await engine.createVolume('v', MiB)
        const data = pseudoRandomBytes(16 * BLOCK_SIZE + 100, 22)
        const result = await engine.writeFrom('v', BLOCK_SIZE, data.length, async (target) => {
          expect(target.length).toBe(data.length)
          await new Promise((resolve) => setTimeout(resolve, 1))
          target.set(data)
        })
        expect(result.size).toBe(data.length)
        expect(Buffer.compare(await engine.read('v', BLOCK_SIZE, data.length), data)).toBe(0)
        expect(await engine.writtenEnd('v')).toBe(BLOCK_SIZE + data.length)
        const before = await engine.read('v', 0, 32 * BLOCK_SIZE)
        const failure = new Error('the source failed')
        const thrown = await engine
          .writeFrom('v', 0, 8 * BLOCK_SIZE, (target) => {
            target.fill(7)
            throw failure
          })
          .catch((e: unknown) => e)
        expect(thrown).toBe(failure)
        let filled = 0
        const fill = () => {
          filled++
        }
        await rejectsWith(
          engine.writeFrom('v', MiB - BLOCK_SIZE, 2 * BLOCK_SIZE, fill),
          'bad_request',
        )
        await rejectsWith(engine.writeFrom('v', 100, BLOCK_SIZE, fill), 'bad_request')
        await rejectsWith(engine.writeFrom('v', 0, -1, fill), 'bad_request')
        await rejectsWith(engine.writeFrom('missing', 0, BLOCK_SIZE, fill), 'not_found')
        expect(filled).toBe(0)
        expect(Buffer.compare(await engine.read('v', 0, 32 * BLOCK_SIZE), before)).toBe(0)
      })

      it('keeps zero, pattern and duplicate blocks exact (what reducing engines elide)', async () => {
        await engine.createVolume('v', MiB)
        const zeros = new Uint8Array(2 * BLOCK_SIZE)
        const pattern = new Uint8Array(BLOCK_SIZE)
        for (let i = 0; i < pattern.length; i++) pattern[i] = [0xde, 0xad, 0xbe, 0xef][i % 4]!
        const unique = pseudoRandomBytes(BLOCK_SIZE, 7)
        const data = new Uint8Array(6 * BLOCK_SIZE)
        data.set(zeros, 0)
        data.set(pattern, 2 * BLOCK_SIZE)
        data.set(unique, 3 * BLOCK_SIZE)
        data.set(unique, 4 * BLOCK_SIZE)
        data.set(pattern, 5 * BLOCK_SIZE)
        await engine.write('v', 0, data)
        await engine.write('v', 8 * BLOCK_SIZE, unique)
        expect(await engine.read('v', 0, data.length)).toEqual(data)
        expect(await engine.read('v', 8 * BLOCK_SIZE, BLOCK_SIZE)).toEqual(unique)
        // Overwriting one copy of a shared block leaves the other copies intact.
        await engine.write('v', 3 * BLOCK_SIZE, pattern)
        expect(await engine.read('v', 4 * BLOCK_SIZE, BLOCK_SIZE)).toEqual(unique)
        expect(await engine.read('v', 8 * BLOCK_SIZE, BLOCK_SIZE)).toEqual(unique)
      })

      it('writes sparse data far into a thin volume', async () => {
        const size = 1024 * MiB
        await engine.createVolume('v', size)
        const tail = pseudoRandomBytes(BLOCK_SIZE, 3)
        await engine.write('v', size - BLOCK_SIZE, tail)
        expect(await engine.read('v', size - BLOCK_SIZE, BLOCK_SIZE)).toEqual(tail)
        expect(await engine.writtenEnd('v')).toBe(size)
        expect((await engine.volumeStats('v')).used_bytes).toBe(BLOCK_SIZE)
      })

      it('lands concurrent writes to distinct blocks', async () => {
        await engine.createVolume('v', MiB)
        const blocks = Array.from({ length: 32 }, (_, i) => pseudoRandomBytes(BLOCK_SIZE, i + 100))
        await Promise.all(blocks.map((b, i) => engine.write('v', i * BLOCK_SIZE, b)))
        for (const [i, b] of blocks.entries())
          expect(await engine.read('v', i * BLOCK_SIZE, BLOCK_SIZE)).toEqual(b)
      })
    })

    describe('addressing errors change nothing', () => {
      it('rejects an unaligned offset with bad_request', async () => {
        await engine.createVolume('v', MiB)
        await rejectsWith(engine.write('v', 100, enc.encode('x')), 'bad_request')
        expect(await engine.writtenEnd('v')).toBe(0)
      })

      it('rejects a write past the end, applying none of it', async () => {
        await engine.createVolume('v', 2 * BLOCK_SIZE)
        await rejectsWith(
          engine.write('v', BLOCK_SIZE, new Uint8Array(BLOCK_SIZE + 1).fill(1)),
          'bad_request',
        )
        expect(await engine.read('v', 0, 2 * BLOCK_SIZE)).toEqual(new Uint8Array(2 * BLOCK_SIZE))
      })

      it('rejects reads past the end with bad_request', async () => {
        await engine.createVolume('v', 2 * BLOCK_SIZE)
        await rejectsWith(engine.read('v', 2 * BLOCK_SIZE + 1), 'bad_request')
        await rejectsWith(engine.read('v', BLOCK_SIZE, BLOCK_SIZE + 1), 'bad_request')
        expect((await engine.read('v', 2 * BLOCK_SIZE, 0)).length).toBe(0)
      })

      it('answers not_found for unknown volumes and snapshots, conflict for taken ids', async () => {
        await rejectsWith(engine.read('nope', 0), 'not_found')
        await rejectsWith(engine.write('nope', 0, enc.encode('x')), 'not_found')
        await rejectsWith(engine.deleteVolume('nope'), 'not_found')
        await rejectsWith(engine.deleteSnapshot('nope'), 'not_found')
        await rejectsWith(engine.createVolumeFromSnapshot('nope', 'x'), 'not_found')
        await engine.createVolume('v', MiB)
        await rejectsWith(engine.createVolume('v', MiB), 'conflict')
        await engine.createSnapshot('v', 's')
        await rejectsWith(engine.createSnapshot('v', 's'), 'conflict')
        await rejectsWith(engine.cloneVolume('v', 'v'), 'conflict')
      })
    })

    describe('volumes', () => {
      it('resizes up, writes into the new space, and refuses to shrink', async () => {
        await engine.createVolume('v', BLOCK_SIZE)
        await rejectsWith(engine.write('v', BLOCK_SIZE, enc.encode('x')), 'bad_request')
        await engine.resizeVolume('v', 4 * BLOCK_SIZE)
        await engine.write('v', 3 * BLOCK_SIZE, enc.encode('grown'))
        expect(new TextDecoder().decode(await engine.read('v', 3 * BLOCK_SIZE, 5))).toBe('grown')
        await rejectsWith(engine.resizeVolume('v', 2 * BLOCK_SIZE), 'bad_request')
        await rejectsWith(engine.resizeVolume('v', 4 * BLOCK_SIZE), 'bad_request')
      })

      it('deletes a volume: it is gone, others are untouched', async () => {
        await engine.createVolume('a', MiB)
        await engine.createVolume('b', MiB)
        const data = pseudoRandomBytes(BLOCK_SIZE)
        await engine.write('a', 0, data)
        await engine.write('b', 0, data)
        await engine.deleteVolume('a')
        await rejectsWith(engine.read('a', 0), 'not_found')
        expect(await engine.read('b', 0, BLOCK_SIZE)).toEqual(data)
      })

      it('counts used bytes per volume', async () => {
        await engine.createVolume('v', MiB)
        expect((await engine.volumeStats('v')).used_bytes).toBe(0)
        await engine.write('v', 0, pseudoRandomBytes(BLOCK_SIZE))
        await engine.write('v', 2 * BLOCK_SIZE, enc.encode('12345'))
        const stats = await engine.volumeStats('v')
        expect(stats.used_bytes).toBe(BLOCK_SIZE + 5)
        expect(stats.reduction_ratio).toBeGreaterThanOrEqual(1)
      })
    })

    describe('snapshots, clones, restores', () => {
      it('keeps a snapshot immutable while its volume changes', async () => {
        await engine.createVolume('v', MiB)
        const before = pseudoRandomBytes(2 * BLOCK_SIZE, 11)
        await engine.write('v', 0, before)
        await engine.createSnapshot('v', 's')
        await engine.write('v', 0, pseudoRandomBytes(BLOCK_SIZE, 12))
        await engine.createVolumeFromSnapshot('s', 'r')
        expect(await engine.read('r', 0, before.length)).toEqual(before)
      })

      it('keeps clones and their sources independent in both directions', async () => {
        await engine.createVolume('src', MiB)
        const original = pseudoRandomBytes(2 * BLOCK_SIZE, 21)
        await engine.write('src', 0, original)
        await engine.cloneVolume('src', 'c')
        expect(await engine.read('c', 0, original.length)).toEqual(original)
        const forClone = pseudoRandomBytes(BLOCK_SIZE, 22)
        const forSource = pseudoRandomBytes(BLOCK_SIZE, 23)
        await engine.write('c', 0, forClone)
        await engine.write('src', BLOCK_SIZE, forSource)
        expect(await engine.read('src', 0, BLOCK_SIZE)).toEqual(original.subarray(0, BLOCK_SIZE))
        expect(await engine.read('c', BLOCK_SIZE, BLOCK_SIZE)).toEqual(
          original.subarray(BLOCK_SIZE),
        )
        expect(await engine.read('c', 0, BLOCK_SIZE)).toEqual(forClone)
        await engine.deleteVolume('src')
        expect(await engine.read('c', BLOCK_SIZE, BLOCK_SIZE)).toEqual(
          original.subarray(BLOCK_SIZE),
        )
      })

      it('restores a snapshot over its volume, and the snapshot stays as it was', async () => {
        await engine.createVolume('v', MiB)
        const before = pseudoRandomBytes(BLOCK_SIZE, 31)
        await engine.write('v', 0, before)
        await engine.createSnapshot('v', 's')
        await engine.write('v', 0, pseudoRandomBytes(BLOCK_SIZE, 32))
        await engine.write('v', 4 * BLOCK_SIZE, pseudoRandomBytes(BLOCK_SIZE, 33))
        await engine.restoreSnapshot('s', 'v')
        expect(await engine.read('v', 0, BLOCK_SIZE)).toEqual(before)
        expect(await engine.read('v', 4 * BLOCK_SIZE, BLOCK_SIZE)).toEqual(
          new Uint8Array(BLOCK_SIZE),
        )
        await engine.write('v', 0, pseudoRandomBytes(BLOCK_SIZE, 34))
        await engine.restoreSnapshot('s', 'v')
        expect(await engine.read('v', 0, BLOCK_SIZE)).toEqual(before)
      })

      it('keeps a snapshot readable after its volume is deleted, and frees it on delete', async () => {
        await engine.createVolume('v', MiB)
        const data = pseudoRandomBytes(BLOCK_SIZE, 41)
        await engine.write('v', 0, data)
        await engine.createSnapshot('v', 's')
        await engine.deleteVolume('v')
        await engine.createVolumeFromSnapshot('s', 'r')
        expect(await engine.read('r', 0, BLOCK_SIZE)).toEqual(data)
        await engine.deleteSnapshot('s')
        await rejectsWith(engine.createVolumeFromSnapshot('s', 'r2'), 'not_found')
        expect(await engine.read('r', 0, BLOCK_SIZE)).toEqual(data)
      })
    })

    describe('stats and integrity', () => {
      it('reports reduction and flash documents in the seed shapes with consistent figures', async () => {
        await engine.createVolume('v', MiB)
        await engine.write('v', 0, pseudoRandomBytes(4 * BLOCK_SIZE, 51))
        const stats = await engine.stats()
        ReductionMetricsSchema.parse(stats.reduction)
        FlashMetricsSchema.parse(stats.flash)
        const { capacity } = stats.flash
        expect(capacity.used_bytes + capacity.free_bytes).toBe(capacity.total_bytes)
        expect(capacity.used_bytes).toBeGreaterThan(0)
        expect(stats.reduction.overall_reduction_ratio).toBeGreaterThanOrEqual(1)
      })

      it('passes its own fsck and scrub after mixed operations', async () => {
        await engine.createVolume('v', MiB)
        await engine.write('v', 0, pseudoRandomBytes(3 * BLOCK_SIZE, 61))
        await engine.createSnapshot('v', 's')
        await engine.cloneVolume('v', 'c')
        await engine.write('v', 0, pseudoRandomBytes(BLOCK_SIZE, 62))
        await engine.deleteSnapshot('s')
        if (engine.fsck) expect(await engine.fsck()).toEqual([])
        if (engine.scrub) expect(await engine.scrub()).toEqual([])
      })

      it('refuses use after close', async () => {
        await engine.createVolume('v', MiB)
        await engine.close()
        const error = await engine.read('v', 0).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toBeInstanceOf(Error)
      })
    })

    if (options.reopen) {
      const reopen = options.reopen
      describe('persistence', () => {
        it('recovers volumes, data, snapshots and clones after a reopen', async () => {
          await engine.createVolume('v', MiB)
          const data = pseudoRandomBytes(3 * BLOCK_SIZE + 7, 71)
          await engine.write('v', 0, data)
          await engine.createSnapshot('v', 's')
          await engine.cloneVolume('v', 'c')
          await engine.write('v', 0, enc.encode('changed'))
          engine = await reopen(engine)
          expect(await engine.read('c', 0, data.length)).toEqual(data)
          expect(new TextDecoder().decode(await engine.read('v', 0, 7))).toBe('changed')
          expect(await engine.writtenEnd('v')).toBe(data.length)
          await engine.createVolumeFromSnapshot('s', 'r')
          expect(await engine.read('r', 0, data.length)).toEqual(data)
          if (engine.fsck) expect(await engine.fsck()).toEqual([])
        })
      })
    }
  })
}
