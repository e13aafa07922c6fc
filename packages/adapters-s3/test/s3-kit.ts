import {
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import type { S3rverHandle } from '../src/testing.js'

/** One SDK call as the client sent it: the command name and its input. */
export interface RecordedCall {
  readonly name: string
  readonly input: Record<string, unknown>
}

/**
 * A client for `s3` that records every command it sends (and, once answered, `done`).
 *
 * @example
 * ```ts
 * const { client, calls } = recordingClient(s3)
 * ```
 */
export function recordingClient(
  s3: S3rverHandle,
  onDone?: (call: RecordedCall) => void,
): { client: S3Client; calls: RecordedCall[] } {
  const client = rawClient(s3)
  const calls: RecordedCall[] = []
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const call = { name: context.commandName ?? '', input: args.input as Record<string, unknown> }
      calls.push(call)
      const result = await next(args)
      onDone?.(call)
      return result
    },
    { step: 'initialize', name: 'pstorageRecorder' },
  )
  return { client, calls }
}

/**
 * A plain SDK client for `s3`: the view "behind the driver's back".
 *
 * @example
 * ```ts
 * const raw = rawClient(s3)
 * ```
 */
export function rawClient(
  s3: S3rverHandle,
  credentials: { accessKeyId: string; secretAccessKey: string } = s3,
): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
    },
  })
}

/**
 * Every key of `bucket` with its ETag and size, sorted: a snapshot to compare.
 *
 * @example
 * ```ts
 * expect(await bucketKeys(raw, 'b')).toEqual(before)
 * ```
 */
export async function bucketKeys(raw: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  let token: string | undefined
  do {
    const page: ListObjectsV2CommandOutput = await raw.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    )
    for (const o of page.Contents ?? []) out.push(`${o.Key} ${o.ETag} ${o.Size}`)
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token !== undefined)
  return out.sort()
}

/**
 * Puts `keys` (each with its own name as content) straight into `bucket`, 32 at a time.
 *
 * @example
 * ```ts
 * await putRaw(raw, 'b', ['outside.txt', 'a/inside.txt'])
 * ```
 */
export async function putRaw(raw: S3Client, bucket: string, keys: readonly string[]) {
  for (let i = 0; i < keys.length; i += 32)
    await Promise.all(
      keys
        .slice(i, i + 32)
        .map((Key) => raw.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }))),
    )
}
