import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  type UploadPartCommandOutput,
} from '@aws-sdk/client-s3'
import { backendError, PStorageError, releaseBytes } from '@pstorage/core'
import { errorCodeOf, toStorageError } from './s3-errors.js'
import { DRIVER_NAME } from './s3-options.js'

/**
 * Parts uploaded at once per upload. Two keep a store busy on a fast link (one part streams
 * while the next is signed and sent); each more holds another part in memory, and four went
 * no faster than two (`pnpm bench:backends`, s3rver on loopback).
 */
export const UPLOAD_CONCURRENCY = 2
/** Parts of one multipart upload at most (S3 API reference, UploadPart). */
const MAX_PARTS = 10_000
/** The first part buffer starts this small and doubles up to the part size. */
const FIRST_BUFFER_BYTES = 64 * 1024

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

/** A failure of the store, kept until the upload loop sees it. */
class StoreFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Streams `source` to one object: a single PUT when it fits in one part, else a multipart
 * upload (CreateMultipartUpload, `UPLOAD_CONCURRENCY` UploadParts at a time,
 * CompleteMultipartUpload) with the SDK's default CRC32 part checksums. The source's bytes
 * are copied into at most `UPLOAD_CONCURRENCY + 1` part buffers, reused from part to part:
 * memory stays bounded and, unlike lib-storage's `Upload` (a new buffer concatenated per
 * part), a long upload does not leave a trail of dead multi-MiB buffers for the garbage
 * collector. The first buffer grows from 64 KiB, so a small file costs little. Reading
 * pauses while the buffers are all in use (backpressure).
 *
 * The object appears whole or not at all: S3 publishes it on the PUT or on
 * CompleteMultipartUpload, and a failed multipart upload is aborted once its parts in
 * flight have settled (parts of an upload whose abort also failed stay invisible; an
 * `AbortIncompleteMultipartUpload` lifecycle rule reclaims them). Resolves with the bytes
 * written.
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
  const { bucket: Bucket, key: Key, partSizeBytes: partSize } = options
  const maxBytes = partSize * MAX_PARTS
  const conditional = options.ifNoneMatch ? { IfNoneMatch: '*' } : {}
  // The SDK's default ('WHEN_SUPPORTED') checksums every part; the upload must announce it.
  const checksummed = (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED'
  const algorithm = checksummed ? { ChecksumAlgorithm: ChecksumAlgorithm.CRC32 } : {}

  const spare: Buffer[] = [] // part buffers whose upload is over, for the next parts
  let part: Buffer = Buffer.allocUnsafeSlow(Math.min(FIRST_BUFFER_BYTES, partSize))
  let filled = 0
  let bytes = 0
  let uploadId: string | undefined
  let partNumber = 0
  const completed: CompletedPart[] = []
  const inFlight = new Set<Promise<void>>()
  let failure: StoreFailure | undefined

  /** Room for more bytes: a spare part buffer, or the first one grown. */
  function nextBuffer(): Buffer {
    if (part.length === 0) return spare.pop() ?? Buffer.allocUnsafeSlow(partSize)
    const next = Buffer.allocUnsafeSlow(Math.min(partSize, part.length * 2))
    part.copy(next, 0, 0, filled)
    releaseBytes(part)
    return next
  }

  /** Sends the full `part` as the next part of the multipart upload (started on first use). */
  async function sendPart(): Promise<void> {
    while (inFlight.size >= UPLOAD_CONCURRENCY && !failure) await Promise.race(inFlight)
    if (failure) throw failure
    uploadId ??= await store(async () => {
      const created = await client.send(
        new CreateMultipartUploadCommand({
          Bucket,
          Key,
          ContentType: options.contentType,
          ...algorithm,
        }),
      )
      if (!created.UploadId) throw new Error('CreateMultipartUpload answered no UploadId')
      return created.UploadId
    })
    const buffer = part
    const PartNumber = ++partNumber
    const task: Promise<void> = client
      .send(
        new UploadPartCommand({
          Bucket,
          Key,
          UploadId: uploadId,
          PartNumber,
          Body: buffer.subarray(0, filled),
          ContentLength: filled,
          ...algorithm,
        }),
      )
      .then((result) => {
        if (!result.ETag) throw new Error(`UploadPart ${PartNumber} answered no ETag`)
        completed.push({ PartNumber, ETag: result.ETag, ...checksumsOf(result) })
        spare.push(buffer) // the store has all of it: the buffer takes a later part
      })
      .catch((error: unknown) => {
        // Left to the garbage collector: a failed request may still hold it.
        failure ??= new StoreFailure(error)
      })
      .finally(() => inFlight.delete(task))
    inFlight.add(task)
    part = NONE
    filled = 0
  }

  let ours = false // a failure inside the loop (ours or the store's), not the source's
  try {
    for await (const chunk of source) {
      try {
        if (!(chunk instanceof Uint8Array))
          throw new PStorageError('bad_request', 'Upload chunks must be bytes')
        bytes += chunk.length
        if (bytes > maxBytes)
          throw backendError(
            DRIVER_NAME,
            'payload_too_large',
            `${options.apiPath}: larger than ${MAX_PARTS} parts of ${partSize} bytes`,
          )
        for (let at = 0; at < chunk.length; ) {
          // A full part is sent only once more bytes follow: a source of exactly one part
          // is a single PUT.
          if (filled === partSize) await sendPart()
          if (filled === part.length) part = nextBuffer()
          const n = Math.min(part.length - filled, chunk.length - at)
          part.set(n === chunk.length ? chunk : chunk.subarray(at, at + n), filled)
          filled += n
          at += n
        }
      } catch (error) {
        ours = true
        throw error
      }
    }
    ours = true
    if (uploadId === undefined) {
      const body = part
      part = NONE
      await store(() =>
        client.send(
          new PutObjectCommand({
            Bucket,
            Key,
            Body: body.subarray(0, filled),
            ContentLength: filled,
            ContentType: options.contentType,
            ...conditional,
          }),
        ),
      )
      releaseBytes(body)
      return bytes
    }
    await sendPart() // the last part: at least one byte
    await Promise.all(inFlight)
    if (failure) throw failure
    completed.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0))
    const UploadId = uploadId
    await store(() =>
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: completed },
          ...conditional,
        }),
      ),
    )
    uploadId = undefined // published: nothing to abort
    return bytes
  } catch (error) {
    await Promise.all(inFlight)
    if (uploadId !== undefined) {
      const UploadId = uploadId
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => {
        // The parts stay invisible; a lifecycle rule reclaims them (see above).
      })
    }
    if (!ours) throw error // the source's own error, unchanged
    const cause = error instanceof StoreFailure ? error.error : error
    if (cause instanceof PStorageError) throw cause
    if (errorCodeOf(cause) === 'conflict')
      throw backendError(DRIVER_NAME, 'conflict', `${options.apiPath} already exists`, { cause })
    throw toStorageError(cause, options.apiPath)
  } finally {
    // Free the part buffers now, not at the next full collection: a long-lived server
    // would otherwise carry dead multi-MiB buffers from upload to upload.
    for (const buffer of spare) releaseBytes(buffer)
    releaseBytes(part)
  }
}

/** Runs a store call; its failure is marked as the store's. */
async function store<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw new StoreFailure(error)
  }
}

/** No buffer: the next byte takes a spare one. */
const NONE = Buffer.alloc(0)

/** The part checksums S3 answered, for CompleteMultipartUpload. */
function checksumsOf(result: UploadPartCommandOutput): Partial<CompletedPart> {
  return {
    ...(result.ChecksumCRC32 ? { ChecksumCRC32: result.ChecksumCRC32 } : {}),
    ...(result.ChecksumCRC32C ? { ChecksumCRC32C: result.ChecksumCRC32C } : {}),
    ...(result.ChecksumSHA1 ? { ChecksumSHA1: result.ChecksumSHA1 } : {}),
    ...(result.ChecksumSHA256 ? { ChecksumSHA256: result.ChecksumSHA256 } : {}),
  }
}
