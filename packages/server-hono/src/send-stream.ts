import { ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { finished, pipeline } from 'node:stream/promises'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
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
 * bytes sent (gc-assist.ts). Elsewhere, a plain streamed `Response`.
 */
export async function sendStream(
  c: Context,
  status: 200 | 206,
  chunks: AsyncIterable<Uint8Array> | Readable,
): Promise<Response> {
  const outgoing = nodeResponse(c)
  if (!outgoing) return c.body(ReadableStream.from(chunks), status)
  outgoing.writeHead(status, headersOf(c))
  let source: Readable
  if (chunks instanceof Readable) {
    source = chunks
    pace(source)
  } else source = Readable.from(paced(chunks), { objectMode: false })
  await pipeline(source, outgoing).catch(() => {
    // The client went away, or a read failed mid-stream (a corrupt block): pipeline has
    // destroyed the socket, so the client sees a body shorter than Content-Length, never
    // wrong bytes, and there is nothing left to answer.
  })
  return alreadySent(status)
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
