import { describe, expect, it } from 'vitest'
import { isPStorageError } from '../errors.js'
import { pseudoRandomBytes } from '../testing/index.js'
import { STREAM_BATCH_BYTES, writeFromStream, writeFromStreamLent } from './volume-streams.js'

const MiB = 1024 * 1024

/** `bytes` cut into chunks of the given sizes, cycling, as a socket delivers them. */
async function* chunked(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let k = 0
  for (let at = 0; at < bytes.length; k++) {
    const n = Math.min(sizes[k % sizes.length]!, bytes.length - at)
    yield bytes.slice(at, at + n)
    at += n
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/**
 * A medium of `size` bytes written the way `BlockEngine.writeFrom` is: the writer lends a
 * fresh buffer, awaits `fill`, then stores the buffer (asynchronously, as an engine commits).
 * It records how many writes were in flight at most, and the order of the calls.
 */
function lendingMedium(size: number, failAt?: number) {
  const medium = new Uint8Array(size)
  let inFlight = 0
  let maxInFlight = 0
  const calls: number[] = []
  const writeLent = async (
    offset: number,
    length: number,
    fill: (target: Uint8Array) => Promise<void>,
  ) => {
    calls.push(offset)
    if (offset === failAt) throw new Error(`refused at ${offset}`) // before filling
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    try {
      const lent = new Uint8Array(length).fill(0xee)
      await fill(lent)
      await new Promise((resolve) => setTimeout(resolve, 2))
      medium.set(lent, offset)
      return {
        volume_id: 'v',
        offset,
        size: length,
        reduction_ratio: 2,
        was_deduplicated: offset === 0,
        was_compressed: true,
      }
    } finally {
      inFlight--
    }
  }
  return { medium, writeLent, calls, maxInFlight: () => maxInFlight }
}

describe('writeFromStreamLent: a stream written into lent buffers', () => {
  const length = 2 * STREAM_BATCH_BYTES + 5 * 4096 + 17

  it('writes every byte in batches, chunks straddling batches, two in flight at most', async () => {
    const data = pseudoRandomBytes(length, 1)
    const m = lendingMedium(length + 8192)
    const response = await writeFromStreamLent(
      'v',
      4096,
      length,
      chunked(data, [65_536, 1000, 3 * MiB + 7]),
      m.writeLent,
    )
    expect(Buffer.compare(m.medium.subarray(4096, 4096 + length), data)).toBe(0)
    expect(m.medium.subarray(0, 4096).every((b) => b === 0)).toBe(true)
    expect(m.calls).toEqual([4096, 4096 + STREAM_BATCH_BYTES, 4096 + 2 * STREAM_BATCH_BYTES])
    expect(m.maxInFlight()).toBeLessThanOrEqual(2)
    expect(response).toEqual({
      volume_id: 'v',
      offset: 4096,
      size: length,
      reduction_ratio: 2,
      was_deduplicated: false,
      was_compressed: true,
    })
  })

  it('adds up the same response as the copying path', async () => {
    const data = pseudoRandomBytes(length, 2)
    const lent = lendingMedium(length)
    const copied = lendingMedium(length)
    const viaLent = await writeFromStreamLent('v', 0, length, chunked(data, [MiB]), lent.writeLent)
    const viaCopy = await writeFromStream('v', 0, length, chunked(data, [MiB]), (at, bytes) =>
      copied.writeLent(at, bytes.length, async (target) => target.set(bytes)),
    )
    expect(viaLent).toEqual(viaCopy)
    expect(Buffer.compare(lent.medium, copied.medium)).toBe(0)
  })

  it('a body longer than announced: 400, and its last batch is not written', async () => {
    const data = pseudoRandomBytes(length + 1, 3)
    const m = lendingMedium(length + 4096)
    const error = await writeFromStreamLent('v', 0, length, chunked(data, [MiB]), m.writeLent)
      .then(() => undefined)
      .catch((e: unknown) => e)
    expect(isPStorageError(error) && [error.code, error.message]).toEqual([
      'bad_request',
      `The body is longer than the ${length} bytes announced`,
    ])
    // The batches before it stay written (a stream is not atomic); the last one is not.
    expect(
      Buffer.compare(
        m.medium.subarray(0, 2 * STREAM_BATCH_BYTES),
        data.subarray(0, 2 * STREAM_BATCH_BYTES),
      ),
    ).toBe(0)
    expect(m.medium.subarray(2 * STREAM_BATCH_BYTES).every((b) => b === 0)).toBe(true)
  })

  it('a body shorter than announced: 400 naming what arrived, its batch not written', async () => {
    const data = pseudoRandomBytes(STREAM_BATCH_BYTES + 100, 4)
    const m = lendingMedium(length)
    const error = await writeFromStreamLent('v', 0, length, chunked(data, [MiB]), m.writeLent)
      .then(() => undefined)
      .catch((e: unknown) => e)
    expect(isPStorageError(error) && [error.code, error.message]).toEqual([
      'bad_request',
      `The body ended after ${STREAM_BATCH_BYTES + 100} of the ${length} bytes announced`,
    ])
    expect(m.medium.subarray(STREAM_BATCH_BYTES).every((b) => b === 0)).toBe(true)
  })

  it('a write refused before it fills fails the stream without hanging, and closes the source', async () => {
    const data = pseudoRandomBytes(length, 5)
    const m = lendingMedium(length, STREAM_BATCH_BYTES)
    let closed = false
    async function* source() {
      try {
        yield* chunked(data, [MiB])
      } finally {
        closed = true
      }
    }
    const error = await writeFromStreamLent('v', 0, length, source(), m.writeLent)
      .then(() => undefined)
      .catch((e: unknown) => e)
    expect((error as Error).message).toBe(`refused at ${STREAM_BATCH_BYTES}`)
    expect(closed).toBe(true)
    expect(m.calls).toEqual([0, STREAM_BATCH_BYTES])
  })
})

describe('writeFromStream: the copying path, for engines that do not lend', () => {
  const length = STREAM_BATCH_BYTES + 3 * 4096
  const copying = (m: ReturnType<typeof lendingMedium>) => (at: number, bytes: Uint8Array) =>
    m.writeLent(at, bytes.length, async (target) => target.set(bytes))

  it('refuses a body longer or shorter than announced with 400', async () => {
    const m = lendingMedium(2 * length)
    const long = await writeFromStream(
      'v',
      0,
      length,
      chunked(pseudoRandomBytes(length + 1, 6), [MiB]),
      copying(m),
    )
      .then(() => undefined)
      .catch((e: unknown) => e)
    expect(isPStorageError(long) && long.message).toBe(
      `The body is longer than the ${length} bytes announced`,
    )
    const short = await writeFromStream(
      'v',
      0,
      length,
      chunked(pseudoRandomBytes(100, 7), [MiB]),
      copying(m),
    )
      .then(() => undefined)
      .catch((e: unknown) => e)
    expect(isPStorageError(short) && short.message).toBe(
      `The body ended after 100 of the ${length} bytes announced`,
    )
  })
})
