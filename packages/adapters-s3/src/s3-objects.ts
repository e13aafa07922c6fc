import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { isMissing } from './s3-errors.js'

/** One object, as HEAD or a listing describes it. */
export interface ObjectInfo {
  readonly key: string
  readonly size: number
  readonly modified: Date
  readonly etag: string | undefined
}

/** Keys per ListObjectsV2 page and per DeleteObjects request (S3 API reference). */
export const S3_BATCH = 1000

/** Options of {@link ObjectStore.pages}. */
export interface PagesInput {
  readonly prefix: string
  /** `/` to roll keys below the next `/` up into `CommonPrefixes`. */
  readonly delimiter?: string
  /** Key to start after (first request only). */
  readonly startAfter?: string
  /** @default 1000 */
  readonly maxKeys?: number
}

/**
 * The few object operations the driver is built from, over one bucket. Raw SDK errors
 * propagate: the driver maps them to `PStorageError`s where it knows the API path.
 */
export interface ObjectStore {
  readonly client: S3Client
  readonly bucket: string
  /** The object at `key`, or `undefined` when there is none. */
  head(key: string): Promise<ObjectInfo | undefined>
  /** The first object (in key order) whose key starts with `prefix`, if any. */
  first(prefix: string): Promise<ObjectInfo | undefined>
  /** ListObjectsV2 pages, following continuation tokens to the end (or until `return`). */
  pages(input: PagesInput): AsyncGenerator<ListObjectsV2CommandOutput>
  /** Every object under `prefix`, recursively, a page at a time. */
  walk(prefix: string): AsyncGenerator<ObjectInfo[]>
  /** Creates an empty object (a directory marker); `ifNoneMatch` refuses an existing key. */
  putEmpty(key: string, options: { ifNoneMatch: boolean; contentType: string }): Promise<void>
  remove(key: string): Promise<void>
  /** Deletes up to 1000 keys in one request; any per-key failure rejects. */
  removeBatch(keys: readonly string[]): Promise<void>
}

/** A per-key failure of DeleteObjects, named after its S3 error code like SDK errors are. */
class BatchDeleteError extends Error {
  constructor(code: string, count: number) {
    super(`DeleteObjects failed for ${count} key(s)`)
    this.name = code
  }
}

function infoOf(o: {
  Key?: string
  Size?: number
  LastModified?: Date
  ETag?: string
}): ObjectInfo {
  return {
    key: o.Key ?? '',
    size: o.Size ?? 0,
    modified: o.LastModified ?? new Date(),
    etag: o.ETag,
  }
}

/**
 * The {@link ObjectStore} of `bucket` through `client`.
 *
 * @example
 * ```ts
 * const store = createObjectStore(client, 'templates')
 * const info = await store.head('isos/alpine.iso')
 * ```
 */
export function createObjectStore(client: S3Client, bucket: string): ObjectStore {
  const Bucket = bucket

  async function* pages(input: PagesInput): AsyncGenerator<ListObjectsV2CommandOutput> {
    let token: string | undefined
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket,
          Prefix: input.prefix,
          MaxKeys: input.maxKeys ?? S3_BATCH,
          ...(input.delimiter === undefined ? {} : { Delimiter: input.delimiter }),
          ...(token !== undefined
            ? { ContinuationToken: token }
            : input.startAfter !== undefined
              ? { StartAfter: input.startAfter }
              : {}),
        }),
      )
      yield page
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token !== undefined)
  }

  return Object.freeze({
    client,
    bucket,
    async head(key: string) {
      try {
        const h = await client.send(new HeadObjectCommand({ Bucket, Key: key }))
        return infoOf({
          Key: key,
          Size: h.ContentLength,
          LastModified: h.LastModified,
          ETag: h.ETag,
        })
      } catch (error) {
        if (isMissing(error)) return undefined
        throw error
      }
    },
    async first(prefix: string) {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket, Prefix: prefix, MaxKeys: 1 }),
      )
      const o = page.Contents?.[0]
      return o ? infoOf(o) : undefined
    },
    pages,
    async *walk(prefix: string) {
      for await (const page of pages({ prefix })) yield (page.Contents ?? []).map(infoOf)
    },
    async putEmpty(key: string, options: { ifNoneMatch: boolean; contentType: string }) {
      await client.send(
        new PutObjectCommand({
          Bucket,
          Key: key,
          Body: new Uint8Array(0),
          ContentType: options.contentType,
          ...(options.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
        }),
      )
    },
    async remove(key: string) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }))
    },
    async removeBatch(keys: readonly string[]) {
      if (keys.length === 0) return
      if (keys.length > S3_BATCH) throw new RangeError(`At most ${S3_BATCH} keys per batch`)
      const result = await client.send(
        new DeleteObjectsCommand({
          Bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
      )
      // A key already gone is what we wanted; anything else fails the batch.
      const errors = (result.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey')
      if (errors.length > 0)
        throw new BatchDeleteError(errors[0]?.Code ?? 'InternalError', errors.length)
    },
  })
}
