import { randomInt } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { RecordDecoder, recordMark } from './record-marking.js'
import { connectFailure, RpcError } from './rpc-error.js'
import { type AuthSysCredential, decodeReply, encodeCallHeader } from './rpc-message.js'
import { XdrError, type XdrReader, XdrWriter } from './xdr.js'

/** Bytes of the reused buffer each connection reads the socket into. */
const READ_BUFFER_BYTES = 256 * 1024

/** Options of {@link RpcClient}. */
export interface RpcClientOptions {
  readonly host: string
  readonly port: number
  readonly program: number
  readonly version: number
  /** Names the service in error messages: `NFS`, `MOUNT`, `portmapper`. */
  readonly label: string
  /** AUTH_SYS credentials; `undefined` sends AUTH_NONE. */
  readonly credential?: AuthSysCredential | undefined
  /** Connect and per-call deadline (a call's time waiting for a slot counts). */
  readonly timeoutMs: number
  /** Calls in flight on the connection, like the Linux client's slot table. @default 64 */
  readonly maxOutstanding?: number
  /** Largest reply accepted; bigger ones break the connection. @default 2 MiB */
  readonly maxRecordBytes?: number
  /** Bind a source port below 1024 (knfsd's `secure` export option); needs root. @default false */
  readonly privilegedPort?: boolean
  /** Runs before every TCP connection; a rejection refuses it (an address policy). */
  readonly beforeConnect?: (() => Promise<void>) | undefined
}

interface Pending {
  resolve(results: XdrReader): void
  reject(error: Error): void
}

/** One TCP connection and the calls in flight on it. */
interface Connection {
  readonly socket: Socket
  readonly pending: Map<number, Pending>
  /** When bytes last arrived (performance.now()), to tell a slow server from a dead link. */
  lastReceive: number
  /** Why the connection ended, for the error of its pending calls. */
  error?: Error
}

/**
 * An ONC RPC client over TCP (RFC 5531) for one program and version: record marking,
 * many calls in flight matched by xid, a deadline per call, and a lazy (re)connect: a
 * dropped connection fails the calls it carried (`RpcError` `disconnected`) and the next
 * call opens a new one. A call that times out with nothing received since it was sent
 * also drops the connection (a dead peer), while a merely slow server keeps it. The socket is unref'd while idle, so a forgotten client does not
 * keep the process alive.
 *
 * @example
 * ```ts
 * const rpc = new RpcClient({ host, port: 2049, program: 100003, version: 3, label: 'NFS', timeoutMs: 30_000 })
 * const results = await rpc.call(0) // NULL procedure
 * await rpc.close()
 * ```
 */
export class RpcClient {
  readonly #o: RpcClientOptions
  readonly #maxOutstanding: number
  #conn: Connection | undefined
  #connecting: Promise<Connection> | undefined
  #xid = randomInt(0, 2 ** 32 - 1)
  #active = 0
  readonly #waiters: (() => void)[] = []
  #closed = false

  constructor(options: RpcClientOptions) {
    this.#o = options
    this.#maxOutstanding = options.maxOutstanding ?? 64
  }

  /** Where this client connects, for messages. */
  get endpoint(): string {
    return `${this.#o.host}:${this.#o.port}`
  }

