import type { ErrorCode } from '../errors.js'

/**
 * One entry of the file browser (seeds/000 §2, `StorageFile`).
 *
 * `path` is the canonical API path: `/` plus the normalised relative path
 * (`normalizeBackendPath`), so it can be passed back as `?path=` unchanged.
 */
export interface StorageFile {
  /** Last segment of `path`, NFC; `''` for the root. */
  readonly name: string
  /** `/` for the root, else `/a/b` (no trailing slash, even for directories). */
  readonly path: string
  readonly type: 'file' | 'directory'
  /** Bytes of a file; `null` for a directory. */
  readonly size: number | null
  /** From the stored content type or the extension; `null` for a directory. */
  readonly mime_type: string | null
  /** RFC 3339 UTC timestamp. */
  readonly modified_at: string
  /** Entries a `list` of this directory returns, if cheap to know; `null` for a file. */
  readonly item_count: number | null
}

/** What a driver can do; a `false` capability's methods are absent (see the contract). */
export interface BackendCapabilities {
  /** `write`, `mkdir` and `delete` exist. */
  readonly write: boolean
  /** `read` honours `offset`/`length`; without it a ranged read is `not_applicable`. */
  readonly rangeRead: boolean
  /** `move` exists. */
  readonly move: boolean
  /** `stats` exists. */
  readonly stats: boolean
}

/** The answer of {@link BackendDriver.test}. */
export interface ConnectionTestResult {
  readonly ok: boolean
  readonly latency_ms: number
  /** Human summary: "Connected", or what failed (never a secret or a server-side path). */
  readonly message: string
  readonly details?: Record<string, unknown>
}

/** Options of {@link BackendDriver.list}. */
export interface ListOptions {
  /** 1..1000. @default 1000 */
  readonly limit?: number
  /** `next_cursor` of the previous page, opaque. */
  readonly cursor?: string
}

/** One page of {@link BackendDriver.list}. */
export interface ListResult {
  readonly items: StorageFile[]
  /** Present only when more entries follow. */
  readonly next_cursor?: string
}

/** Options of {@link BackendDriver.read}: an HTTP-style byte range. */
export interface ReadOptions {
  /** First byte, 0..size. @default 0 */
  readonly offset?: number
  /** Bytes wanted; clamped to the end of the file. @default to the end */
  readonly length?: number
}

/** An open read. Consume `stream` to its end or stop iterating/cancel it to release it. */
export interface ReadResult {
  readonly stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>
  /** Total bytes of the file (for `Content-Range: bytes a-b/size`). */
  readonly size: number
  /** First byte the stream yields. */
  readonly offset: number
  /** Bytes the stream yields. */
  readonly length: number
  readonly content_type?: string
  /**
   * Each chunk is a view of an `ArrayBuffer` that no other chunk and nothing else holds
   * (say, a protocol reply the driver decoded into its own buffer): a consumer done with a
   * chunk may free it at once (`releaseBytes`), not leave it to the garbage collector.
   * Consumers that keep chunks simply ignore this. @default false
   */
  readonly ownedChunks?: boolean
}

/** Options of {@link BackendDriver.write} and {@link BackendDriver.move}. */
export interface OverwriteOptions {
  /** Replace an existing file (never a directory). @default false */
  readonly overwrite?: boolean
}

/** The outcome for one path of {@link BackendDriver.delete}, in input order. */
export interface DeleteResult {
  /** Canonical API path. */
  readonly path: string
  readonly deleted: boolean
  readonly error?: { readonly code: ErrorCode; readonly detail: string }
}

/** Space figures of a backend (seeds/000 §1, `StorageBackend.stats`). */
export interface BackendStats {
  /** Sum of file sizes (apparent, not allocated). */
  readonly used_bytes: number
  /** Capacity of the store, if it has one. */
  readonly total_bytes?: number
  readonly file_count: number
  /** Files with a disk-image extension (`.img .raw .qcow2 .vhd .vhdx .iso`). */
  readonly template_count: number
  /** True if the driver stopped counting at its limit: the figures are lower bounds. */
  readonly truncated?: boolean
}

