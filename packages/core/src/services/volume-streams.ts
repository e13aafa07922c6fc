import { PStorageError } from '../errors.js'
import { BLOCK_SIZE } from '../ports/block-engine.js'
import type { WriteResponse } from '../schemas/data.js'

/** Bytes handed to the engine per write of a stream: large enough to batch, small enough to bound memory. */
export const STREAM_BATCH_BYTES = 4 * 1024 * 1024
/** Bytes per engine read when streaming out. */
export const STREAM_READ_BYTES = 1024 * 1024

type WriteBatch = (offset: number, data: Uint8Array) => Promise<WriteResponse>

/**
 * Writes `length` bytes from `source` at `offset` in batches of {@link STREAM_BATCH_BYTES}
 * (block-aligned, so every batch starts aligned), waiting for each batch before reading
 * on: memory stays at one batch whatever the size. Returns one write response for the
 * whole stream: sizes added up, flags or-ed, the ratio of all logical to all physical bytes.
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
  const batch = new Uint8Array(Math.min(STREAM_BATCH_BYTES, Math.max(length, 1)))
  let filled = 0
  let written = 0
  let physical = 0
  let deduplicated = false
  let compressed = false
  const flush = async () => {
    if (filled === 0) return
    const result = await writeBatch(offset + written, batch.subarray(0, filled))
    physical += result.size / result.reduction_ratio
    deduplicated ||= result.was_deduplicated
    compressed ||= result.was_compressed
    written += filled
    filled = 0
  }
  for await (const chunk of source) {
    if (written + filled + chunk.length > length) {
      throw new PStorageError(
        'bad_request',
        `The body is longer than the ${length} bytes announced`,
      )
    }
    let at = 0
    while (at < chunk.length) {
      const take = Math.min(batch.length - filled, chunk.length - at)
      batch.set(chunk.subarray(at, at + take), filled)
      filled += take
      at += take
      if (filled === batch.length) await flush()
    }
  }
  await flush()
  if (written !== length) {
    throw new PStorageError(
      'bad_request',
      `The body ended after ${written} of the ${length} bytes announced`,
    )
  }
  return {
    volume_id: volumeId,
    offset,
    size: written,
    reduction_ratio: physical > 0 ? Math.max(1, written / physical) : 1,
    was_deduplicated: deduplicated,
    was_compressed: compressed,
  }
}

/**
 * Streams `length` bytes from `offset`, reading {@link STREAM_READ_BYTES} at a time, only
 * as fast as the consumer pulls.
 */
export async function* readAsStream(
  offset: number,
  length: number,
  read: (offset: number, length: number) => Promise<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  let at = offset
  const end = offset + length
  while (at < end) {
    // Keep reads block-aligned after the first so the engine never splits blocks twice.
    const next = Math.min(end, Math.floor(at / BLOCK_SIZE) * BLOCK_SIZE + STREAM_READ_BYTES)
    yield await read(at, next - at)
    at = next
  }
}
