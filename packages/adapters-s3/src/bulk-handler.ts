import type { Agent as HttpAgent } from 'node:http'
import type { Agent as HttpsAgent } from 'node:https'
import { connect, type LookupFunction, type Socket } from 'node:net'
import { Readable } from 'node:stream'
import {
  buildQueryString,
  type HttpHandler,
  type HttpHandlerOptions,
  type HttpRequest,
  HttpResponse,
} from '@smithy/core/protocols'
import { NodeHttpHandler, type NodeHttpHandlerOptions } from '@smithy/node-http-handler'

/** Bytes one socket read may fill (each read gets a buffer of this size). */
export const READ_BYTES = 256 * 1024
/** Bytes an answer's body buffers before its socket pauses. */
const BODY_HIGH_WATER_MARK = 1024 * 1024
/** Longest answer head (status line and headers) accepted. */
const MAX_HEAD_BYTES = 64 * 1024
/** Idle keep-alive connections kept per host, and how long each is kept. */
const MAX_IDLE_PER_HOST = 16
const IDLE_MS = 15_000

/** Options of {@link BulkHttpHandler}. */
export interface BulkHttpHandlerOptions {
  /** How long connecting may take, in ms. @default none */
  readonly connectionTimeout?: number
  /** How long a socket may sit idle mid-exchange (no byte either way), in ms. @default none */
  readonly socketTimeout?: number
  /** Agents of the other requests (see {@link BulkHttpHandler}). */
  readonly httpAgent?: HttpAgent
  readonly httpsAgent?: HttpsAgent
  /** DNS lookup of the bulk reads' connections (give the agents the same). @default dns.lookup */
  readonly lookup?: LookupFunction
  /** Bytes per socket read. @default READ_BYTES */
  readonly readBytes?: number
}

/**
 * The S3 client's HTTP handler: plain-`http:` `GET`s (object reads, listings) go over
 * keep-alive connections read into {@link READ_BYTES} buffers of their own, everything else
 * (`https:`, `PUT`, `HEAD`, `DELETE`, `POST`) through the SDK's `NodeHttpHandler` unchanged.
 *
 * Why: node:http reads a socket 64 KiB at a time and its parser then copies every piece of
 * a body into a buffer of its own. For the file API's downloads, which receive each byte
 * and send it on, that copy and the per-chunk work were most of the server's own CPU
 * (`pnpm bench:backends`, a profile). Here a socket read lands in a buffer that becomes
 * the body's chunk as it is: no copy, a quarter of the chunks, and each chunk owns its
 * buffer, so a consumer may free it once written (`ReadResult.ownedChunks`).
 *
 * HTTP/1.1 as RFC 9112 frames it: `Content-Length`, `chunked` (pieces copied out) or
 * read-to-close bodies, `1xx` answers skipped, a connection reused only after its body was
 * read whole; a reused connection that the server closed before answering is retried once
 * on a new one (a `GET` is idempotent). Errors are the SDK's: `TimeoutError` for
 * timeouts, resets and answers cut short (which the SDK retries), `AbortError` for an
 * abort. The SDK's `requestTimeout` (a warning by default) is not applied.
 *
 * @example
 * ```ts
 * const client = new S3Client({ region, endpoint, requestHandler: new BulkHttpHandler({ socketTimeout: 30_000 }) })
 * ```
 */
export class BulkHttpHandler implements HttpHandler<NodeHttpHandlerOptions> {
  readonly metadata = { handlerProtocol: 'http/1.1' }
  readonly #fallback: NodeHttpHandler
  readonly #options: BulkHttpHandlerOptions
  readonly #readBytes: number
  readonly #idle = new Map<string, Connection[]>()
  #destroyed = false

