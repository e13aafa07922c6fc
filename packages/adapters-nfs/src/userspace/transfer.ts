import { backendError, releaseBytes, toApiPath } from '@pstorage/core'
import { DRIVER_NAME } from '../driver-name.js'
import { STABLE_HOW } from '../nfs3/constants.js'
import { nfsPathError } from './namespace.js'
import type { NfsSession } from './session.js'

/** The server's write verifier changed: it restarted and may have lost unstable data. */
function restarted(rel: string): Error {
  return backendError(
    DRIVER_NAME,
    'service_unavailable',
    `The NFS server restarted while ${toApiPath(rel)} was being written; retry the upload`,
  )
}

/** Two replies of one upload carried different write verifiers. */
class VerifierChanged extends Error {}

/** One WRITE span, resent until the server took all of it (a reply may count fewer bytes). */
async function writeSpan(
  s: NfsSession,
  fh: Buffer,
  offset: number,
  data: Buffer,
  stable: number,
): Promise<{ verf: Buffer; unstable: boolean }> {
  let done = 0
  let verf: Buffer | undefined
  let unstable = false
  while (done < data.length) {
    const r = await s.nfs.write(fh, offset + done, data.subarray(done), stable)
    if (verf && !verf.equals(r.verf)) throw new VerifierChanged()
    verf = r.verf
    if (r.committed !== STABLE_HOW.FILE_SYNC) unstable = true
    if (r.count === 0 || r.count > data.length - done)
      throw backendError(DRIVER_NAME, 'internal_error', `WRITE reply counted ${r.count} bytes`)
    done += r.count
  }
  return { verf: verf!, unstable }
}

/**
 * Streams `source` into the file `fh` from offset 0 with up to `depth` WRITEs of
 * `s.ioSize` in flight, then COMMITs (RFC 1813 §3.3.7, §3.3.21): UNSTABLE writes are fast,
 * COMMIT makes them durable, and the write verifier proves the server did not restart in
 * between. A file that fits one WRITE is sent FILE_SYNC instead (one round trip less).
 * Memory stays at `depth + 1` blocks whatever the size of the upload: a block is reused
 * once its WRITE is answered (the server has all of its bytes then), and the blocks are
 * freed when the upload ends (`releaseBytes`), not left to the garbage collector. If
 * `source` throws, in-flight WRITEs are awaited and its error is rethrown unchanged.
 *
 * @example
 * ```ts
 * const size = await writeAll(session, tmpFh, source, 4, 'isos/a.iso')
 * ```
 */
export async function writeAll(
  s: NfsSession,
  fh: Buffer,
  source: AsyncIterable<Uint8Array>,
  depth: number,
  rel: string,
): Promise<number> {
  const block = s.ioSize
  const inflight = new Set<Promise<void>>()
  let failure: { error: unknown } | undefined
  let verf: Buffer | undefined
  let unstable = false
  let offset = 0
  /** Blocks whose WRITE was answered: free to fill again. */
  const spare: Buffer[] = []
  let buf: Buffer = Buffer.allocUnsafe(block)
  let fill = 0

  const send = async (data: Buffer, stable: number) => {
    const at = offset
    offset += data.length
    const p: Promise<void> = writeSpan(s, fh, at, data, stable)
      .then(
        (r) => {
          if (verf && !verf.equals(r.verf)) failure ??= { error: restarted(rel) }
          verf ??= r.verf
          if (r.unstable) unstable = true
          spare.push(data)
        },
        (error: unknown) => {
          failure ??= { error: error instanceof VerifierChanged ? restarted(rel) : error }
        },
      )
      .finally(() => inflight.delete(p))
    inflight.add(p)
    while (inflight.size >= depth) await Promise.race(inflight)
  }

  try {
    for await (const chunk of source) {
      if (!(chunk instanceof Uint8Array))
        throw backendError(DRIVER_NAME, 'bad_request', 'Upload chunks must be bytes')
      for (let at = 0; at < chunk.length && !failure; ) {
        const n = Math.min(block - fill, chunk.length - at)
        buf.set(chunk.subarray(at, at + n), fill)
        fill += n
        at += n
        if (fill === block) {
          await send(buf, STABLE_HOW.UNSTABLE)
          buf = spare.pop() ?? Buffer.allocUnsafe(block)
          fill = 0
        }
      }
      if (failure) break
    }
    if (!failure && fill > 0) {
      const last = buf.subarray(0, fill)
      buf = NO_BLOCK
      await send(last, offset === 0 ? STABLE_HOW.FILE_SYNC : STABLE_HOW.UNSTABLE)
    }
  } finally {
    await Promise.allSettled(inflight) // never leave WRITEs running behind a cleanup
    // Free the blocks now rather than at the next full collection: those answered, and the
    // one never sent (a block whose WRITE failed is left to the garbage collector).
    for (const b of spare) releaseBytes(b)
    releaseBytes(buf)
  }
  if (failure) throw nfsPathError(failure.error, rel)
  if (unstable) {
    const committed = await s.nfs.commit(fh).catch((e) => Promise.reject(nfsPathError(e, rel)))
    if (verf && !committed.equals(verf)) throw restarted(rel)
  }
  return offset
}

/** No block: the last one is in flight. */
const NO_BLOCK = Buffer.alloc(0)

/** READs until `count` bytes at `offset` arrived (a reply may carry fewer). */
async function readSpan(
  s: NfsSession,
  fh: Buffer,
  offset: number,
  count: number,
  rel: string,
): Promise<Buffer> {
  const parts: Buffer[] = []
  let got = 0
  while (got < count) {
    const r = await s.nfs.read(fh, offset + got, count - got)
    if (r.data.length === 0)
      throw backendError(
        DRIVER_NAME,
        'conflict',
        `${toApiPath(rel)} ${r.eof ? 'shrank' : 'stopped returning data'} while being read`,
      )
    parts.push(r.data)
    got += r.data.length
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got)
}

/**
 * Streams `length` bytes of `fh` from `offset`, with up to `depth` READs of `s.ioSize` in
 * flight and chunks yielded in order. Stopping early leaves at most `depth` replies to be
 * dropped; a file that shrinks mid-read is a `conflict`, never a silently short stream.
 * Each chunk is a view of its own buffer (the reply's record, which the record decoder
 * copies out of the socket, or the join of a short span's replies): the consumer may
 * free it when done (`ReadResult.ownedChunks`).
 *
 * @example
 * ```ts
 * for await (const chunk of readRange(session, fh, 0, size, 4, 'a.iso')) res.write(chunk)
 * ```
 */
export async function* readRange(
  s: NfsSession,
  fh: Buffer,
  offset: number,
  length: number,
  depth: number,
  rel: string,
): AsyncGenerator<Uint8Array> {
  const end = offset + length
  const queue: Promise<Buffer>[] = []
  let next = offset
  const launch = () => {
    while (queue.length < depth && next < end) {
      const n = Math.min(s.ioSize, end - next)
      const p = readSpan(s, fh, next, n, rel)
      p.catch(() => undefined) // observed when dequeued; never an unhandled rejection
      queue.push(p)
      next += n
    }
  }
  launch()
  while (queue.length > 0) {
    let data: Buffer
    try {
      data = await queue.shift()!
    } catch (error) {
      throw nfsPathError(error, rel)
    }
    launch()
    yield data
  }
}
