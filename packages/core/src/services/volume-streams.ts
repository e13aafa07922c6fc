import { PStorageError } from '../errors.js'
import { BLOCK_SIZE } from '../ports/block-engine.js'
import type { WriteResponse } from '../schemas/data.js'

/** Bytes handed to the engine per write of a stream: large enough to batch, small enough to bound memory. */
export const STREAM_BATCH_BYTES = 4 * 1024 * 1024
/** Bytes per engine read when streaming out. */
export const STREAM_READ_BYTES = 4 * 1024 * 1024

type WriteBatch = (offset: number, data: Uint8Array) => Promise<WriteResponse>
/** A write whose bytes `fill` puts into a buffer the engine lends (`BlockEngine.writeFrom`). */
type WriteLent = (
  offset: number,
  length: number,
  fill: (target: Uint8Array) => Promise<void>,
) => Promise<WriteResponse>

/** Adds up the write responses of a stream's batches. */
class StreamTotals {
  #physical = 0
  #deduplicated = false
  #compressed = false

  add(result: WriteResponse): void {
    this.#physical += result.size / result.reduction_ratio
    this.#deduplicated ||= result.was_deduplicated
    this.#compressed ||= result.was_compressed
  }

  response(volumeId: string, offset: number, size: number): WriteResponse {
    return {
      volume_id: volumeId,
      offset,
      size,
      reduction_ratio: this.#physical > 0 ? Math.max(1, size / this.#physical) : 1,
      was_deduplicated: this.#deduplicated,
      was_compressed: this.#compressed,
    }
  }
}

const tooLong = (length: number) =>
  new PStorageError('bad_request', `The body is longer than the ${length} bytes announced`)
const tooShort = (received: number, length: number) =>
  new PStorageError(
    'bad_request',
    `The body ended after ${received} of the ${length} bytes announced`,
  )

/**
 * Writes `length` bytes from `source` at `offset` in batches of {@link STREAM_BATCH_BYTES}
 * (block-aligned, so every batch starts aligned). One batch is written while the next is
 * read (two buffers), so the network and the medium work at the same time, and memory
 * stays at two batches whatever the size. Returns one write response for the whole stream:
 * sizes added up, flags or-ed, the ratio of all logical to all physical bytes.
 *
 * A stream is not atomic: batches acknowledged before a failure stay written, as on any
 * block device. Callers validate the whole range before the first byte is read.
 */
export async function writeFromStream(
  volumeId: string,
  offset: number,
  length: number,
  source: AsyncIterable<Uint8Array>,
  writeBatch: WriteBatch,
): Promise<WriteResponse> {
  const size = Math.min(STREAM_BATCH_BYTES, Math.max(length, 1))
  const buffers = [new Uint8Array(size), new Uint8Array(size)]
  const totals = new StreamTotals()
  let current = 0
  let filled = 0
  let queued = 0
  let inFlight: Promise<void> | undefined
  const flush = async () => {
    if (filled === 0) return
    // The buffer about to be written is reused only after the write before it settled.
    await inFlight
    const batch = buffers[current]!.subarray(0, filled)
    inFlight = writeBatch(offset + queued, batch).then((result) => totals.add(result))
    // A failure surfaces at the next await; until then keep it from being "unhandled".
    inFlight.catch(() => undefined)
    queued += filled
    filled = 0
    current ^= 1
  }
  for await (const chunk of source) {
    if (queued + filled + chunk.length > length) {
      await inFlight
      throw tooLong(length)
    }
    let at = 0
    while (at < chunk.length) {
      const buffer = buffers[current]!
      const take = Math.min(buffer.length - filled, chunk.length - at)
      buffer.set(chunk.subarray(at, at + take), filled)
      filled += take
      at += take
      if (filled === buffer.length) await flush()
    }
  }
  await flush()
  await inFlight
  if (queued !== length) throw tooShort(queued, length)
  return totals.response(volumeId, offset, queued)
}

/**
 * {@link writeFromStream} for an engine that lends its buffers (`BlockEngine.writeFrom`):
 * each batch's bytes go from the source straight into the engine's memory, without the
 * stream's own buffers and the copy `write` makes. Two batches in flight: the next one is
 * read while the previous one is written. A batch whose bytes do not all arrive, or the
 * last one when more follow, is not written (those before it are).
 */
export async function writeFromStreamLent(
  volumeId: string,
  offset: number,
  length: number,
  source: AsyncIterable<Uint8Array>,
  writeLent: WriteLent,
): Promise<WriteResponse> {
  const iterator = source[Symbol.asyncIterator]()
  const totals = new StreamTotals()
  /** The rest of a chunk that straddled two batches. */
  let carry: Uint8Array | undefined
  let received = 0
  const next = async (): Promise<Uint8Array | undefined> => {
    if (carry) {
      const chunk = carry
      carry = undefined
      return chunk
    }
    const step = await iterator.next()
    return step.done ? undefined : step.value
  }
  const fill = async (target: Uint8Array) => {
    let filled = 0
    while (filled < target.length) {
      const chunk = await next()
      if (!chunk) throw tooShort(received + filled, length)
      const take = Math.min(chunk.length, target.length - filled)
      target.set(chunk.subarray(0, take), filled)
      filled += take
      if (take < chunk.length) carry = chunk.subarray(take)
    }
    received += filled
    if (received < length) return
    // The last batch: it is written only if the body ends here.
    for (let extra = await next(); extra; extra = await next())
      if (extra.length > 0) throw tooLong(length)
  }
  const inFlight: Promise<void>[] = []
  try {
    for (let at = 0; at < length; ) {
      const n = Math.min(STREAM_BATCH_BYTES, length - at)
      let filled: () => void = () => undefined
      const isFilled = new Promise<void>((resolve) => {
        filled = resolve
      })
      const write = writeLent(offset + at, n, async (target) => {
        await fill(target)
        filled()
      }).then((result) => totals.add(result))
      write.catch(() => undefined)
      inFlight.push(write)
      at += n
      // The next batch reads the source after this one: wait until this one has its bytes
      // (or failed, perhaps before filling anything).
      await Promise.race([isFilled, write])
      if (inFlight.length >= 2) await inFlight.shift()
    }
    await Promise.all(inFlight)
  } catch (error) {
    await Promise.allSettled(inFlight)
    await iterator.return?.()
    throw error
  }
  return totals.response(volumeId, offset, length)
}

/**
 * Streams `length` bytes from `offset`, {@link STREAM_READ_BYTES} at a time, one read ahead
 * of the consumer so the medium works while the network sends.
 */
export async function* readAsStream(
  offset: number,
  length: number,
  read: (offset: number, length: number) => Promise<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const end = offset + length
  // Keep reads block-aligned after the first so the engine never splits blocks twice.
  const nextEnd = (at: number) =>
    Math.min(end, Math.floor(at / BLOCK_SIZE) * BLOCK_SIZE + STREAM_READ_BYTES)
  let at = offset
  let pending = at < end ? read(at, nextEnd(at) - at) : undefined
  while (pending) {
    const chunk = await pending
    at += chunk.length
    pending = at < end ? read(at, nextEnd(at) - at) : undefined
    // The read ahead may fail while this chunk is being sent; it is awaited next turn.
    pending?.catch(() => undefined)
    yield chunk
  }
}
