import { isPStorageError } from '@pstorage/core'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { createFlashEngine, type FlashEngine } from '../src/index.js'
import { same, tempDir, testOptions } from './helpers.js'

const KiB = 1024
const MiB = 1024 * KiB

const options = (dir: string) => testOptions(dir, { segmentSize: MiB, capacityBytes: 64 * MiB })

describe('writeFrom: writes data the caller puts into a lent buffer', () => {
  let engine: FlashEngine
  let dir: ReturnType<typeof tempDir>
  afterEach(async () => {
    await engine.close()
    dir.remove()
  })

  const open = async () => {
    dir = tempDir()
    engine = await createFlashEngine(options(dir.path))
    await engine.createVolume('v', 8 * MiB)
  }

  it('stores what fill wrote, deduplicated and compressed like write()', async () => {
    await open()
    const random = pseudoRandomBytes(MiB, 7)
    const text = new TextEncoder().encode('lent buffer '.repeat(30_000)).subarray(0, 256 * KiB)
    let lent: Uint8Array | undefined
    const first = await engine.writeFrom('v', 0, MiB, async (target) => {
      lent = target
      expect(target.length).toBe(MiB)
      await new Promise((resolve) => setTimeout(resolve, 5)) // an asynchronous fill
      target.set(random)
    })
    // Shared memory the workers read in place: that is the point of lending it.
    expect(lent?.buffer).toBeInstanceOf(SharedArrayBuffer)
    expect(first).toMatchObject({ size: MiB, was_deduplicated: false, was_compressed: false })
    const again = await engine.writeFrom('v', 2 * MiB, MiB, (target) => target.set(random))
    expect(again.was_deduplicated).toBe(true)
    const packed = await engine.writeFrom('v', 4 * MiB, text.length, (target) => target.set(text))
    expect(packed.was_compressed).toBe(true)
    // A partial last block keeps its used length, as with write().
    const tail = await engine.writeFrom('v', 6 * MiB, 12, (target) =>
      target.set(new TextEncoder().encode('Hello World!')),
    )
    expect(tail.size).toBe(12)
    same(await engine.read('v', 0, MiB), random)
    same(await engine.read('v', 2 * MiB, MiB), random)
    same(await engine.read('v', 4 * MiB, text.length), text)
    expect(new TextDecoder().decode(await engine.read('v', 6 * MiB))).toBe('Hello World!')
    expect(await engine.fsck()).toEqual([])
  })

  it('writes nothing when fill throws, and fails with its error', async () => {
    await open()
    await engine.write('v', 0, new Uint8Array(64 * KiB).fill(1))
    const before = await engine.stats()
    const failure = new Error('the source went away')
    await expect(
      engine.writeFrom('v', 0, 64 * KiB, (target) => {
        target.fill(2)
        throw failure
      }),
    ).rejects.toBe(failure)
    await expect(
      engine.writeFrom('v', 0, 64 * KiB, async () => Promise.reject(failure)),
    ).rejects.toBe(failure)
    expect((await engine.read('v', 0, 64 * KiB)).every((b) => b === 1)).toBe(true)
    expect(await engine.stats()).toEqual(before)
  })

  it('refuses bad addressing and a missing volume before calling fill', async () => {
    await open()
    let calls = 0
    const fill = () => {
      calls++
    }
    for (const [volume, offset, length] of [
      ['v', 100, 4096], // unaligned
      ['v', -4096, 4096],
      ['v', 8 * MiB - 4096, 8192], // past the end
      ['v', 0, -1],
      ['v', 0, 1.5],
      ['v', 0, Number.NaN],
      ['missing', 0, 4096],
    ] as const) {
      const error = await engine.writeFrom(volume, offset, length, fill).catch((e: unknown) => e)
      expect(isPStorageError(error), `${volume} ${offset} ${length}`).toBe(true)
      expect((error as { code: string }).code).toBe(
        volume === 'missing' ? 'not_found' : 'bad_request',
      )
    }
    const notAFunction = await engine
      .writeFrom('v', 0, 4096, 'fill' as unknown as () => void)
      .catch((e: unknown) => e)
    expect((notAFunction as { code?: string }).code).toBe('bad_request')
    expect(calls).toBe(0)
    expect((await engine.stats()).reduction.deduplication.unique_blocks).toBe(0)
    expect(await engine.writtenEnd('v')).toBe(0)
  })

  it('fails a fill that outlives close(), writing nothing', async () => {
    await open()
    let release: () => void = () => undefined
    const pending = engine.writeFrom('v', 0, 4096, async (target) => {
      target.fill(9)
      await new Promise<void>((resolve) => {
        release = resolve
      })
    })
    await new Promise((resolve) => setTimeout(resolve, 5))
    await engine.close()
    release()
    const error = await pending.catch((e: unknown) => e)
    expect((error as { code?: string }).code).toBe('service_unavailable')
    engine = await createFlashEngine(options(dir.path))
    expect((await engine.read('v', 0, 4096)).every((b) => b === 0)).toBe(true)
  })
})
