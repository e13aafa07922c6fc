import { connect, type LookupFunction, type Socket } from 'node:net'
import { Readable } from 'node:stream'

/** Bytes one socket read may fill (each read gets a buffer of this size). */
export const HTTP1_READ_BYTES = 256 * 1024
/** Bytes an answer's body buffers before its socket pauses. */
const BODY_HIGH_WATER_MARK = 1024 * 1024
/** Longest answer head (status line and headers) accepted. */
const MAX_HEAD_BYTES = 64 * 1024
/** Idle keep-alive connections kept per host, and how long each is kept. */
const MAX_IDLE_PER_HOST = 16
const IDLE_MS = 15_000

/** Options of {@link Http1Agent}. */
export interface Http1AgentOptions {
  /** How long connecting may take, in ms. @default none */
  readonly connectTimeoutMs?: number
  /** How long a socket may sit idle mid-exchange (no byte either way), in ms. @default none */
  readonly idleTimeoutMs?: number
  /**
   * DNS lookup of its connections (the server passes core's `guardedLookup`, so the
   * address connected to is the one checked). IP literals are connected to as they are.
   * @default dns.lookup
   */
  readonly lookup?: LookupFunction
  /** Bytes per socket read, at least 16 KiB. @default HTTP1_READ_BYTES */
  readonly readBytes?: number
}

/** Where a `GET` of {@link Http1Agent} goes. */
export interface Http1Target {
  /** A host name or an IP address (IPv6 with or without brackets). */
  readonly hostname: string
  readonly port: number
  /** Path and query, already escaped (`/a%20b?x=1`). */
  readonly path: string
}

/** An answer of {@link Http1Agent.get}. */
export interface Http1Answer {
  readonly status: number
  readonly reason: string
  /** Lower-case names; repeated headers joined by `, `. */
  readonly headers: Readonly<Record<string, string>>
  /** Names and values as they came, in order (`[name, value, name, value…]`). */
  readonly rawHeaders: readonly string[]
  /**
   * The body: its chunks are each a buffer of their own ({@link isHttp1Body}). It must be
   * read to its end, or destroyed, for the connection to be released.
   */
  readonly body: Readable
}

/**
 * An HTTP/1.1 client for plain-`http:` `GET`s that move many bytes (file downloads from
 * backends), over keep-alive connections read into buffers of {@link HTTP1_READ_BYTES}.
 *
 * Why: node:http reads a socket 64 KiB at a time, and its parser copies every piece of a
 * body into a buffer of its own. For the file API's downloads, which receive every byte
 * and send it on, that copy and the per-chunk work were most of the server's own CPU
 * (`pnpm bench:backends`, a profile). Here a socket read lands in a buffer that becomes
 * the body's chunk as it is (net's `onread`): no copy, a quarter of the chunks, and each
 * chunk owns its buffer, so a consumer may free it once written (`ReadResult.ownedChunks`).
 * Short reads (under a quarter of the buffer) are copied out and the buffer reused.
 *
 * HTTP/1.1 as RFC 9112 frames it: `Content-Length`, `chunked` (its pieces copied out) or
 * read-to-close bodies; `1xx` answers skipped; a connection reused only after its body
 * was read whole and the answer allowed it; a reused connection the server closed before
 * answering is sent to again once, on a new one (a `GET` is idempotent). Request paths and
 * headers are checked as node:http checks them (no CR, LF or NUL: no request splitting).
 * Failures: a reset or an answer cut short is an `Error` with code `ECONNRESET`, a
 * timeout `ETIMEDOUT`, a malformed answer `HPE_INVALID`, an abort an `AbortError` (its
 * `cause` the signal's reason).
 *
 * @example
 * ```ts
 * const agent = new Http1Agent({ idleTimeoutMs: 30_000 })
 * const { status, body } = await agent.get({ hostname: 'mirror', port: 80, path: '/a.iso' }, {})
 * ```
 */
export class Http1Agent {
  readonly #options: Http1AgentOptions
  readonly #readBytes: number
  readonly #idle = new Map<string, Connection[]>()
  #destroyed = false

