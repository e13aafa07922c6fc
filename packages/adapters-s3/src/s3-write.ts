import { Readable } from 'node:stream'
import type { S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { backendError, PStorageError } from '@pstorage/core'
import { errorCodeOf, toStorageError } from './s3-errors.js'
import { DRIVER_NAME } from './s3-options.js'

/**
 * Parts uploaded at once per upload (lib-storage `queueSize`). Two keep a store busy on a
 * fast link (one part streams while the next is signed and sent); each more holds another
 * part in memory, and four went no faster than two (`pnpm bench:backends`, s3rver on
 * loopback: 77–87 MB/s either way, peak RSS ~20 MB lower with two).
 */
export const UPLOAD_CONCURRENCY = 2
/** Parts of one multipart upload at most (S3 API reference, UploadPart). */
const MAX_PARTS = 10_000

/** Options of {@link uploadStream}. */
export interface UploadOptions {
  readonly bucket: string
  readonly key: string
  /** API path, for error details. */
  readonly apiPath: string
  readonly contentType: string
  readonly partSizeBytes: number
  /** Refuse to replace an existing object (`If-None-Match: *` on the PUT or the completion). */
  readonly ifNoneMatch: boolean
}

/**
 * Streams `source` to one object with lib-storage's `Upload`: a single PUT below one part,
 * else a multipart upload holding at most `UPLOAD_CONCURRENCY + 1` parts in memory. The
 * object appears whole or not at all: S3 publishes it on the PUT or on
 * CompleteMultipartUpload, and a failed multipart upload is aborted (parts of an upload
 * whose abort also failed stay invisible; an `AbortIncompleteMultipartUpload` lifecycle
 * rule reclaims them). Resolves with the bytes written.
 *
 * Errors: the source's own error is rethrown unchanged (the port's contract), store errors
 * become `PStorageError`s, and a refused `If-None-Match` is a `conflict`.
 *
 * @example
 * ```ts
 * const size = await uploadStream(client, source, { bucket, key, apiPath: '/a.iso', ... })
 * ```
 */
export async function uploadStream(
  client: S3Client,
  source: AsyncIterable<Uint8Array>,
  options: UploadOptions,
): Promise<number> {
  const maxBytes = options.partSizeBytes * MAX_PARTS
  let bytes = 0
  let sourceFailed = false
  let sourceError: unknown
  async function* counted(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of source) {
        if (!(chunk instanceof Uint8Array))
          throw new PStorageError('bad_request', 'Upload chunks must be bytes')
        bytes += chunk.length
        if (bytes > maxBytes)
          throw backendError(
            DRIVER_NAME,
            'payload_too_large',
            `${options.apiPath}: larger than ${MAX_PARTS} parts of ${options.partSizeBytes} bytes`,
          )
        yield chunk
      }
    } catch (error) {
      sourceFailed = true
      sourceError = error
      throw error
    }
  }
  // Byte mode, so lib-storage reads it as a stream of unknown length and cuts parts itself.
  const body = Readable.from(counted(), { objectMode: false })
  const upload = new Upload({
    client,
    queueSize: UPLOAD_CONCURRENCY,
    partSize: options.partSizeBytes,
    leavePartsOnError: false,
    params: {
      Bucket: options.bucket,
      Key: options.key,
      Body: body,
      ContentType: options.contentType,
      ...(options.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
    },
  })
  try {
    await upload.done()
    return bytes
  } catch (error) {
    // lib-storage may report its abort's failure instead of the cause: the source wins.
    if (sourceFailed) throw sourceError
    if (errorCodeOf(error) === 'conflict')
      throw backendError(DRIVER_NAME, 'conflict', `${options.apiPath} already exists`, {
        cause: error,
      })
    throw toStorageError(error, options.apiPath)
  } finally {
    // If the store failed first, stop pulling from the source (and release whoever feeds it).
    body.destroy()
  }
}
