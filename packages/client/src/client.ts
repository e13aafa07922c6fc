import type { Ok, Query } from './generated/operations.js'
import { GeneratedOperations } from './generated/operations.js'
import { parseReadDocument } from './read-document.js'
import {
  createTransport,
  type RequestOptions,
  type RequestSpec,
  type Transport,
  type TransportOptions,
} from './transport.js'

/** The tokens of a session, as `POST /api/v1/auth/login` returns them. */
export type Tokens = Ok<'login', 200>

/** Options of {@link PStorageClient}. */
export interface ClientOptions extends TransportOptions {
  /** An API key, sent as `X-API-Key` (scripts, Prometheus, CI). */
  readonly apiKey?: string
  /** Tokens of an existing session (from an earlier `login`). */
  readonly tokens?: Tokens
  /** Called whenever the session's tokens change (login, refresh), to persist them. */
  readonly onTokens?: (tokens: Tokens | undefined) => void
}

/** Options of {@link PStorageClient.uploadVolumeData}. */
export interface UploadOptions extends RequestOptions {
  /** Where the data starts in the volume, a multiple of 4096. @default 0 */
  readonly offset?: number
  /** Bytes in `data`; required for streams (the server checks the range before writing). */
  readonly length?: number
}

/** Options of {@link PStorageClient.downloadVolumeData}. */
export interface DownloadOptions extends RequestOptions {
  /** First byte. @default 0 */
  readonly offset?: number
  /** Bytes to read. @default to the end of the volume */
  readonly length?: number
}

/** The write response of the binary route, as for JSON writes. */
export type DataWriteResult = Ok<'writeVolume', 200>

/**
 * The typed client of the PStorage API: one method per operation of the served OpenAPI
 * document (generated), plus streaming helpers for the binary data path.
 *
 * @example
 * ```ts
 * const client = new PStorageClient({ baseUrl: 'http://localhost:8000' })
 * const volume = await client.createVolume({ name: 'db', size_gb: 10 })
 * await client.uploadVolumeData(volume.id, createReadStream('disk.raw'), { length: size })
 * ```
 */
export class PStorageClient extends GeneratedOperations {
  readonly #transport: Transport
  readonly #options: ClientOptions
  #tokens: Tokens | undefined
  #refreshing: Promise<boolean> | undefined

  constructor(options: ClientOptions) {
    super()
    this.#options = options
    this.#tokens = options.tokens
    this.#transport = createTransport(options, {
      headers: (): Record<string, string> => {
        if (options.apiKey) return { 'x-api-key': options.apiKey }
        return this.#tokens ? { authorization: `Bearer ${this.#tokens.access_token}` } : {}
      },
      // One refresh at a time: concurrent 401s wait for the same one.
      refresh: () => {
        this.#refreshing ??= this.#refreshSession().finally(() => {
          this.#refreshing = undefined
        })
        return this.#refreshing
      },
    })
  }

  protected request<T>(spec: RequestSpec, options?: RequestOptions): Promise<T> {
    // Logging in and refreshing send no credentials and never trigger a refresh themselves.
    const anonymous = spec.path === '/api/v1/auth/login' || spec.path === '/api/v1/auth/refresh'
    return this.#transport.json<T>(spec, options, anonymous)
  }

  /**
   * Reads base64 data at `offset` (`GET /api/v1/volumes/{id}/read`), as the generated method
   * does, with the multi-MiB `data` taken from the answer without a second parse.
   */
  override readVolume(
    volumeId: string,
    query?: Query<'readVolume'>,
    options?: RequestOptions,
  ): Promise<Ok<'readVolume', 200>> {
    return this.#transport.json(
      {
        method: 'GET',
        path: `/api/v1/volumes/${encodeURIComponent(volumeId)}/read`,
        ...(query && { query }),
      },
      options,
      false,
      parseReadDocument<Ok<'readVolume', 200>>,
    )
  }

  /** The current session's tokens, if logged in. */
  get tokens(): Tokens | undefined {
    return this.#tokens
  }

  /**
   * Logs in and keeps the session: later calls send the access token and refresh it
   * (rotating the refresh token) when it expires.
   */
  override async login(
    body: Parameters<GeneratedOperations['login']>[0],
    options?: RequestOptions,
  ): Promise<Tokens> {
    return this.#setTokens(await super.login(body, options))
  }

  /** Rotates the session's tokens now. */
  override async refreshToken(
    body: Parameters<GeneratedOperations['refreshToken']>[0],
    options?: RequestOptions,
  ): Promise<Tokens> {
    return this.#setTokens(await super.refreshToken(body, options))
  }

  /** Ends the session on the server and forgets its tokens. */
  override async logout(
    body?: Parameters<GeneratedOperations['logout']>[0],
    options?: RequestOptions,
  ): Promise<void> {
    const refresh_token = body?.refresh_token ?? this.#tokens?.refresh_token
    if (refresh_token) await super.logout({ refresh_token }, options)
    this.#setTokens(undefined)
  }

  #setTokens<T extends Tokens | undefined>(tokens: T): T {
    this.#tokens = tokens
    this.#options.onTokens?.(tokens)
    return tokens
  }

  async #refreshSession(): Promise<boolean> {
    const current = this.#tokens
    if (!current || this.#options.apiKey) return false
    try {
      await this.refreshToken({ refresh_token: current.refresh_token })
      return true
    } catch {
      this.#setTokens(undefined)
      return false
    }
  }

  /**
   * Streams bytes into a volume (`PUT /api/v1/volumes/{id}/data`) without holding them in
   * memory: a buffer, a web `ReadableStream` or any async iterable of bytes (a Node
   * `fs.createReadStream`, for example; then pass `length`).
   */
  async uploadVolumeData(
    volumeId: string,
    data: Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
    options: UploadOptions = {},
  ): Promise<DataWriteResult> {
    const length = data instanceof Uint8Array ? data.byteLength : options.length
    if (length === undefined)
      throw new TypeError('uploadVolumeData: pass options.length with a stream')
    const body =
      data instanceof Uint8Array || data instanceof ReadableStream
        ? data
        : ReadableStream.from(data)
    const response = await this.#transport.raw(
      {
        method: 'PUT',
        path: `/api/v1/volumes/${encodeURIComponent(volumeId)}/data`,
        query: { offset: options.offset ?? 0 },
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
        body,
      },
      options,
    )
    return (await response.json()) as DataWriteResult
  }

  /**
   * Streams bytes out of a volume (`GET /api/v1/volumes/{id}/data` with `Range`), as the
   * server produces them.
   */
  async downloadVolumeData(
    volumeId: string,
    options: DownloadOptions = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const range = rangeHeader(options)
    const response = await this.#transport.raw(
      {
        method: 'GET',
        path: `/api/v1/volumes/${encodeURIComponent(volumeId)}/data`,
        ...(range && { headers: { range } }),
        bulk: true,
      },
      options,
    )
    if (!response.body) throw new TypeError('downloadVolumeData: the answer has no body')
    return response.body
  }

  /**
   * Uploads files into a backend folder (`POST /api/v1/storage/backends/{id}/files`) as one
   * streamed `multipart/form-data` body: stream data is sent as it is read, never buffered.
   */
  async uploadFiles(
    backendId: string,
    files: readonly UploadFile[],
    options: UploadFilesOptions = {},
  ): Promise<UploadFilesResult> {
    const boundary = `----pstorage-${crypto.randomUUID()}`
    const fields: Record<string, string> = {
      path: options.path ?? '/',
      overwrite: String(options.overwrite ?? false),
    }
    const response = await this.#transport.raw(
      {
        method: 'POST',
        path: `/api/v1/storage/backends/${encodeURIComponent(backendId)}/files`,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        body: ReadableStream.from(multipartBody(boundary, fields, files)),
      },
      options,
    )
    return ((await response.json()) as { files: UploadFilesResult }).files
  }

  /**
   * Streams a file out of a backend (`GET .../files/download?path=`, with `Range` for a
   * part of it).
   */
  async downloadFile(
    backendId: string,
    path: string,
    options: DownloadOptions = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const range = rangeHeader(options)
    const response = await this.#transport.raw(
      {
        method: 'GET',
        path: `/api/v1/storage/backends/${encodeURIComponent(backendId)}/files/download`,
        query: { path },
        ...(range && { headers: { range } }),
        bulk: true,
      },
      options,
    )
    if (!response.body) throw new TypeError('downloadFile: the answer has no body')
    return response.body
  }
}

