import { Readable } from 'node:stream'
import type { PStorageError } from '@pstorage/core'
import { httpError } from './errors.js'
import type { HttpExchange } from './http-client.js'

/** The `charset` of a Content-Type if TextDecoder knows it, else UTF-8 (HTML5's default). */
function decoderFor(contentType: string | null): InstanceType<typeof TextDecoder> {
  const charset = /;\s*charset\s*=\s*"?([\w.:-]+)"?/i.exec(contentType ?? '')?.[1]
  try {
    return new TextDecoder(charset ?? 'utf-8')
  } catch {
    return new TextDecoder('utf-8')
  }
}

/** What part of a body {@link BodyStream} yields; the default is all of it. */
export interface BodyWindow {
  /** Bytes to drop first (a server that ignored `Range`, or sent a wider one). @default 0 */
  readonly skip?: number
  /** Bytes to yield; the body must hold them. @default all up to the end */
  readonly length?: number
  /**
   * The body ends right after the window (Content-Length says so): once the window is out,
   * the body is left to end and its connection to go back to the pool. Otherwise the rest
   * is dropped with the connection. @default false
   */
  readonly exact?: boolean
  /** The API path, for messages. @default 'the file' */
  readonly what?: string
}

/** The timer a body's reader keeps armed while it waits on the server (`IdleTimer`). */
export interface BodyTimer {
  touch(): void
  stop(): void
  clear(): void
}

/** Bytes a body buffers before it pauses the socket. */
const BODY_HIGH_WATER_MARK = 256 * 1024

/**
 * The body of an answer cut to a {@link BodyWindow}, as a Node stream driven by the
 * socket's own chunks: no promise and no copy per chunk, backpressure down to the socket.
 * - Timing: the timer is armed only while this stream wants data and has none (between a
 *   `_read` and the chunk that fills it), so `timeoutMs` bounds each wait on the server,
 *   never the time a consumer takes (backpressure).
 * - Failures (a reset, a timeout, a body shorter than the window) destroy it with a
 *   `service_unavailable`, mapped by `mapError`: never a native error naming addresses.
 * - Destroying it (a consumer gone) destroys the body, and with it the connection.
 *
 * @example
 * ```ts
 * const stream = new BodyStream(incoming, timer, mapError, { skip: 10, length: 20 })
 * ```
 */
export class BodyStream extends Readable {
  readonly #source: Readable | null
  readonly #timer: BodyTimer
  readonly #mapError: (error: unknown) => PStorageError
  readonly #exact: boolean
  readonly #what: string
  #skip: number
  #left: number

  constructor(
    source: Readable | null,
    timer: BodyTimer,
    mapError: (error: unknown) => PStorageError,
    window: BodyWindow = {},
  ) {
    super({ highWaterMark: BODY_HIGH_WATER_MARK })
    this.#source = source
    this.#timer = timer
    this.#mapError = mapError
    this.#skip = window.skip ?? 0
    this.#left = window.length ?? Number.POSITIVE_INFINITY
    this.#exact = window.exact === true
    this.#what = window.what ?? 'the file'
    if (source === null) return
    source.pause() // flows from the first _read on
    source.on('data', this.#onData)
    source.once('end', this.#onEnd)
    source.on('error', this.#onError)
    source.once('close', this.#onClose)
    if (this.#left === 0) this.#finish()
  }

  override _read(): void {
    if (this.#left === 0) return
    if (this.#source === null) {
      if (this.#left === Number.POSITIVE_INFINITY) this.push(null)
      else this.#fail(`The server sent no body for ${this.#what}`)
      return
    }
    this.#timer.touch()
    this.#source.resume()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#timer.clear()
    const source = this.#source
    if (source !== null && !source.readableEnded && (this.#left > 0 || !this.#exact))
      source.destroy()
    callback(error)
  }

  readonly #onData = (data: Uint8Array): void => {
    let chunk = data
    if (this.#skip > 0) {
      if (chunk.byteLength <= this.#skip) {
        this.#skip -= chunk.byteLength
        return
      }
      chunk = chunk.subarray(this.#skip)
      this.#skip = 0
    }
    if (this.#left === 0) return
    if (chunk.byteLength > this.#left) chunk = chunk.subarray(0, this.#left)
    this.#left -= chunk.byteLength
    const more = this.push(chunk)
    if (this.#left === 0) this.#finish()
    else if (more) this.#timer.touch()
    else {
      this.#timer.stop() // the consumer is the one waited on now
      this.#source?.pause()
    }
  }

  readonly #onEnd = (): void => {
    if (this.#left === 0) return
    if (this.#left !== Number.POSITIVE_INFINITY) {
      this.#fail(`The server sent less of ${this.#what} than announced`)
      return
    }
    this.#left = 0
    this.#timer.clear()
    this.push(null)
  }

  readonly #onError = (error: unknown): void => {
    if (this.#left > 0) this.destroy(this.#mapError(error))
  }

  readonly #onClose = (): void => {
    // A body cut short without an 'error' (some transports) is still a failure.
    if (this.#left > 0 && !this.#source?.readableEnded && !this.destroyed)
      this.destroy(this.#mapError(new Error('The body was cut short')))
  }

  /** The window is out: ends this stream and lets the body end, or drops its rest. */
  #finish(): void {
    this.#timer.clear()
    this.push(null)
    if (this.#exact)
      this.#source?.resume() // to its end: the connection goes back to the pool
    else this.#source?.destroy() // the rest of a wider answer
  }

  #fail(message: string): void {
    this.destroy(httpError('service_unavailable', message))
  }
}

/**
 * Reads a directory index body as text, refusing more than `maxBytes` decoded bytes
 * (`payload_too_large`) before buffering them: listings are remote input (OWASP API4/API10),
 * and a compressed answer may expand far past its Content-Length.
 *
 * @example
 * ```ts
 * const html = await readIndexText(exchange, 8 * 1024 * 1024, '/isos')
 * ```
 */
export async function readIndexText(
  exchange: HttpExchange,
  maxBytes: number,
  what: string,
): Promise<string> {
  const { response } = exchange
  const declared = Number(response.headers.get('content-length') ?? Number.NaN)
  if (declared > maxBytes) {
    exchange.discard()
    throw tooLarge(what, maxBytes)
  }
  const decoder = decoderFor(response.headers.get('content-type'))
  let text = ''
  let total = 0
  // Leaving the loop (a throw included) destroys the body.
  for await (const chunk of exchange.body({ what }) as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength
    if (total > maxBytes) throw tooLarge(what, maxBytes)
    text += decoder.decode(chunk, { stream: true })
  }
  return text + decoder.decode()
}

function tooLarge(what: string, maxBytes: number) {
  return httpError('payload_too_large', `The index of ${what} is larger than ${maxBytes} bytes`)
}