  /**
   * Calls `procedure` with the arguments `encode` writes; resolves with a reader positioned
   * at the results, or rejects with an {@link RpcError}.
   */
  call(procedure: number, encode?: (w: XdrWriter) => void): Promise<XdrReader> {
    if (this.#closed) return Promise.reject(this.#closedError())
    return new Promise<XdrReader>((resolve, reject) => {
      let settled = false
      let slot = false
      let registered: { conn: Connection; xid: number; sentAt: number } | undefined
      const finish = (): boolean => {
        if (settled) return false
        settled = true
        clearTimeout(timer)
        if (registered) {
          registered.conn.pending.delete(registered.xid)
          if (registered.conn.pending.size === 0) registered.conn.socket.unref()
        }
        if (slot) this.#release()
        return true
      }
      const fail = (error: Error) => finish() && reject(error)
      const timer = setTimeout(() => {
        const sent = registered
        fail(
          new RpcError(
            'timeout',
            'service_unavailable',
            `${this.#o.label} at ${this.endpoint} did not answer within ${this.#o.timeoutMs} ms`,
          ),
        )
        // Nothing at all arrived since this call went out: the link (or the server) is dead,
        // as after a silent reboot; TCP alone would notice only after keepalive. Drop it so
        // the next call reconnects (the Linux client does the same on a major timeout).
        if (sent && sent.conn.lastReceive < sent.sentAt) sent.conn.socket.destroy()
      }, this.#o.timeoutMs)
      const run = async () => {
        await this.#acquire()
        slot = true
        if (settled) return this.#release()
        if (this.#closed) return fail(this.#closedError())
        const conn = await this.#connection()
        if (settled) return
        const xid = this.#nextXid()
        const w = new XdrWriter()
        encodeCallHeader(w, {
          xid,
          program: this.#o.program,
          version: this.#o.version,
          procedure,
          credential: this.#o.credential,
        })
        encode?.(w)
        const chunks = w.chunks()
        if (conn.socket.destroyed)
          return fail(conn.error ?? this.#lostError(new Error('socket destroyed')))
        registered = { conn, xid, sentAt: performance.now() }
        conn.pending.set(xid, {
          resolve: (results) => finish() && resolve(results),
          reject: fail,
        })
        conn.socket.ref()
        conn.socket.cork()
        conn.socket.write(recordMark(w.length))
        for (const chunk of chunks) conn.socket.write(chunk)
        conn.socket.uncork()
      }
      run().catch((error: unknown) =>
        fail(error instanceof Error ? error : new Error(String(error))),
      )
    })
  }

  /** Fails the calls in flight and closes the connection; later calls reject. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true
    const conn = this.#conn
    this.#conn = undefined
    if (conn) this.#drop(conn, this.#closedError())
  }

  #closedError(): RpcError {
    return new RpcError('closed', 'service_unavailable', 'The NFS client is closed')
  }

  #lostError(cause: unknown): RpcError {
    return new RpcError(
      'disconnected',
      'service_unavailable',
      `Connection to ${this.#o.label} at ${this.endpoint} was lost`,
      cause,
    )
  }

  #nextXid(): number {
    this.#xid = (this.#xid + 1) >>> 0
    return this.#xid
  }

  #acquire(): Promise<void> {
    if (this.#active < this.#maxOutstanding) {
      this.#active++
      return Promise.resolve()
    }
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  #release(): void {
    const next = this.#waiters.shift()
    if (next)
      next() // the slot passes on
    else this.#active--
  }

  #connection(): Promise<Connection> {
    const current = this.#conn
    if (current && !current.socket.destroyed) return Promise.resolve(current)
    this.#connecting ??= this.#connect().then(
      (conn) => {
        this.#connecting = undefined
        if (this.#closed) {
          conn.socket.destroy()
          throw this.#closedError()
        }
        this.#conn = conn
        return conn
      },
      (error: unknown) => {
        this.#connecting = undefined
        throw error
      },
    )
    return this.#connecting
  }

  async #connect(): Promise<Connection> {
    await this.#o.beforeConnect?.() // its refusal (a PStorageError) passes through unchanged
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#connectOnce()
      } catch (error) {
        // A random reserved source port may be taken: try a few others.
        const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
        if (!(this.#o.privilegedPort && inUse && attempt < 10))
          throw connectFailure(error, this.#o.label, this.#o.host, this.#o.port)
      }
    }
  }

  #connectOnce(): Promise<Connection> {
    const o = this.#o
    const decoder = new RecordDecoder(o.maxRecordBytes ?? 2 * 1024 * 1024)
    const socket = connect({
      host: o.host,
      port: o.port,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 60_000,
      ...(o.privilegedPort ? { localPort: randomInt(600, 1024) } : {}),
      // One read buffer for the connection's life: the decoder copies what it keeps, so a
      // bulk READ allocates its record and nothing per socket read (less garbage to collect).
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
        callback: (bytes: number, buffer: Uint8Array) => {
          conn.lastReceive = performance.now()
          this.#receive(conn, decoder, buffer.subarray(0, bytes))
          return true
        },
      },
    })
    socket.unref()
    const conn: Connection = { socket, pending: new Map(), lastReceive: 0 }
    socket.on('close', () => {
      if (this.#conn === conn) this.#conn = undefined
      this.#drop(conn, conn.error ?? this.#lostError(new Error('connection closed by the peer')))
    })
    return new Promise<Connection>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy()
        reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }))
      }, o.timeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        resolve(conn)
      })
      socket.on('error', (error) => {
        clearTimeout(timer)
        conn.error ??= this.#lostError(error)
        reject(error) // ignored once connected
      })
    })
  }

  #receive(conn: Connection, decoder: RecordDecoder, chunk: Uint8Array): void {
    try {
      for (const record of decoder.push(chunk)) {
        const reply = decodeReply(record)
        if (!reply) continue // a callback CALL: not served
        const pending = conn.pending.get(reply.xid)
        if (!pending) continue // a late reply to a call that timed out
        if (reply.ok) pending.resolve(reply.results)
        else
          pending.reject(
            new RpcError(
              'rejected',
              reply.kind === 'auth' ? 'forbidden' : 'service_unavailable',
              `${this.#o.label} at ${this.endpoint} refused the call: ${reply.reason}`,
            ),
          )
      }
    } catch (error) {
      // A broken stream cannot be resynchronised: drop it (RFC 5531 §11 has no resync).
      if (!(error instanceof XdrError)) throw error
      conn.error = new RpcError(
        'protocol',
        'service_unavailable',
        `${this.#o.label} at ${this.endpoint} sent a malformed reply`,
        error,
      )
      conn.socket.destroy()
    }
  }

  #drop(conn: Connection, error: Error): void {
    conn.error ??= error
    conn.socket.destroy()
    const calls = [...conn.pending.values()]
    conn.pending.clear()
    for (const call of calls) call.reject(error)
  }
}
