import {
  backendError,
  baseName,
  type ErrorCode,
  mimeTypeOf,
  pathSegments,
  toApiPath,
} from '@pstorage/core'
import { copyObject, mapLimit } from './s3-copy.js'
import type { ObjectInfo, ObjectStore } from './s3-objects.js'
import { DRIVER_NAME } from './s3-options.js'

/** Objects copied at once when a directory moves. */
const MOVE_CONCURRENCY = 8

/**
 * The file tree over the keys below one prefix: where a normalised path lives, what is at
 * it, and whole-subtree operations. Raw SDK errors propagate (the driver maps them).
 */
export interface KeyTree {
  /** The object key of the file at `rel`. */
  keyOf(rel: string): string
  /** The key prefix of the directory at `rel` (its marker's key): `prefix` for the root. */
  dirKeyOf(rel: string): string
  /** What is at `rel` (not the root): the file object, the first key below it, or neither. */
  probe(rel: string): Promise<{ file?: ObjectInfo; dir?: ObjectInfo }>
  /** `conflict` if a parent of `rel` is a file: S3 itself would store `f/x` beside `f`. */
  assertParentsAreDirectories(rel: string): Promise<void>
  /** The error of opening `rel` as a file when it has no object: a directory, or nothing. */
  missingFile(rel: string): Promise<never>
  /** Deletes every key under `dirKey`, 1000 per DeleteObjects. */
  removeTree(dirKey: string): Promise<void>
  /** Copies then deletes every key under `fromDir`, one listing page (≤ 1000 keys) at a time. */
  moveTree(fromDir: string, toDir: string): Promise<void>
}

const fail = (code: ErrorCode, detail: string) => backendError(DRIVER_NAME, code, detail)

/**
 * The {@link KeyTree} of `prefix` (`''` or ending with `/`) in `store`.
 *
 * @example
 * ```ts
 * const tree = createKeyTree(store, 'pstorage/', { conditionalWrites: true })
 * const { file, dir } = await tree.probe('isos')
 * ```
 */
export function createKeyTree(
  store: ObjectStore,
  prefix: string,
  options: { readonly conditionalWrites: boolean },
): KeyTree {
  const keyOf = (rel: string) => prefix + rel
  const dirKeyOf = (rel: string) => (rel === '' ? prefix : `${prefix}${rel}/`)
  return Object.freeze({
    keyOf,
    dirKeyOf,
    async probe(rel: string) {
      const [file, dir] = await Promise.all([store.head(keyOf(rel)), store.first(dirKeyOf(rel))])
      return { ...(file ? { file } : {}), ...(dir ? { dir } : {}) }
    },
    async assertParentsAreDirectories(rel: string) {
      const segments = pathSegments(rel)
      const parents = segments.slice(0, -1).map((_, i) => segments.slice(0, i + 1).join('/'))
      const files = await Promise.all(parents.map((p) => store.head(keyOf(p))))
      const i = files.findIndex((f) => f !== undefined)
      if (i >= 0) throw fail('conflict', `${toApiPath(parents[i]!)} is a file`)
    },
    async missingFile(rel: string): Promise<never> {
      if (await store.first(dirKeyOf(rel)))
        throw fail('bad_request', `${toApiPath(rel)} is a directory`)
      throw fail('not_found', `${toApiPath(rel)} not found`)
    },
    async removeTree(dirKey: string) {
      for await (const objects of store.walk(dirKey))
        await store.removeBatch(objects.map((o) => o.key))
    },
    async moveTree(fromDir: string, toDir: string) {
      for await (const objects of store.walk(fromDir)) {
        await mapLimit(objects, MOVE_CONCURRENCY, (o) =>
          copyObject(store.client, store.bucket, o, toDir + o.key.slice(fromDir.length), {
            ifNoneMatch: options.conditionalWrites, // the target did not exist: every key is new
            contentType: mimeTypeOf(baseName(o.key)),
          }),
        )
        // Only once the whole page is copied: every object stays at its source, its target
        // or both, never neither.
        await store.removeBatch(objects.map((o) => o.key))
      }
    },
  })
}
