/**
 * Test harness of the S3 driver: a real S3 API (s3rver, in process) on loopback, for this
 * package's tests, the server's end-to-end tests and the backend benchmarks. Needs the
 * `s3rver` package (a dev dependency here: add it to the consumer's dev dependencies).
 *
 * @example
 * ```ts
 * import { startS3rver } from '@pstorage/adapters-s3/testing'
 * const s3 = await startS3rver({ buckets: ['templates'] })
 * const driver = createS3Driver(s3.driverOptions('templates'))
 * await s3.stop()
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import type { S3DriverOptions } from './s3-options.js'
import { checkSigV4 } from './sigv4-check.js'
import { isListObjectsV2, listObjectsV2 } from './testing-list.js'

/** Options of {@link startS3rver}. */
export interface StartS3rverOptions {
  /** Buckets to create before resolving. @default [] */
  readonly buckets?: readonly string[]
  /**
   * Refuse requests whose SigV4 signature does not match the secret (s3rver alone accepts
   * any secret), so wrong-credential paths behave as on AWS. Unsigned requests still pass.
   * @default true
   */
  readonly verifySignatures?: boolean
}

/** A running s3rver: where it listens, its credentials, and how to stop it. */
export interface S3rverHandle {
  /** `http://127.0.0.1:<port>`; clients must use path-style addressing. */
  readonly endpoint: string
  /** `us-east-1`: s3rver's continuation tokens only work for it. */
  readonly region: string
  /** s3rver's built-in account: `S3RVER`. */
  readonly accessKeyId: string
  /** s3rver's built-in secret: `S3RVER`. */
  readonly secretAccessKey: string
  /** The temporary data directory (one subdirectory per bucket); `stop()` deletes it. */
  readonly directory: string
  /** Creates a bucket (3..63 lowercase letters, digits, dots, hyphens). */
  createBucket(name: string): Promise<void>
  /** `createS3Driver` options for `bucket` (and `prefix`) on this server. */
  driverOptions(bucket: string, prefix?: string): S3DriverOptions
  /** Closes the server and its connections and deletes its data directory. Idempotent. */
  stop(): Promise<void>
}

const CREDENTIALS = Object.freeze({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' })
const REGION = 'us-east-1'

function deny(res: ServerResponse, method: string, code: string): void {
  res.statusCode = 403
  res.setHeader('Content-Type', 'application/xml')
  res.end(
    method === 'HEAD'
      ? undefined
      : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
          '<Message>Refused by the test harness signature check</Message></Error>',
  )
}

/**
 * Starts s3rver in process on 127.0.0.1 and a free port, over a fresh temporary directory
 * that `stop()` deletes. Every request is served by s3rver's own handler behind a SigV4
 * check (see {@link StartS3rverOptions.verifySignatures}).
 *
 * ListObjectsV2 is answered by the harness itself from s3rver's store (`listObjectsV2`):
 * s3rver's continuation tokens need DES, which Node ≥ 17 refuses, and it lists in
 * directory-walk order rather than S3's byte order.
 *
 * s3rver stays a test double, not S3: it ignores `If-None-Match` on writes, cannot abort
 * multipart uploads or copy parts (UploadPartCopy), decodes copy sources with `decodeURI`
 * (so keys containing `+ ? # & = $ , : ; @` cannot be copied), and writes objects in place
 * (a concurrent reader may see a partial PUT). Tests of those behaviours need a real store.
 *
 * @example
 * ```ts
 * const s3 = await startS3rver()
 * await s3.createBucket('t1')
 * ```
 */
export async function startS3rver(options: StartS3rverOptions = {}): Promise<S3rverHandle> {
  // CommonJS and a dev dependency: required at call time, so bundlers never inline it.
  const S3rver = createRequire(import.meta.url)('s3rver') as typeof import('s3rver')
  const directory = await mkdtemp(join(tmpdir(), 'pstorage-s3rver-'))
  const s3rver = new S3rver({ directory, silent: true, vhostBuckets: false })
  const handle = s3rver.callback()
  const verify = options.verifySignatures ?? true
  const server = createServer((req, res) => {
    const request = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }
    const verdict = verify ? checkSigV4(request, CREDENTIALS) : 'ok'
    if (verdict !== 'ok' && verdict !== 'unsigned') {
      req.resume() // drain the body, then refuse like S3 does
      return deny(res, request.method, verdict)
    }
    const url = new URL(request.url, 'http://127.0.0.1')
    if (!isListObjectsV2(request.method, url)) return handle(req, res)
    listObjectsV2(s3rver.store, url, res).catch(() => {
      res.statusCode = 500
      res.end()
    })
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
  } catch (error) {
    s3rver.logger.close()
    await rm(directory, { recursive: true, force: true })
    throw error
  }
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const admin = new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { ...CREDENTIALS }, // a copy: the SDK tags the object (a frozen one throws)
  })
  let stopped: Promise<void> | undefined

  const result: S3rverHandle = Object.freeze({
    endpoint,
    region: REGION,
    ...CREDENTIALS,
    directory,
    async createBucket(name: string) {
      await admin.send(new CreateBucketCommand({ Bucket: name }))
    },
    driverOptions(bucket: string, prefix?: string): S3DriverOptions {
      return {
        endpoint,
        region: REGION,
        bucket,
        ...(prefix === undefined ? {} : { prefix }),
        ...CREDENTIALS,
        forcePathStyle: true,
      }
    },
    stop() {
      stopped ??= (async () => {
        admin.destroy()
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections() // keep-alive sockets of clients would hold close() open
        await closed
        s3rver.logger.close()
        await rm(directory, { recursive: true, force: true })
      })()
      return stopped
    },
  })
  try {
    for (const name of options.buckets ?? []) await result.createBucket(name)
  } catch (error) {
    await result.stop()
    throw error
  }
  return result
}
