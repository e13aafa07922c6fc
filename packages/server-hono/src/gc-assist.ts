import type { Readable } from 'node:stream'

/** V8's `gc()` when the process runs with `--expose-gc` (as the `pstorage-server` bin does). */
type Collect = (options: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void

/**
 * Bytes streamed between two young-generation collections asked for by {@link paced}.
 * Each costs well under a millisecond (a young generation of at most 2 MiB per
 * semi-space, see bin.ts); at 500 MB/s that is ~30 a second.
 */
export const COLLECT_EVERY_BYTES = 8 * 1024 * 1024

let sinceCollection = 0

/** Counts `bytes` moved; every {@link COLLECT_EVERY_BYTES}, a young collection. */
function moved(collect: Collect, bytes: number): void {
  sinceCollection += bytes
  if (sinceCollection >= COLLECT_EVERY_BYTES) {
    sinceCollection = 0
    collect({ type: 'minor' })
  }
}

/** V8's `gc`, if exposed. */
const exposed = (): Collect | undefined => {
  const collect = (globalThis as { gc?: Collect }).gc
  return typeof collect === 'function' ? collect : undefined
}

/**
 * Passes `chunks` through, asking V8 for a young-generation collection every
 * {@link COLLECT_EVERY_BYTES} that go by (all streams together), when `gc` is exposed; else
 * it returns `chunks` as they are.
 *
 * Why: the chunks of a streamed download are allocated by Node outside V8's heap (socket
 * reads of the backend's answer), and die as soon as the client's socket has them. V8 paces
 * its scavenges by JavaScript allocation, which a streaming path does little of: between
 * two scavenges, 25–50 MB of dead chunks piled up and the server's peak RSS grew by as much
 * (`pnpm bench:backends`). Collecting by bytes moved keeps that pile at the pace's size.
 *
 * @example
 * ```ts
 * await pipeline(Readable.from(paced(chunks)), response)
 * ```
 */
export function paced(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const collect = exposed()
  if (!collect) return chunks
  return (async function* () {
    for await (const chunk of chunks) {
      yield chunk
      moved(collect, chunk.byteLength)
    }
  })()
}

/**
 * {@link paced} for a Node stream that is piped (flowing): counts its `data` events. Not
 * for a stream read through its async iterator (a `data` listener would set it flowing
 * before the reader is there).
 *
 * @example
 * ```ts
 * pace(source)
 * await pipeline(source, response)
 * ```
 */
export function pace(stream: Readable): void {
  const collect = exposed()
  if (collect) stream.on('data', (chunk: Uint8Array) => moved(collect, chunk.byteLength))
}
