import { type ErrorCode, PStorageError } from '../errors.js'
import type { BackendDriver, DeleteResult, ReadOptions } from '../ports/backend-driver.js'
import { normalizeBackendPath, toApiPath } from './path.js'

/** Most paths one `delete` call takes (OWASP API4: bound bulk operations). */
export const MAX_DELETE_PATHS = 1000

/**
 * A `PStorageError` worded `[pstorage] [<driver>] detail`, keeping the native error as
 * `cause` (STYLE rule 10). `detail` must name API paths only, never server paths.
 *
 * @example
 * ```ts
 * throw backendError('local', 'not_found', `/a.txt not found`, { cause: err })
 * ```
 */
export function backendError(
  driver: string,
  code: ErrorCode,
  detail: string,
  options: { cause?: unknown; details?: Record<string, unknown> } = {},
): PStorageError {
  return new PStorageError(code, `[pstorage] [${driver}] ${detail}`, options)
}

type OptionalOp = 'write' | 'mkdir' | 'delete' | 'move' | 'stats'

/**
 * The optional method `op` of `driver`, bound, or a `not_applicable` error when the driver
 * lacks that capability (an HTTP index cannot be written to).
 *
 * @example
 * ```ts
 * const write = requireOp(driver, 'write')
 * await write('/a.txt', source)
 * ```
 */
export function requireOp<K extends OptionalOp>(
  driver: BackendDriver,
  op: K,
): NonNullable<BackendDriver[K]> {
  const method = driver[op]
  if (typeof method !== 'function')
    throw backendError(driver.name, 'not_applicable', `${op} is not supported by this backend`)
  return method.bind(driver) as NonNullable<BackendDriver[K]>
}

/**
 * Checks a read range against a file of `size` bytes: `{ offset, length }` to stream, with
 * `length` clamped to the end (RFC 9110 §14.1.2); `offset > size` → `range_not_satisfiable`.
 *
 * @example
 * ```ts
 * resolveRange(10, { offset: 4 }) // { offset: 4, length: 6 }
 * ```
 */
export function resolveRange(
  size: number,
  options: ReadOptions = {},
): { offset: number; length: number } {
  const { offset = 0, length } = options
  for (const [name, value] of [
    ['offset', offset],
    ['length', length],
  ] as const)
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0))
      throw new PStorageError('bad_request', `${name} must be a non-negative integer`)
  if (offset > size)
    throw new PStorageError('range_not_satisfiable', `offset ${offset} is past the end (${size})`)
  return { offset, length: Math.min(length ?? size - offset, size - offset) }
}

/**
 * Normalises the paths of a `delete` call up front, so one refused path deletes nothing:
 * a traversal, the root, or more than {@link MAX_DELETE_PATHS} paths → `bad_request`.
 *
 * @example
 * ```ts
 * const targets = normalizeDeletePaths(['/a.txt', '/dir/']) // ['a.txt', 'dir']
 * ```
 */
export function normalizeDeletePaths(paths: readonly string[]): string[] {
  if (!Array.isArray(paths) || paths.length > MAX_DELETE_PATHS)
    throw new PStorageError('bad_request', `delete takes at most ${MAX_DELETE_PATHS} paths`)
  const out = paths.map(normalizeBackendPath)
  if (out.includes('')) throw new PStorageError('bad_request', 'The root cannot be deleted')
  return out
}

/**
 * Any `ReadResult.stream` as an async iterable (web streams are async-iterable in Node).
 *
 * @example
 * ```ts
 * for await (const chunk of asAsyncIterable(result.stream)) res.write(chunk)
 * ```
 */
export function asAsyncIterable(
  stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncIterable<Uint8Array> {
  return stream as AsyncIterable<Uint8Array>
}

/**
 * Reads a whole stream into memory, refusing more than `maxBytes` (`payload_too_large`).
 * For small files and tests only: large files must stay streamed.
 *
 * @example
 * ```ts
 * const bytes = await readAllBytes((await driver.read('/a.txt')).stream)
 * ```
 */
export async function readAllBytes(
  stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  maxBytes = 64 * 1024 * 1024,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let total = 0
  for await (const chunk of asAsyncIterable(stream)) {
    total += chunk.length
    if (total > maxBytes) throw new PStorageError('payload_too_large', 'Stream too large')
    chunks.push(chunk)
  }
  const out = new Uint8Array(total)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

/**
 * An in-memory `write` source yielding `data` in chunks of `chunkSize` bytes.
 *
 * @example
 * ```ts
 * await driver.write?.('/a.txt', bytesSource(new TextEncoder().encode('hi')))
 * ```
 */
export async function* bytesSource(
  data: Uint8Array,
  chunkSize = 64 * 1024,
): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += chunkSize) yield data.subarray(at, at + chunkSize)
}

/**
 * Refuses the moves no backend can make, before anything is looked up: the root (`''`),
 * a path onto itself, or a directory into itself. Takes normalised paths.
 *
 * @example
 * ```ts
 * assertMovable('a', 'a/b') // throws bad_request
 * ```
 */
export function assertMovable(src: string, dst: string): void {
  if (src === '' || dst === '') throw new PStorageError('bad_request', 'The root cannot move')
  if (src === dst || dst.startsWith(`${src}/`))
    throw new PStorageError('bad_request', 'Cannot move a path onto or into itself')
}

/**
 * The per-path loop of a driver's `delete`: removes each (normalised) path in order and
 * reports it, turning a failure into that path's `error` instead of throwing. `asError`
 * maps a native failure to the port's code and detail (it may rethrow what must end the
 * whole call, a closed driver for instance).
 *
 * @example
 * ```ts
 * return deleteEach(rels, (rel) => removeOne(rel), (e, rel) => fsError(e, rel))
 * ```
 */
export async function deleteEach(
  rels: readonly string[],
  remove: (rel: string) => Promise<void>,
  asError: (error: unknown, rel: string) => { code: ErrorCode; detail: string },
): Promise<DeleteResult[]> {
  const results: DeleteResult[] = []
  for (const rel of rels) {
    try {
      await remove(rel)
      results.push({ path: toApiPath(rel), deleted: true })
    } catch (error) {
      const { code, detail } = asError(error, rel)
      results.push({ path: toApiPath(rel), deleted: false, error: { code, detail } })
    }
  }
  return results
}
