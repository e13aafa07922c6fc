import { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import type { GetObjectCommandOutput } from '@aws-sdk/client-s3'
import {
  backendError,
  isHttp1Body,
  type ReadOptions,
  type ReadResult,
  resolveRange,
} from '@pstorage/core'
import { DRIVER_NAME } from './s3-options.js'

// RFC 9110 §14.4: `Content-Range: bytes first-last/complete-length`.
const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/

/**
 * The `ReadResult` of a GetObject answer to a read with `options`: the object's size comes
 * from `Content-Range` (ranged) or `Content-Length` (whole), and the answer must cover exactly
 * the bytes `resolveRange` expects, so a store that ignored or bent the `Range` header can
 * never pass a wrong slice off as the asked one. The body is released on any refusal.
 * The SDK's answer on Node is a `BulkHttpHandler` body (plain `http:`), whose chunks
 * are each a socket read's buffer, or node:http's `IncomingMessage`, whose chunks are each
 * a copy in a buffer of its own (node:http's parser copies every piece of a body): the
 * result says so (`ownedChunks`), so a consumer may free each one once it is done with it.
 *
 * @example
 * ```ts
 * return readBody(await client.send(new GetObjectCommand(input)), { offset: 10 }, 'text/plain')
 * ```
 */
export function readBody(
  response: GetObjectCommandOutput,
  options: ReadOptions,
  content_type: string,
): ReadResult {
  const body = response.Body instanceof Readable ? response.Body : undefined
  try {
    const cr = CONTENT_RANGE.exec(response.ContentRange ?? '')
    const size = cr ? Number(cr[3]) : (response.ContentLength ?? 0)
    const first = cr ? Number(cr[1]) : 0
    const count = cr ? Number(cr[2]) - first + 1 : (response.ContentLength ?? 0)
    const { offset, length } = resolveRange(size, options) // offset > size → 416
    if (length === 0 && count !== 0) {
      // A range on an empty object: some stores answer one phantom byte (`bytes 0-0/0`).
      body?.destroy()
      return { stream: (async function* () {})(), size, offset, length, content_type }
    }
    if (first !== offset || count !== length)
      throw backendError(DRIVER_NAME, 'service_unavailable', 'The S3 store answered another range')
    if (body === undefined)
      throw backendError(DRIVER_NAME, 'internal_error', 'The S3 answer has no readable body')
    return {
      stream: body as AsyncIterable<Uint8Array>,
      size,
      offset,
      length,
      content_type,
      // node:http's parser copies each piece of a body into a buffer of its own, and
      // BulkHttpHandler's (core's Http1Agent) are each a socket read's buffer or a copy.
      ...((body instanceof IncomingMessage || isHttp1Body(body)) && { ownedChunks: true }),
    }
  } catch (error) {
    body?.destroy()
    throw error
  }
}