  constructor(options: BulkHttpHandlerOptions = {}) {
    const { lookup: _lookup, readBytes, ...nodeOptions } = options
    this.#fallback = new NodeHttpHandler(nodeOptions)
    this.#options = options
    this.#readBytes = readBytes ?? READ_BYTES
    if (!Number.isSafeInteger(this.#readBytes) || this.#readBytes < 16 * 1024)
      throw new RangeError('readBytes must be an integer >= 16384')
  }

  async handle(
    request: HttpRequest,
    options: HttpHandlerOptions = {},
  ): Promise<{ response: HttpResponse }> {
    if (request.protocol !== 'http:' || request.method !== 'GET' || request.body != null)
      return this.#fallback.handle(request, options)
    const { abortSignal } = options
    if (abortSignal?.aborted) throw abortError(abortSignal as AbortSignal)
    const head = requestHead(request)
    const key = `${request.hostname}:${request.port ?? 80}`
    const reused = this.#take(key)
    try {
      return {
        response: await this.#exchange(reused ?? this.#connect(request), key, head, options),
      }
    } catch (error) {
      // A kept connection the server closed meanwhile: the request never reached it.
      if (!(reused && error instanceof StaleConnection)) throw error
      return { response: await this.#exchange(this.#connect(request), key, head, options) }
    }
  }

  updateHttpClientConfig(key: keyof NodeHttpHandlerOptions, value: unknown): void {
    this.#fallback.updateHttpClientConfig(key, value as never)
  }

  httpHandlerConfigs(): NodeHttpHandlerOptions {
    return this.#fallback.httpHandlerConfigs()
  }

  /** Closes the kept connections and the fallback's agents; exchanges under way go on. */
  destroy(): void {
    this.#destroyed = true
    for (const connections of this.#idle.values()) for (const c of connections) c.socket.destroy()
    this.#idle.clear()
    this.#fallback.destroy()
  }

  #take(key: string): Connection | undefined {
    const connections = this.#idle.get(key)
    for (let c = connections?.pop(); c; c = connections?.pop()) {
      if (!c.socket.destroyed && c.socket.readyState === 'open') return c
      c.socket.destroy()
    }
    return undefined
  }

  #connect(request: HttpRequest): Connection {
    let host = request.hostname
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
    return new Connection(
      host,
      request.port ?? 80,
      this.#readBytes,
      this.#options.lookup,
      this.#options.connectionTimeout,
    )
  }

  #exchange(
    connection: Connection,
    key: string,
    head: string,
    { abortSignal }: HttpHandlerOptions,
  ): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      const exchange = new Exchange(connection, resolve, reject, (reusable) => {
        signal?.removeEventListener('abort', onAbort)
        if (reusable) this.#keep(key, connection)
        else connection.socket.destroy()
      })
      const signal = abortSignal as AbortSignal | undefined
      const onAbort = () => exchange.fail(abortError(signal))
      signal?.addEventListener('abort', onAbort, { once: true })
      connection.start(exchange, this.#options.socketTimeout)
      connection.socket.write(head, 'latin1')
    })
  }

  #keep(key: string, connection: Connection): void {
    const connections = this.#idle.get(key) ?? []
    this.#idle.set(key, connections)
    if (this.#destroyed || connections.length >= MAX_IDLE_PER_HOST) {
      connection.socket.destroy()
      return
    }
    connections.push(connection)
    connection.idle(() => {
      const at = connections.indexOf(connection)
      if (at !== -1) connections.splice(at, 1)
    })
  }
}

/** The body of an answer read by {@link BulkHttpHandler}. */
class BulkBody extends Readable {}

/**
 * Whether `body` is an answer's body read by {@link BulkHttpHandler}: each of its chunks
 * is a buffer of its own (a socket read's, or a copy), which a consumer may free.
 */
export function isBulkBody(body: unknown): body is Readable {
  return body instanceof BulkBody
}

/** A reused connection closed before any byte of the answer: safe to send again. */
class StaleConnection extends Error {}

/**
 * One keep-alive connection, read into buffers of `readBytes` (net's `onread`): each read's
 * bytes go to the exchange under way, which may keep the buffer (then the next read gets a
 * new one) or have it reused.
 */
class Connection {
  readonly socket: Socket
  #buffer: Buffer | undefined
  #exchange: Exchange | undefined
  #onIdleClose: (() => void) | undefined
  /** The exchange's idle bound in ms (0: none). */
  #idleTimeout = 0
  /** Whether an earlier exchange ran on it (a failure before any byte is then stale). */
  used = false

