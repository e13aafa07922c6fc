import { ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import type { Context } from 'hono'

/** node-server's marker of a response written to the socket by the handler itself. */
const ALREADY_SENT = RESPONSE_ALREADY_SENT.headers.keys().next().value ?? 'x-hono-already-sent'

/**
 * Answers `status` with a byte stream (the headers set on `c` so far). On Node, the chunks
 * go straight to the socket with backpressure instead of through a web stream that
 * node-server turns back into writes: one copy and two stream layers less per chunk on the
 * bulk read paths (volume data, file downloads). Elsewhere, a plain streamed `Response`.
 */
export async function sendStream(
  c: Context,
  status: 200 | 206,
  chunks: AsyncIterable<Uint8Array>,
): Promise<Response> {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing
  if (!(outgoing instanceof ServerResponse)) return c.body(ReadableStream.from(chunks), status)
  // Security headers are added after the handler returns: set the one that matters for a
  // byte stream here (the rest describe HTML documents).
  const headers: Record<string, string> = { 'x-content-type-options': 'nosniff' }
  c.res.headers.forEach((value, key) => {
    headers[key] = value
  })
  outgoing.writeHead(status, headers)
  await pipeline(Readable.from(chunks, { objectMode: false }), outgoing).catch(() => {
    // The client went away, or a read failed mid-stream (a corrupt block): pipeline has
    // destroyed the socket, so the client sees a body shorter than Content-Length, never
    // wrong bytes, and there is nothing left to answer.
  })
  // Tells node-server the answer is out; the status is what the request log reports.
  return new Response(null, { status, headers: { [ALREADY_SENT]: 'true' } })
}
