import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import type { ObjectInfo } from './s3-objects.js'

const MiB = 1024 * 1024
/** Largest object one CopyObject can copy (S3 API reference, CopyObject). */
export const COPY_OBJECT_MAX_BYTES = 5 * 1024 * MiB
/** Parts of a multipart copy: at least this big, at most 10 000 of them. */
const COPY_PART_MIN_BYTES = 512 * MiB
const MAX_PARTS = 10_000
/** Parts copied at once: S3 copies them server-side, so this only bounds open requests. */
const COPY_CONCURRENCY = 4

/**
 * Runs `fn` over `items`, at most `limit` at a time; waits for every started call to settle,
 * then rejects with the first error (so no request is still running when it returns).
 *
 * @example
 * ```ts
 * await mapLimit(keys, 8, (key) => copy(key))
 * ```
 */
export async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0
  let failed = false
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++
      await fn(items[i]!, i).catch((error: unknown) => {
        failed = true
        throw error
      })
    }
  }
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  )
  const rejected = settled.find((s) => s.status === 'rejected')
  if (rejected) throw rejected.reason
}

/**
 * The `x-amz-copy-source` of `key`: the bucket and each key segment percent-encoded
 * (S3 API reference, CopyObject: "The value must be URL-encoded").
 *
 * @example
 * ```ts
 * copySource('b', 'a dir/é.txt') // 'b/a%20dir/%C3%A9.txt'
 * ```
 */
export function copySource(bucket: string, key: string): string {
  return `${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`
}

/**
 * The byte ranges of a multipart copy of `size` bytes: parts of at least 512 MiB, more if
 * 10 000 would not cover the object, each `[start, end]` inclusive.
 *
 * @example
 * ```ts
 * copyRanges(6 * 1024 ** 3).length // 12
 * ```
 */
export function copyRanges(size: number): { part: number; start: number; end: number }[] {
  const partSize = Math.max(COPY_PART_MIN_BYTES, Math.ceil(size / MAX_PARTS))
  const ranges: { part: number; start: number; end: number }[] = []
  for (let start = 0, part = 1; start < size; start += partSize, part++)
    ranges.push({ part, start, end: Math.min(start + partSize, size) - 1 })
  return ranges
}

/** Options of {@link copyObject}. */
export interface CopyOptions {
  /** Refuse to replace an existing target (`If-None-Match: *`). */
  readonly ifNoneMatch: boolean
  /** Content type of a multipart copy (CopyObject keeps the source's own metadata). */
  readonly contentType: string
}

/**
 * Copies `from` to `toKey` server-side: one CopyObject up to 5 GiB, else a multipart copy
 * (UploadPartCopy per range, aborted on any failure so no parts linger). Every request is
 * conditional on the source's ETag, so a source replaced mid-copy fails the copy (412)
 * instead of producing a mix of two versions.
 *
 * @example
 * ```ts
 * await copyObject(client, 'b', info, 'new/key', { ifNoneMatch: true, contentType: 'text/plain' })
 * ```
 */
export async function copyObject(
  client: Pick<S3Client, 'send'>,
  bucket: string,
  from: ObjectInfo,
  toKey: string,
  options: CopyOptions,
): Promise<void> {
  const Bucket = bucket
  const CopySource = copySource(bucket, from.key)
  const ifMatch = from.etag === undefined ? {} : { CopySourceIfMatch: from.etag }
  const ifNoneMatch = options.ifNoneMatch ? { IfNoneMatch: '*' } : {}
  if (from.size <= COPY_OBJECT_MAX_BYTES) {
    await client.send(
      new CopyObjectCommand({ Bucket, Key: toKey, CopySource, ...ifMatch, ...ifNoneMatch }),
    )
    return
  }
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket, Key: toKey, ContentType: options.contentType }),
  )
  try {
    const ranges = copyRanges(from.size)
    const parts: { PartNumber: number; ETag: string | undefined }[] = []
    await mapLimit(ranges, COPY_CONCURRENCY, async ({ part, start, end }) => {
      const result = await client.send(
        new UploadPartCopyCommand({
          Bucket,
          Key: toKey,
          UploadId,
          PartNumber: part,
          CopySource,
          CopySourceRange: `bytes=${start}-${end}`,
          ...ifMatch,
        }),
      )
      parts[part - 1] = { PartNumber: part, ETag: result.CopyPartResult?.ETag }
    })
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key: toKey,
        UploadId,
        MultipartUpload: { Parts: parts },
        ...ifNoneMatch,
      }),
    )
  } catch (error) {
    await client
      .send(new AbortMultipartUploadCommand({ Bucket, Key: toKey, UploadId }))
      .catch(() => undefined) // the copy's own error is the one to report
    throw error
  }
}