  constructor(
    host: string,
    port: number,
    readBytes: number,
    lookup: LookupFunction | undefined,
    connectTimeout: number | undefined,
  ) {
    this.socket = connect({
      host,
      port,
      noDelay: true,
      ...(lookup && { lookup }),
      onread: {
        buffer: () => {
          this.#buffer ??= Buffer.allocUnsafeSlow(readBytes)
          return this.#buffer
        },
        callback: (n: number, buffer: Uint8Array) => this.#read(n, buffer as Buffer),
      },
    })
    // One 'timeout' listener for the connection's life; `setTimeout` only rearms it.
    this.socket.on('timeout', () => {
      const exchange = this.#exchange
      if (this.socket.connecting)
        this.socket.destroy(timeoutError(`connecting took over ${connectTimeout} ms`))
      else if (exchange) exchange.fail(timeoutError(`no byte moved for ${this.#idleTimeout} ms`))
      else this.socket.destroy() // kept idle long enough
    })
    if (connectTimeout) this.socket.setTimeout(connectTimeout)
    this.socket.once('connect', () => this.socket.setTimeout(this.#idleTimeout))
    this.socket.on('error', (error) => this.#exchange?.closed(error))
    this.socket.on('end', () => this.#exchange?.ended())
    this.socket.on('close', () => {
      this.#exchange?.closed()
      this.#onIdleClose?.()
    })
  }

  start(exchange: Exchange, idleTimeout: number | undefined): void {
    this.#exchange = exchange
    this.#onIdleClose = undefined
    this.#idleTimeout = idleTimeout ?? 0
    this.socket.ref()
    if (!this.socket.connecting) this.socket.setTimeout(this.#idleTimeout) // else at 'connect'
    this.socket.resume()
  }

  /** Between exchanges: kept for {@link IDLE_MS}, unref'd; `onClose` when it goes. */
  idle(onClose: () => void): void {
    this.#exchange = undefined
    this.used = true
    this.#onIdleClose = onClose
    this.socket.unref()
    this.socket.setTimeout(IDLE_MS)
    this.socket.resume() // to see the server close it
  }

  /** The bytes `buffer[0, n)` of one read. */
  #read(n: number, buffer: Buffer): boolean {
    const exchange = this.#exchange
    if (!exchange) {
      this.socket.destroy() // bytes no request asked for
      return false
    }
    // Short reads are copied out and the buffer reused; long ones hand it over.
    const whole = n >= buffer.length >>> 2
    const bytes = whole ? buffer.subarray(0, n) : owned(buffer.subarray(0, n))
    if (whole) this.#buffer = undefined
    return exchange.data(bytes)
  }
}

/** How the answer's body ends (RFC 9112 §6.3). */
type Framing =
  | { kind: 'length'; left: number }
  | { kind: 'chunked'; decoder: ChunkedDecoder }
  | { kind: 'close' }

/** One request and its answer on a {@link Connection}. */
class Exchange {
  #state: 'head' | 'body' | 'done' = 'head'
  #head: Buffer = Buffer.alloc(0)
  #framing: Framing = { kind: 'close' }
  #body: Readable | undefined
  #gotBytes = false
  /** The answer allows another request on the connection (HTTP/1.1, no `close`). */
  #keepAlive = false

  constructor(
    readonly connection: Connection,
    readonly resolve: (response: HttpResponse) => void,
    readonly reject: (error: Error) => void,
    /** Called once, when the exchange is over: whether the connection may serve another. */
    readonly over: (reusable: boolean) => void,
  ) {}

  /** Bytes that arrived; false pauses the socket. */
  data(bytes: Buffer): boolean {
    this.#gotBytes = true
    if (this.#state === 'head') return this.#headData(bytes)
    if (this.#state === 'body') return this.#bodyData(bytes)
    return false
  }

  /** The server ended its side (FIN). */
  ended(): void {
    if (this.#state === 'body' && this.#framing.kind === 'close') this.#finish(false)
    else this.closed()
  }

  /** The socket closed or failed. */
  closed(error?: Error): void {
    if (this.#state === 'done') return
    if (this.#state === 'head' && !this.#gotBytes && this.connection.used) {
      this.fail(new StaleConnection('the kept connection was closed'))
      return
    }
    this.fail(
      resetError(
        this.#state === 'head'
          ? 'the connection closed before an answer'
          : 'the answer was cut short',
        error,
      ),
    )
  }

  /** Ends the exchange with `error`: the promise rejects, or the body errors. */
  fail(error: Error): void {
    if (this.#state === 'done') return
    const state = this.#state
    this.#state = 'done'
    this.over(false)
    if (state === 'head') this.reject(error)
    else this.#body?.destroy(error)
  }

  #headData(bytes: Buffer): boolean {
    this.#head = this.#head.length === 0 ? bytes : Buffer.concat([this.#head, bytes])
    for (;;) {
      const end = this.#head.indexOf('\r\n\r\n')
      if (end === -1) {
        if (this.#head.length > MAX_HEAD_BYTES) this.fail(protocolError('answer head too long'))
        return true
      }
      const text = this.#head.toString('latin1', 0, end)
      // The rest is body bytes: in a buffer of its own, so a consumer may free it.
      const rest = owned(this.#head.subarray(end + 4))
      this.#head = Buffer.alloc(0)
      let parsed: ReturnType<typeof parseHead>
      try {
        parsed = parseHead(text)
        if (parsed.status < 100 || parsed.status >= 200)
          this.#framing = framing(parsed.status, parsed.headers)
      } catch (error) {
        this.fail(error as Error)
        return false
      }
      if (parsed.status >= 100 && parsed.status < 200) {
        if (parsed.status === 101) {
          this.fail(protocolError('unexpected 101 Switching Protocols'))
          return false
        }
        this.#head = rest // an interim answer: the final one follows
        continue
      }
      this.#keepAlive = parsed.keepAlive
      this.#state = 'body'
      const body = new BulkBody({
        highWaterMark: BODY_HIGH_WATER_MARK,
        read: () => {
          if (this.#state === 'body') this.connection.socket.resume()
        },
        destroy: (error, callback) => {
          // The consumer stopped reading before the end: the connection cannot be reused.
          if (this.#state === 'body') this.fail(error ?? resetError('the body was dropped'))
          callback(error)
        },
      })
      this.#body = body
      this.resolve(
        new HttpResponse({
          statusCode: parsed.status,
          reason: parsed.reason,
          headers: parsed.headers,
          body,
        }),
      )
      if (this.#framing.kind === 'length' && this.#framing.left === 0) {
        if (rest.length > 0) this.#keepAlive = false
        this.#finish(this.#keepAlive)
        return true
      }
      return rest.length === 0 ? true : this.#bodyData(rest)
    }
  }

  #bodyData(bytes: Buffer): boolean {
    const body = this.#body!
    const framing = this.#framing
    if (framing.kind === 'close') return body.push(bytes)
    if (framing.kind === 'length') {
      let piece = bytes
      if (piece.length > framing.left) {
        piece = piece.subarray(0, framing.left) // bytes past the body: never reuse this one
        this.#keepAlive = false
      }
      framing.left -= piece.length
      const more = body.push(piece)
      if (framing.left > 0) return more
      this.#finish(this.#keepAlive)
      return true // the connection reads on, idle or closed
    }
    let more = true
    try {
      for (const piece of framing.decoder.write(bytes)) more = body.push(piece)
    } catch (error) {
      this.fail(error as Error)
      return false
    }
    if (!framing.decoder.done) return more
    this.#finish(this.#keepAlive && framing.decoder.clean)
    return true
  }

  #finish(reusable: boolean): void {
    if (this.#state === 'done') return
    this.#state = 'done'
    this.#body?.push(null)
    this.over(reusable)
  }
}

/** The request line and headers of a `GET`, checked as node:http checks them. */
function requestHead(request: HttpRequest): string {
  const query = request.query ? buildQueryString(request.query) : ''
  const target = query ? `${request.path}?${query}` : request.path
  if (!/^\/[\x21-\x7e]*$/.test(target))
    throw new TypeError('Request path contains unescaped characters')
  let head = `GET ${target} HTTP/1.1\r\n`
  let host = false
  for (const [name, value] of Object.entries(request.headers)) {
    if (!TOKEN.test(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)}`)
    if (/[\r\n\0]/.test(value)) throw new TypeError(`Invalid character in header ${name}`)
    if (name.toLowerCase() === 'host') host = true
    head += `${name}: ${value}\r\n`
  }
  if (!host) head += `host: ${request.hostname}${request.port ? `:${request.port}` : ''}\r\n`
  return `${head}\r\n`
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Status line and headers (lower-case names; repeated ones joined by `, `). */
function parseHead(text: string): {
  status: number
  reason: string
  headers: Record<string, string>
  keepAlive: boolean
} {
  const lines = text.split('\r\n')
  const status = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? '')
  if (!status) throw protocolError('malformed status line')
  const headers: Record<string, string> = Object.create(null)
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).toLowerCase()
    if (colon <= 0 || !TOKEN.test(name)) throw protocolError('malformed header line')
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  const connection = (headers.connection ?? '').toLowerCase().split(/\s*,\s*/)
  const keepAlive =
    status[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive')
  return { status: Number(status[2]), reason: status[3] ?? '', headers: { ...headers }, keepAlive }
}

function framing(status: number, headers: Record<string, string>): Framing {
  const te = headers['transfer-encoding']
  if (te !== undefined) {
    const codings = te.toLowerCase().split(/\s*,\s*/)
    return codings.at(-1) === 'chunked'
      ? { kind: 'chunked', decoder: new ChunkedDecoder() }
      : { kind: 'close' }
  }
  if (status === 204 || status === 304) return { kind: 'length', left: 0 }
  const cl = headers['content-length']
  if (cl === undefined) return { kind: 'close' }
  const values = new Set(cl.split(/\s*,\s*/))
  const [only] = values
  if (values.size !== 1 || !/^\d{1,15}$/.test(only!)) throw protocolError('invalid Content-Length')
  return { kind: 'length', left: Number(only) }
}

/**
 * `Transfer-Encoding: chunked` (RFC 9112 §7.1): yields the data of each chunk (copied out:
 * pieces of one read share its buffer), skips extensions and trailers.
 */
export class ChunkedDecoder {
  #state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size'
  #line = ''
  #left = 0
  /** The last chunk and the trailers were read. */
  get done(): boolean {
    return this.#state === 'done'
  }
  /** No byte came after the end. */
  clean = true

  /** Decodes the next bytes of the body: the chunk data among them. */
  write(bytes: Uint8Array): Buffer[] {
    const out: Buffer[] = []
    let at = 0
    while (at < bytes.length) {
      if (this.#state === 'done') {
        this.clean = false
        return out
      }
      if (this.#state === 'data') {
        const take = Math.min(this.#left, bytes.length - at)
        out.push(owned(bytes.subarray(at, at + take)))
        at += take
        this.#left -= take
        if (this.#left === 0) this.#state = 'data-end'
        continue
      }
      const nl = bytes.indexOf(0x0a, at)
      const end = nl === -1 ? bytes.length : nl + 1
      this.#line += Buffer.from(bytes.buffer, bytes.byteOffset + at, end - at).toString('latin1')
      at = end
      if (this.#line.length > 8192) throw protocolError('chunk line too long')
      if (nl === -1) return out
      const line = this.#line.replace(/\r?\n$/, '')
      this.#line = ''
      if (this.#state === 'size') {
        const size = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(line)
        if (!size) throw protocolError('invalid chunk size')
        this.#left = Number.parseInt(size[1]!, 16)
        this.#state = this.#left === 0 ? 'trailer' : 'data'
      } else if (this.#state === 'data-end') {
        if (line !== '') throw protocolError('chunk data longer than its size')
        this.#state = 'size'
      } else if (line === '') this.#state = 'done' // the empty line after the trailers
    }
    return out
  }
}

/** A copy of `bytes` in a buffer of its own (never a slice of Node's shared pool). */
function owned(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length)
  copy.set(bytes)
  return copy
}

function protocolError(message: string): Error {
  return Object.assign(new Error(`Invalid HTTP answer: ${message}`), { code: 'HPE_INVALID' })
}

function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { name: 'TimeoutError', code: 'ETIMEDOUT' })
}

/** As NodeHttpHandler names a reset: `TimeoutError`, which the SDK retries. */
function resetError(message: string, cause?: Error): Error {
  const code = (cause as { code?: string } | undefined)?.code
  if (cause && code !== 'ECONNRESET' && code !== 'EPIPE' && code !== 'ETIMEDOUT') return cause
  return Object.assign(new Error(message, cause && { cause }), {
    name: 'TimeoutError',
    code: code ?? 'ECONNRESET',
  })
}

function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason
  const error = new Error(
    reason instanceof Error ? 'Request aborted' : String(reason ?? 'Request aborted'),
  )
  error.name = 'AbortError'
  if (reason instanceof Error) error.cause = reason
  return error
}