/**
 * A storage backend as the file browser sees it: a tree of files and directories.
 *
 * Contract (asserted by `runBackendDriverSuite` from `@pstorage/core/testing`):
 * - Paths: every method takes API paths (`/`, `/a/b`, `a/b`, one trailing `/` allowed) and runs
 *   them through `normalizeBackendPath` *before touching storage*; a refused path is a
 *   `bad_request` and nothing is read, created or consumed (security.md, "Path traversal").
 *   Names are NFC: `café` typed as NFD and NFC is one file. Names are case-sensitive.
 * - Directories: the root always exists. Object stores have no directories: a directory is
 *   a key prefix (or a zero-byte `a/` marker); it exists while anything is under it.
 *   `write`, `mkdir` and `move` create missing parents; a parent that is a file → `conflict`.
 * - Missing paths: `stat`, `read`, `list`, `move` of a missing path → `not_found` (also when
 *   a parent is a file). `list` of a file and `read` of a directory → `bad_request`.
 * - list: direct children only, directories first, then by name in Unicode code point order
 *   (the UTF-8 byte order of S3 listings, not UTF-16 order). Pages of `limit`; the cursor is
 *   key-set based, so entries present for the whole walk appear exactly once. A bad cursor
 *   or limit → `bad_request`. Entries the API cannot address (names `normalizeBackendPath`
 *   refuses, symlinks, in-flight temporary files) are not listed.
 * - Read-after-write: once `write`/`mkdir`/`move`/`delete` resolve, `stat`/`list`/`read` see
 *   the result. `read` ranges: `offset > size` → `range_not_satisfiable`; a negative or
 *   fractional number → `bad_request`; `length` past the end is clamped; empty files read as
 *   zero bytes.
 * - write: streams `source` (never buffers the whole file) and is atomic: readers see the
 *   old content or the new, never a prefix; if `source` throws or the store fails, nothing
 *   is left behind (and an overwritten file keeps its old content); the source's error is
 *   rethrown unchanged. An existing file without `overwrite`, or any existing directory →
 *   `conflict`; of concurrent non-overwriting writers to one path at most one succeeds.
 *   Durable drivers resolve only when the data survives a crash.
 * - mkdir: `conflict` if anything exists at the path (the root included).
 * - delete: validates every path first (a refused path or the root → `bad_request`, nothing
 *   deleted); then deletes each in order, directories recursively, reporting per path
 *   (`not_found` for a missing one) instead of throwing. At most 1000 paths.
 * - move: files or directories; an existing target file without `overwrite`, any existing
 *   target directory, or a type change → `conflict`; moving the root, a path onto itself or
 *   a directory into itself → `bad_request`.
 * - Capabilities: `write`, `mkdir`, `delete` exist iff `capabilities.write`; `move` iff
 *   `capabilities.move`; `stats` iff `capabilities.stats` (use `requireOp` to call them).
 * - Errors are `PStorageError`s whose `detail` names API paths only, never server paths or
 *   secrets; the native error is the `cause`. After `close` every method but `close` rejects
 *   with `service_unavailable`; `close` is idempotent. `test` never throws for connectivity
 *   problems: it answers `ok: false`.
 *
 * @example
 * ```ts
 * const driver = createLocalDriver({ root: '/srv/templates' })
 * await driver.write?.('/isos/alpine.iso', chunksOf(body))
 * const { items } = await driver.list('/isos')
 * ```
 */
export interface BackendDriver {
  /** The driver type (`local`, `s3`, `http`…), its `DRIVER_NAME`. */
  readonly name: string
  readonly capabilities: BackendCapabilities
  /** Checks connectivity and access; `ok: false` with a message instead of throwing. */
  test(): Promise<ConnectionTestResult>
  /** One page of the direct children of the directory at `path`. */
  list(path: string, options?: ListOptions): Promise<ListResult>
  /** The entry at `path`. */
  stat(path: string): Promise<StorageFile>
  /** Opens the file at `path` for streaming, optionally a byte range of it. */
  read(path: string, options?: ReadOptions): Promise<ReadResult>
  /** Atomically creates or replaces the file at `path` from `source`. */
  write?(
    path: string,
    source: AsyncIterable<Uint8Array>,
    options?: OverwriteOptions,
  ): Promise<StorageFile>
  /** Creates the directory at `path` and any missing parents. */
  mkdir?(path: string): Promise<StorageFile>
  /** Deletes files and directories (recursively), one result per path. */
  delete?(paths: readonly string[]): Promise<DeleteResult[]>
  /** Moves or renames a file or directory. */
  move?(from: string, to: string, options?: OverwriteOptions): Promise<StorageFile>
  /** Space and file counts of the whole backend. */
  stats?(): Promise<BackendStats>
  /** Releases resources; later calls reject. */
  close(): Promise<void>
}
