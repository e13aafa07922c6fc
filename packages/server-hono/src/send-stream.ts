import { once } from 'node:events'
import { ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { finished, pipeline } from 'node:stream/promises'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { releaseBytes } from '@pstorage/core'
import type { Context } from 'hono'
import { pace, paced } from './gc-assist.js'

/** node-server's marker of a response written to the socket by the handler itself. */
const ALREADY_SENT = RESPONSE_ALREADY_SENT.headers.keys().next().value ?? 'x-hono-already-sent'

/**
 * Answers `status` with a byte stream (the headers set on `c` so far). On Node, the chunks
 * go straight to the socket with backpressure instead of through a web stream that
 * node-server turns back into writes: one copy and two stream layers less per chunk on the
 * bulk read paths (volume data, file downloads). A Node `Readable` (a backend's HTTP answer)
 * is piped as it is, with no async iteration per chunk. Young collections are paced by the
 * bytes sent (gc-assist.ts). With `ownedChunks` (the source's chunks are the consumer's
 * alone, `ReadResult.ownedChunks`), each chunk is freed as soon as the socket has written
 * it. Elsewhere, a plain streamed `Response`.
 *
 * If the client goes away, or a read fails mid-stream (a corrupt block), the socket is
 * destroyed: the client sees a body shorter than Content-Length, never wrong bytes, and
 * there is nothing left to answer.
 */
export async function sendStream(
  c: Context,
  status: 200 | 206,
  chunks: AsyncIterable<Uint8Array> | Readable,
  options: { ownedChunks?: boolean } = {},
): Promise<Response> {
  const outgoing = nodeResponse(c)
  if (!outgoing) return c.body(ReadableStream.from(chunks), status)
  outgoing.writeHead(status, headersOf(c))
  if (options.ownedChunks) {
    if (chunks instanceof Readable) {
      pace(chunks)
      await pipeOwned(chunks, outgoing)
    } else await writeOwned(paced(chunks), outgoing)
    return alreadySent(status)
  }
  let source: Readable
  if (chunks instanceof Readable) {
    source = chunks
    pace(source)
  } else source = Readable.from(paced(chunks), { objectMode: false })
  await pipeline(source, outgoing).catch(() => {
    // pipeline has destroyed both ends (see above).
  })
  return alreadySent(status)
}

/**
 * Writes `chunks` to `outgoing` with backpressure, freeing each chunk once the socket has
 * written it (the write's callback: the bytes are in the kernel, or the write failed), then
 * ends the response. A source error destroys the response (a short body); a client gone
 * stops the reading and releases the source.
 */
async function writeOwned(chunks: AsyncIterable<Uint8Array>, outgoing: ServerResponse) {
  const iterator = chunks[Symbol.asyncIterator]()
  const closed = once(outgoing, 'close').then(() => 'closed' as const)
  closed.catch(() => undefined)
  try {
    for (;;) {
      const next = await iterator.next()
      if (next.done) break
      const chunk = next.value
      if (outgoing.destroyed) {
        releaseBytes(chunk)
        return
      }
      if (!outgoing.write(chunk, () => releaseBytes(chunk))) {
        const drained = once(outgoing, 'drain').then(() => 'drained' as const)
        drained.catch(() => undefined)
        if ((await Promise.race([drained, closed])) === 'closed') return
      }
    }
    outgoing.end()
    await finished(outgoing).catch(() => undefined)
  } catch {
    outgoing.destroy() // the source failed: the client must not take a short body as whole
  } finally {
    if (!outgoing.writableFinished) await iterator.return?.().catch(() => undefined)
  }
}

/**
 * {@link writeOwned} for a Node `Readable`, driven by its `data` events (no promise per
 * chunk): pauses it while the socket is full, frees each chunk once written, ends the
 * response at the source's end. A source error destroys the response (a short body); a
 * client gone destroys the source. Resolves once the response is closed.
 */
function pipeOwned(source: Readable, outgoing: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const onDrain = () => source.resume()
    // A failed socket write ends in 'close' (handled below); an 'error' left without a
    // listener would be thrown.
    outgoing.on('error', () => undefined)
    source.on('data', (chunk: Uint8Array) => {
      if (outgoing.destroyed) {
        releaseBytes(chunk)
        return
      }
      if (!outgoing.write(chunk, () => releaseBytes(chunk))) source.pause()
    })
    outgoing.on('drain', onDrain)
    source.once('end', () => outgoing.end())
    source.on('error', () => outgoing.destroy())
    outgoing.once('close', () => {
      outgoing.off('drain', onDrain)
      if (!source.readableEnded) source.destroy() // the client went away, or the source failed
      resolve()
    })
  })
}

/**
 * Answers `status` with `body` (the headers set on `c` so far), written to the socket as
 * it is, then calls `done`: when the socket no longer needs the buffer (written, or the
 * client went away), so the caller may reuse it.
 */
export async function sendBuffer(
  c: Context,
  status: 200,
  body: Buffer,
  done: () => void = () => {},
): Promise<Response> {
  c.header('Content-Length', String(body.length))
  const outgoing = nodeResponse(c)
  if (!outgoing) {
    // Elsewhere the platform may keep the bytes after the handler returns: hand it a copy.
    const response = c.body(Uint8Array.from(body), status)
    done()
    return response
  }
  outgoing.writeHead(status, headersOf(c))
  outgoing.end(body)
  await finished(outgoing).catch(() => {
    // The client went away: nothing left to answer.
  })
  done()
  return alreadySent(status)
}

function nodeResponse(c: Context): ServerResponse | undefined {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing
  return outgoing instanceof ServerResponse ? outgoing : undefined
}

/** The headers set on `c`; security headers are added after the handler returns, so the
 * one that matters for a raw body is set here (the rest describe HTML documents). */
function headersOf(c: Context): Record<string, string> {
  const headers: Record<string, string> = { 'x-content-type-options': 'nosniff' }
  c.res.headers.forEach((value, key) => {
    headers[key] = value
  })
  return headers
}

/** Tells node-server the answer is out; the status is what the request log reports. */
function alreadySent(status: number): Response {
  return new Response(null, { status, headers: { [ALREADY_SENT]: 'true' } })
}