  constructor(options: Http1AgentOptions = {}) {
    this.#options = options
    this.#readBytes = options.readBytes ?? HTTP1_READ_BYTES
    if (!Number.isSafeInteger(this.#readBytes) || this.#readBytes < 16 * 1024)
      throw new RangeError('readBytes must be an integer >= 16384')
  }

  /** Sends `GET target.path` with `headers` (a `host` header is added if missing). */
  async get(
    target: Http1Target,
    headers: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<Http1Answer> {
    if (this.#destroyed) throw new Error('The agent was destroyed')
    if (signal?.aborted) throw abortError(signal)
    const head = requestHead(target, headers)
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1')
    const key = `${host}:${target.port}`
    const reused = this.#take(key)
    try {
      return await this.#exchange(reused ?? this.#connect(host, target.port), key, head, signal)
    } catch (error) {
      // A kept connection the server closed meanwhile: the request never reached it.
      if (!(reused && error instanceof StaleConnection)) throw error
      return this.#exchange(this.#connect(host, target.port), key, head, signal)
    }
  }

  /** Closes the kept connections; exchanges under way go on, then close. */
  destroy(): void {
    this.#destroyed = true
    for (const connections of this.#idle.values()) for (const c of connections) c.socket.destroy()
    this.#idle.clear()
  }

  #take(key: string): Connection | undefined {
    const connections = this.#idle.get(key)
    for (let c = connections?.pop(); c; c = connections?.pop()) {
      if (!c.socket.destroyed && c.socket.readyState === 'open') return c
      c.socket.destroy()
    }
    return undefined
  }

  #connect(host: string, port: number): Connection {
    const { lookup, connectTimeoutMs } = this.#options
    return new Connection(host, port, this.#readBytes, lookup, connectTimeoutMs)
  }

  #exchange(
    connection: Connection,
    key: string,
    head: string,
    signal: AbortSignal | undefined,
  ): Promise<Http1Answer> {
    return new Promise<Http1Answer>((resolve, reject) => {
      const exchange = new Exchange(connection, resolve, reject, (reusable) => {
        signal?.removeEventListener('abort', onAbort)
        if (reusable) this.#keep(key, connection)
        else connection.socket.destroy()
      })
      const onAbort = () => exchange.fail(abortError(signal))
      signal?.addEventListener('abort', onAbort, { once: true })
      connection.start(exchange, this.#options.idleTimeoutMs)
      connection.socket.write(head, 'latin1')
    })
  }

  #keep(key: string, connection: Connection): void {
    const connections = this.#idle.get(key) ?? []
    if (this.#destroyed || connections.length >= MAX_IDLE_PER_HOST) {
      connection.socket.destroy()
      return
    }
    this.#idle.set(key, connections)
    connections.push(connection)
    connection.idle(() => {
      const at = connections.indexOf(connection)
      if (at !== -1) connections.splice(at, 1)
    })
  }
}

/** The body of an answer read by {@link Http1Agent}. */
class Http1Body extends Readable {}

/**
 * Whether `body` is an answer's body read by {@link Http1Agent}: each of its chunks is a
 * buffer of its own (a socket read's, or a copy), which a consumer may free.
 *
 * @example
 * ```ts
 * const ownedChunks = isHttp1Body(answer.body)
 * ```
 */
export function isHttp1Body(body: unknown): body is Readable {
  return body instanceof Http1Body
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
    readonly resolve: (answer: Http1Answer) => void,
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
      const body = new Http1Body({
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
      this.resolve({
        status: parsed.status,
        reason: parsed.reason,
        headers: parsed.headers,
        rawHeaders: parsed.rawHeaders,
        body,
      })
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
function requestHead(target: Http1Target, headers: Readonly<Record<string, string>>): string {
  if (!/^\/[\x21-\x7e]*$/.test(target.path))
    throw new TypeError('Request path contains unescaped characters')
  let head = `GET ${target.path} HTTP/1.1\r\n`
  let host = false
  for (const [name, value] of Object.entries(headers)) {
    if (!HTTP_TOKEN.test(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)}`)
    if (/[\r\n\0]/.test(value)) throw new TypeError(`Invalid character in header ${name}`)
    if (name.toLowerCase() === 'host') host = true
    head += `${name}: ${value}\r\n`
  }
  // As node:http writes it: no port when it is the default.
  if (!host) head += `host: ${target.hostname}${target.port === 80 ? '' : `:${target.port}`}\r\n`
  return `${head}\r\n`
}

/**
 * An HTTP token (RFC 9110 §5.6.2): what a field name is made of (§5.1).
 *
 * @example
 * ```ts
 * HTTP_TOKEN.test('x-amz-date') // true
 * ```
 */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Status line and headers (lower-case names; repeated ones joined by `, `). */
function parseHead(text: string): {
  status: number
  reason: string
  headers: Record<string, string>
  rawHeaders: string[]
  keepAlive: boolean
} {
  const lines = text.split('\r\n')
  const status = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? '')
  if (!status) throw protocolError('malformed status line')
  const headers = new Map<string, string>()
  const rawHeaders: string[] = []
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!
    const colon = line.indexOf(':')
    const name = line.slice(0, colon)
    if (colon <= 0 || !HTTP_TOKEN.test(name)) throw protocolError('malformed header line')
    const value = line.slice(colon + 1).trim()
    if (/[\0\r\n]/.test(value)) throw protocolError('invalid header value')
    rawHeaders.push(name, value)
    const key = name.toLowerCase()
    const before = headers.get(key)
    headers.set(key, before === undefined ? value : `${before}, ${value}`)
  }
  const connection = (headers.get('connection') ?? '').toLowerCase().split(/\s*,\s*/)
  const keepAlive =
    status[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive')
  return {
    status: Number(status[2]),
    reason: status[3] ?? '',
    headers: Object.fromEntries(headers),
    rawHeaders,
    keepAlive,
  }
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
  return Object.assign(new Error(message), { code: 'ETIMEDOUT' })
}

/** A connection reset, or a body cut short (`ECONNRESET`, as node:http says). */
function resetError(message: string, cause?: Error): Error {
  const code = (cause as { code?: string } | undefined)?.code
  if (cause && code !== 'ECONNRESET' && code !== 'EPIPE' && code !== 'ETIMEDOUT') return cause
  return Object.assign(new Error(message, cause && { cause }), { code: code ?? 'ECONNRESET' })
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