/** One file of {@link PStorageClient.uploadFiles}. */
export interface UploadFile {
  /** The file name in the target folder (one segment, no `/`). */
  readonly name: string
  readonly data: Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>
}

/** Options of {@link PStorageClient.uploadFiles}. */
export interface UploadFilesOptions extends RequestOptions {
  /** Target folder, created if missing. @default '/' */
  readonly path?: string
  /** Replace existing files. @default false */
  readonly overwrite?: boolean
}

/** The answer of {@link PStorageClient.uploadFiles}. */
export type UploadFilesResult = Ok<'listFiles', 200>['items']

const CRLF = '\r\n'

/** Quotes a multipart header parameter (RFC 7578 §4.2: percent-encode `"`, CR and LF). */
function quoteParam(value: string): string {
  return value.replace(/["\r\n%]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** The `Range` header of a download, if any part was asked for. */
function rangeHeader({ offset, length }: DownloadOptions): string | undefined {
  if (offset === undefined && length === undefined) return undefined
  if (length === undefined) return `bytes=${offset}-`
  return `bytes=${offset ?? 0}-${(offset ?? 0) + length - 1}`
}

/** A `multipart/form-data` body streamed part by part: fields first, then the files. */
async function* multipartBody(
  boundary: string,
  fields: Record<string, string>,
  files: readonly UploadFile[],
): AsyncGenerator<Uint8Array> {
  const enc = new TextEncoder()
  for (const [name, value] of Object.entries(fields)) {
    yield enc.encode(
      `--${boundary}${CRLF}Content-Disposition: form-data; name="${name}"${CRLF}${CRLF}${value}${CRLF}`,
    )
  }
  for (const file of files) {
    yield enc.encode(
      `--${boundary}${CRLF}Content-Disposition: form-data; name="file"; filename="${quoteParam(file.name)}"${CRLF}Content-Type: application/octet-stream${CRLF}${CRLF}`,
    )
    if (file.data instanceof Uint8Array) yield file.data
    else yield* file.data as AsyncIterable<Uint8Array>
    yield enc.encode(CRLF)
  }
  yield enc.encode(`--${boundary}--${CRLF}`)
}

/** Shorthand for `new PStorageClient(options)`. */
export function createClient(options: ClientOptions): PStorageClient {
  return new PStorageClient(options)
}
