import { S3Client } from '@aws-sdk/client-s3'
import { backendError, normalizeBackendPath } from '@pstorage/core'
import { BulkHttpHandler } from './bulk-handler.js'

/**
 * The `type` of S3 backends.
 *
 * @example
 * ```ts
 * if (config.type === DRIVER_NAME) createS3Driver(options)
 * ```
 */
export const DRIVER_NAME = 's3'

const MiB = 1024 * 1024

/** Options of `createS3Driver`. */
export interface S3DriverOptions {
  /**
   * URL of an S3-compatible store (`https://minio.example.com:9000`). Absent: AWS S3, at the
   * regional endpoint of `region`.
   * @default undefined (AWS)
   */
  readonly endpoint?: string
  /** Region requests are signed for (`eu-west-3`; most other stores accept `us-east-1`). */
  readonly region: string
  /** The bucket; it must exist (the driver never creates or deletes buckets). */
  readonly bucket: string
  /**
   * Key prefix under which the backend root lives (`tenants/a`, normalised to `tenants/a/`).
   * Keys outside it are never listed, read, written or deleted.
   * @default '' (the whole bucket)
   */
  readonly prefix?: string
  readonly accessKeyId: string
  /** Never logged, never part of an error or a connection test answer. */
  readonly secretAccessKey: string
  /**
   * Path-style addressing (`endpoint/bucket/key`) instead of virtual-hosted
   * (`bucket.endpoint/key`); most self-hosted stores (MinIO, Ceph, s3rver) need it.
   * @default false
   */
  readonly forcePathStyle?: boolean
  /**
   * How long a request may wait to connect, or sit idle mid-transfer, before it fails
   * (an inactivity bound, so long transfers that keep moving are never cut). `test()` gives
   * up after this long in total.
   * @default 30000
   */
  readonly requestTimeoutMs?: number
  /**
   * Part size of multipart uploads, 5 MiB..5 GiB. An upload holds at most 3 parts in memory
   * (2 in flight, 1 filling), and S3 allows 10 000 parts: the default caps one file at 80 GiB.
   * Files below one part are sent with a single PUT.
   * @default 8 MiB
   */
  readonly partSizeBytes?: number
  /**
   * Send `If-None-Match: *` on non-overwriting creates (PutObject, CompleteMultipartUpload,
   * CopyObject), so concurrent writers in different processes cannot both win. Turn off
   * for stores that reject the header; writers are then serialised only per process.
   * @default true
   */
  readonly conditionalWrites?: boolean
  /** Objects `stats()` visits before it answers with `truncated: true`. @default 100000 */
  readonly statsMaxObjects?: number
  /**
   * A ready client, used instead of one built from `endpoint`, `region`, the credentials,
   * `forcePathStyle` and `requestTimeoutMs` (custom agents, credential providers, checksum
   * settings, tests). The caller owns it: `close()` does not destroy it.
   * @default undefined (the driver builds and owns its client)
   */
  readonly client?: S3Client
}

/** The validated, frozen options the driver runs on. */
export interface ResolvedS3Options {
  readonly bucket: string
  /** `''` or a normalised prefix ending with `/`. */
  readonly prefix: string
  readonly requestTimeoutMs: number
  readonly partSizeBytes: number
  readonly conditionalWrites: boolean
  readonly statsMaxObjects: number
}

function invalid(field: string, why: string): never {
  // The value is never echoed: it may be a secret.
  throw backendError(DRIVER_NAME, 'bad_request', `Invalid S3 backend config: ${field} ${why}`)
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') invalid(field, 'must be a non-empty string')
  return value
}

function int(value: number | undefined, field: string, min: number, max: number, def: number) {
  if (value === undefined) return def
  if (!Number.isSafeInteger(value) || value < min || value > max)
    invalid(field, `must be an integer in ${min}..${max}`)
  return value
}

/**
 * Validates `options` (every field, before any connection) and freezes what the driver uses.
 *
 * @example
 * ```ts
 * resolveS3Options({ ...creds, region: 'us-east-1', bucket: 'b', prefix: '/a/b' }).prefix // 'a/b/'
 * ```
 */
export function resolveS3Options(options: S3DriverOptions): ResolvedS3Options {
  text(options.region, 'region')
  text(options.accessKeyId, 'accessKeyId')
  text(options.secretAccessKey, 'secretAccessKey')
  const bucket = text(options.bucket, 'bucket')
  if (bucket.includes('/') || bucket.length > 255) invalid('bucket', 'must be a bucket name')
  if (options.endpoint !== undefined) {
    let url: URL | undefined
    try {
      url = new URL(options.endpoint)
    } catch {}
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username)
      invalid('endpoint', 'must be an http(s) URL without credentials')
  }
  let prefix = ''
  if (options.prefix !== undefined) {
    if (typeof options.prefix !== 'string') invalid('prefix', 'must be a string')
    try {
      // The same normaliser as API paths: no `..`, no empty segments, NFC.
      const rel = normalizeBackendPath(options.prefix)
      prefix = rel === '' ? '' : `${rel}/`
    } catch {
      invalid('prefix', 'must be a relative key prefix without . or .. segments')
    }
    // S3 keys are at most 1024 bytes: leave room for the paths below the prefix.
    if (Buffer.byteLength(prefix) > 512) invalid('prefix', 'must be at most 512 bytes')
  }
  return Object.freeze({
    bucket,
    prefix,
    requestTimeoutMs: int(options.requestTimeoutMs, 'requestTimeoutMs', 1, 3_600_000, 30_000),
    partSizeBytes: int(options.partSizeBytes, 'partSizeBytes', 5 * MiB, 5 * 1024 * MiB, 8 * MiB),
    conditionalWrites: options.conditionalWrites ?? true,
    statsMaxObjects: int(options.statsMaxObjects, 'statsMaxObjects', 1, 100_000_000, 100_000),
  })
}

/**
 * The S3 client of `options`: connection and idle timeouts of `requestTimeoutMs` (the SDK
 * default is none, so a dead peer would hang a request forever).
 *
 * @example
 * ```ts
 * const client = createS3Client(options, resolveS3Options(options))
 * ```
 */
export function createS3Client(options: S3DriverOptions, resolved: ResolvedS3Options): S3Client {
  return new S3Client({
    region: options.region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    forcePathStyle: options.forcePathStyle ?? false,
    credentials: {
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
    },
    requestHandler: new BulkHttpHandler({
      connectionTimeout: resolved.requestTimeoutMs,
      socketTimeout: resolved.requestTimeoutMs,
    }),
  })
}
