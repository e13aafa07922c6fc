import { GetObjectCommand, HeadBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import {
  assertMovable,
  type BackendDriver,
  type BackendStats,
  backendError,
  baseName,
  decodeListCursor,
  deleteEach,
  type ErrorCode,
  isTemplateName,
  mimeTypeOf,
  normalizeBackendPath,
  normalizeDeletePaths,
  type ReadResult,
  resolveListLimit,
  resolveRange,
  type StorageFile,
  toApiPath,
} from '@pstorage/core'
import { copyObject } from './s3-copy.js'
import { connectionFailure, errorCodeOf, isMissing, s3Code, toStorageError } from './s3-errors.js'
import { dirEntry, fileEntry, listDirectory } from './s3-listing.js'
import { createObjectStore } from './s3-objects.js'
import {
  createS3Client,
  DRIVER_NAME,
  resolveS3Options,
  type S3DriverOptions,
} from './s3-options.js'
import { readBody } from './s3-read.js'
import { createKeyTree } from './s3-tree.js'
import { uploadStream } from './s3-write.js'

/** Longest S3 object key, in UTF-8 bytes (S3 user guide, "Naming Amazon S3 objects"). */
const MAX_KEY_BYTES = 1024
/** Content type of directory markers, as s3fs and other tools write them. */
const DIRECTORY_CONTENT_TYPE = 'application/x-directory'

/**
 * A backend over an S3 bucket (AWS or any S3-compatible store), below an optional key prefix.
 *
 * Decisions:
 * - Keys are `prefix + normalised path`; directories are key prefixes, and `mkdir` writes a
 *   zero-byte `dir/` marker. A directory exists while anything is under it, so deleting the
 *   last file of a directory made by `write` makes the directory vanish (object-store
 *   semantics, allowed by the port). S3 would store `f/x` next to a file `f`: the driver
 *   refuses to (parents are checked), and for foreign data where both exist the file wins.
 * - `write` streams in reused part buffers (see `uploadStream`): atomic on S3. Without
 *   `overwrite`, a path is created with `If-None-Match: *` (`conditionalWrites`), the only
 *   atomic create-if-absent S3 has; stores that ignore the header (s3rver, older ones) fall
 *   back to check-then-upload, serialised per path within this driver only, so two
 *   processes may still both create a file there (last writer wins).
 * - `move` is CopyObject + DeleteObject (UploadPartCopy above 5 GiB), and for directories
 *   a copy and delete of every key, a page at a time: not atomic. A failure mid-way leaves
 *   each object at its source, its target or both, never neither.
 * - Listing order, cursors and costs: see `listDirectory`. `stats` walks every key (up to
 *   `statsMaxObjects`). `total_bytes` is absent: buckets have no capacity.
 * - Errors name API paths only; the SDK error is the `cause`. The secret is never logged.
 *
 * @example
 * ```ts
 * const driver = createS3Driver({
 *   endpoint: 'http://minio:9000',
 *   region: 'us-east-1',
 *   bucket: 'templates',
 *   prefix: 'pstorage/',
 *   accessKeyId: 'AKIA…',
 *   secretAccessKey: process.env.S3_SECRET!,
 *   forcePathStyle: true,
 * })
 * const { items } = await driver.list('/isos')
 * ```
 */
export function createS3Driver(options: S3DriverOptions): BackendDriver {
  const config = resolveS3Options(options)
  const ownsClient = options.client === undefined
  const client = options.client ?? createS3Client(options, config)
  const store = createObjectStore(client, config.bucket)
  const { bucket: Bucket, prefix } = config
  const maxRelBytes = MAX_KEY_BYTES - Buffer.byteLength(prefix) - 1 // room for a marker's '/'
  /** Paths with a create-if-absent in flight here (the per-process half of "one wins"). */
  const creating = new Set<string>()
  let closed = false

  const tree = createKeyTree(store, prefix, config)
  const { keyOf, dirKeyOf, probe, assertParentsAreDirectories, missingFile } = tree
  const fail = (code: ErrorCode, detail: string) => backendError(DRIVER_NAME, code, detail)
  const notFound = (rel: string) => fail('not_found', `${toApiPath(rel)} not found`)

  function live(): void {
    if (closed) throw fail('service_unavailable', 'The driver is closed')
  }

  function fits(rel: string): string {
    if (Buffer.byteLength(rel) > maxRelBytes)
      throw fail('bad_request', 'Path too long for this backend (S3 keys are at most 1024 bytes)')
    return rel
  }

  /** Normalises an API path before any I/O: a refused path never reaches the store. */
  function pathOf(input: string): string {
    live()
    return fits(normalizeBackendPath(input))
  }

  /** Runs `fn`, turning raw S3 failures into `PStorageError`s that name `rel`. */
  async function guard<T>(rel: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      throw toStorageError(error, toApiPath(rel))
    }
  }

  /** Claims `rel` for a create-if-absent; the returned function releases it. */
  function reserve(rel: string): () => void {
    if (creating.has(rel))
      throw fail('conflict', `${toApiPath(rel)} is being created by another request`)
    creating.add(rel)
    return () => creating.delete(rel)
  }

  const driver: BackendDriver = {
    name: DRIVER_NAME,
    capabilities: Object.freeze({ write: true, rangeRead: true, move: true, stats: true }),

    async test() {
      live()
      const started = performance.now()
      const latency = () => Math.round((performance.now() - started) * 1000) / 1000
      const abortSignal = AbortSignal.timeout(config.requestTimeoutMs)
      const listOne = () =>
        client.send(new ListObjectsV2Command({ Bucket, Prefix: prefix, MaxKeys: 1 }), {
          abortSignal,
        })
      try {
        await client.send(new HeadBucketCommand({ Bucket }), { abortSignal })
        await listOne() // HeadBucket does not prove the right to list the prefix
        return { ok: true, latency_ms: latency(), message: 'Connected' }
      } catch (error) {
        // A HEAD answer has no body, so no S3 error code: a GET tells which problem it is.
        const cause = await listOne().then(
          () => error,
          (e: unknown) => e,
        )
        const code = s3Code(cause)
        return {
          ok: false,
          latency_ms: latency(),
          message: connectionFailure(cause),
          ...(code === undefined ? {} : { details: { s3_code: code } }),
        }
      }
    },

    async list(path, options = {}) {
      const rel = pathOf(path)
      resolveListLimit(options.limit) // refuse bad input before any request
      if (options.cursor !== undefined) decodeListCursor(options.cursor)
      return guard(rel, async () => {
        const page = await listDirectory(store, dirKeyOf(rel), rel, options)
        if (rel !== '' && !page.seen && !(await store.first(dirKeyOf(rel)))) {
          if (await store.head(keyOf(rel)))
            throw fail('bad_request', `${toApiPath(rel)} is not a directory`)
          throw notFound(rel)
        }
        const { items, next_cursor } = page
        return next_cursor === undefined ? { items } : { items, next_cursor }
      })
    },

    async stat(path) {
      const rel = pathOf(path)
      return guard(rel, async (): Promise<StorageFile> => {
        if (rel === '') return dirEntry('', (await store.first(prefix))?.modified ?? new Date())
        const { file, dir } = await probe(rel)
        if (file) return fileEntry(rel, file.size, file.modified)
        if (dir) return dirEntry(rel, dir.modified)
        throw notFound(rel)
      })
    },

    async read(path, options = {}) {
      const rel = pathOf(path)
      resolveRange(Number.MAX_SAFE_INTEGER, options) // refuse bad numbers before any request
      if (rel === '') throw fail('bad_request', '/ is a directory')
      const key = keyOf(rel)
      const content_type = mimeTypeOf(baseName(rel))
      const empty = async (): Promise<ReadResult> => {
        const head = (await store.head(key)) ?? (await missingFile(rel))
        const { offset } = resolveRange(head.size, options) // offset > size → 416
        return {
          stream: (async function* () {})(),
          size: head.size,
          offset,
          length: 0,
          content_type,
        }
      }
      return guard(rel, async () => {
        // HTTP cannot ask for zero bytes (RFC 9110 §14.1.2): answer from the object's size.
        if (options.length === 0) return empty()
        const { offset = 0, length } = options
        const ranged = offset > 0 || length !== undefined
        const range = `bytes=${offset}-${length === undefined ? '' : offset + length - 1}`
        const response = await client
          .send(new GetObjectCommand({ Bucket, Key: key, ...(ranged ? { Range: range } : {}) }))
          .catch(async (error: unknown) => {
            if (isMissing(error)) return missingFile(rel)
            // 416: the offset is at or past the end; at the end it is an empty read.
            if (errorCodeOf(error) === 'range_not_satisfiable') return undefined
            throw error
          })
        return response === undefined ? empty() : readBody(response, options, content_type)
      })
    },

    async write(path, source, options = {}) {
      const rel = pathOf(path)
      const overwrite = options.overwrite === true
      if (rel === '') throw fail('conflict', 'The root is a directory')
      const release = overwrite ? undefined : reserve(rel)
      try {
        // Fail fast, before consuming a large upload; If-None-Match re-checks at commit.
        await guard(rel, async () => {
          const [{ file, dir }] = await Promise.all([probe(rel), assertParentsAreDirectories(rel)])
          if (dir) throw fail('conflict', `${toApiPath(rel)} is a directory`)
          if (file && !overwrite) throw fail('conflict', `${toApiPath(rel)} already exists`)
        })
        const size = await uploadStream(client, source, {
          bucket: Bucket,
          key: keyOf(rel),
          apiPath: toApiPath(rel),
          contentType: mimeTypeOf(baseName(rel)),
          partSizeBytes: config.partSizeBytes,
          ifNoneMatch: !overwrite && config.conditionalWrites,
        })
        return await guard(rel, async () => {
          const head = await store.head(keyOf(rel))
          return fileEntry(rel, head?.size ?? size, head?.modified ?? new Date())
        })
      } finally {
        release?.()
      }
    },

    async mkdir(path) {
      const rel = pathOf(path)
      if (rel === '') throw fail('conflict', 'The root already exists')
      const release = reserve(rel)
      try {
        return await guard(rel, async () => {
          const [{ file, dir }] = await Promise.all([probe(rel), assertParentsAreDirectories(rel)])
          if (file || dir) throw fail('conflict', `${toApiPath(rel)} already exists`)
          await store.putEmpty(dirKeyOf(rel), {
            ifNoneMatch: config.conditionalWrites,
            contentType: DIRECTORY_CONTENT_TYPE,
          })
          return dirEntry(rel, (await store.head(dirKeyOf(rel)))?.modified ?? new Date())
        })
      } finally {
        release()
      }
    },

    async delete(paths) {
      live()
      const rels = normalizeDeletePaths(paths).map(fits) // all refused up front, or none
      return deleteEach(
        rels,
        (rel) =>
          guard(rel, async () => {
            const { file, dir } = await probe(rel)
            if (!file && !dir) throw notFound(rel)
            if (dir) await tree.removeTree(dirKeyOf(rel))
            if (file) await store.remove(keyOf(rel))
          }),
        (error, rel) => toStorageError(error, toApiPath(rel)),
      )
    },

    async move(from, to, options = {}) {
      const src = pathOf(from)
      const dst = pathOf(to)
      assertMovable(src, dst)
      const overwrite = options.overwrite === true
      const release = overwrite ? undefined : reserve(dst)
      try {
        return await guard(src, async (): Promise<StorageFile> => {
          const [source, target] = await Promise.all([
            probe(src),
            probe(dst),
            assertParentsAreDirectories(dst),
          ])
          if (!source.file && !source.dir) throw notFound(src)
          // A type change (file ↔ directory) is a conflict even with overwrite.
          if (target.dir || (target.file && (!source.file || !overwrite)))
            throw fail('conflict', `${toApiPath(dst)} already exists`)
          if (source.file) {
            await copyObject(client, Bucket, source.file, keyOf(dst), {
              ifNoneMatch: !overwrite && config.conditionalWrites,
              contentType: mimeTypeOf(baseName(dst)),
            })
            await store.remove(keyOf(src))
            const head = await store.head(keyOf(dst))
            return fileEntry(dst, head?.size ?? source.file.size, head?.modified ?? new Date())
          }
          await tree.moveTree(dirKeyOf(src), dirKeyOf(dst))
          return dirEntry(dst, (await store.first(dirKeyOf(dst)))?.modified ?? new Date())
        })
      } finally {
        release?.()
      }
    },

    async stats(): Promise<BackendStats> {
      live()
      return guard('', async () => {
        let used = 0
        let files = 0
        let templates = 0
        let visited = 0
        const figures = () => ({ used_bytes: used, file_count: files, template_count: templates })
        for await (const objects of store.walk(prefix))
          for (const o of objects) {
            if (++visited > config.statsMaxObjects) return { ...figures(), truncated: true }
            if (o.key.endsWith('/')) continue // a directory marker
            used += o.size
            files++
            if (isTemplateName(baseName(o.key))) templates++
          }
        return figures()
      })
    },

    async close() {
      if (closed) return
      closed = true
      if (ownsClient) client.destroy()
    },
  }
  return Object.freeze(driver)
}
