import { PStorageError } from '../errors.js'
import { BLOCK_SIZE } from '../ports/block-engine.js'
import type { WriteResponse } from '../schemas/data.js'

/** Bytes handed to the engine per write of a stream: large enough to batch, small enough to bound memory. */
export const STREAM_BATCH_BYTES = 4 * 1024 * 1024
/** Bytes per engine read when streaming out. */
export const STREAM_READ_BYTES = 4 * 1024 * 1024

type WriteBatch = (offset: number, data: Uint8Array) => Promise<WriteResponse>

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
  let current = 0
  let filled = 0
  let queued = 0
  let physical = 0
  let deduplicated = false
  let compressed = false
  let inFlight: Promise<void> | undefined
  const settle = (result: WriteResponse) => {
    physical += result.size / result.reduction_ratio
    deduplicated ||= result.was_deduplicated
    compressed ||= result.was_compressed
  }
  const flush = async () => {
    if (filled === 0) return
    // The buffer about to be written is reused only after the write before it settled.
    await inFlight
    const batch = buffers[current]!.subarray(0, filled)
    inFlight = writeBatch(offset + queued, batch).then(settle)
    // A failure surfaces at the next await; until then keep it from being "unhandled".
    inFlight.catch(() => undefined)
    queued += filled
    filled = 0
    current ^= 1
  }
  for await (const chunk of source) {
    if (queued + filled + chunk.length > length) {
      await inFlight
      throw new PStorageError(
        'bad_request',
        `The body is longer than the ${length} bytes announced`,
      )
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
  if (queued !== length) {
    throw new PStorageError(
      'bad_request',
      `The body ended after ${queued} of the ${length} bytes announced`,
    )
  }
  return {
    volume_id: volumeId,
    offset,
    size: queued,
    reduction_ratio: physical > 0 ? Math.max(1, queued / physical) : 1,
    was_deduplicated: deduplicated,
    was_compressed: compressed,
  }
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
