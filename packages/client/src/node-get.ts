import type { Agent, IncomingMessage, RequestOptions } from 'node:http'

/** A GET as the transport sends it: URL, headers, abort signal. */
export type BulkGet = (
  url: string,
  init: { headers: Record<string, string>; signal?: AbortSignal },
) => Promise<Response>

/** Bytes a body stream buffers before it pauses the socket. */
const BODY_HIGH_WATER_MARK = 256 * 1024

interface NodeHttp {
  request(
    url: URL,
    options: RequestOptions,
    answer: (incoming: IncomingMessage) => void,
  ): {
    on(event: 'error', listener: (error: Error) => void): unknown
    end(): void
  }
  Agent: new (options: { keepAlive: boolean }) => Agent
}

let modules: Promise<Record<'http:' | 'https:', { request: NodeHttp['request']; agent: Agent }>>
/** node:http and node:https with a keep-alive agent each, loaded on first use. */
function load() {
  modules ??= Promise.all([import('node:http'), import('node:https')]).then(([http, https]) => ({
    'http:': { request: http.request, agent: new http.Agent({ keepAlive: true }) },
    'https:': { request: https.request, agent: new https.Agent({ keepAlive: true }) },
  }))
  return modules
}

/**
 * The transport of the bulk downloads (`downloadFile`, `downloadVolumeData`) on Node when no
 * `fetch` was injected: a GET over node:http(s), answered as a standard `Response` whose body
 * is a byte stream fed with the socket's chunks as they come (no redirect is followed: the
 * API answers downloads directly). Undefined elsewhere (browsers, Deno): the platform's
 * fetch serves them.
 *
 * Why: undici's fetch parses in WebAssembly and copies every body chunk before it enqueues
 * it, about 13% of a downloading client's main thread in a profile of
 * `pnpm bench:backends`; node:http's parser hands each chunk out in a buffer of its own,
 * which a byte stream takes over without a copy.
 *
 * @example
 * ```ts
 * const get = nodeBulkGet()
 * const response = await (get ?? fetch)(url, { headers: { range: 'bytes=0-99' } })
 * ```
 */
export function nodeBulkGet(): BulkGet | undefined {
  const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions
    ?.node
  if (!node) return undefined
  return async (url, init) => {
    const target = new URL(url)
    const scheme = target.protocol
    if (scheme !== 'http:' && scheme !== 'https:')
      throw new TypeError(`unsupported scheme ${scheme}`)
    const { request, agent } = (await load())[scheme]
    init.signal?.throwIfAborted()
    return new Promise<Response>((resolve, reject) => {
      const outgoing = request(
        target,
        {
          method: 'GET',
          headers: init.headers,
          agent,
          ...(init.signal && { signal: init.signal }),
        },
        (incoming) => {
          const status = incoming.statusCode ?? 0
          const headers = new Headers()
          const raw = incoming.rawHeaders
          for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!)
          const empty = status === 204 || status === 205 || status === 304
          if (empty) incoming.resume() // nothing to read: the connection goes back to the pool
          resolve(new Response(empty ? null : bodyOf(incoming), { status, headers }))
        },
      )
      outgoing.on('error', reject) // `on`: a later error must not go unhandled
      outgoing.end()
    })
  }
}

/**
 * The body of `incoming` as a byte stream with backpressure: the socket pauses while the
 * stream holds {@link BODY_HIGH_WATER_MARK} bytes no one read. A body cut short (reset,
 * abort) errors the stream; cancelling it destroys the response.
 */
function bodyOf(incoming: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream(
    {
      type: 'bytes',
      start(controller) {
        incoming.on('data', (chunk: Buffer) => {
          // Enqueueing transfers the whole ArrayBuffer: only one this chunk owns.
          const own = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
          try {
            controller.enqueue(own ? chunk : new Uint8Array(chunk))
          } catch {
            incoming.destroy() // the stream was cancelled or errored: stop the socket
            return
          }
          if ((controller.desiredSize ?? 0) <= 0) incoming.pause()
        })
        incoming.once('end', () => controller.close())
        incoming.on('error', (error) => controller.error(error))
        incoming.once('close', () => {
          if (!incoming.complete) controller.error(new Error('The body was cut short'))
        })
      },
      pull() {
        incoming.resume()
      },
      cancel() {
        incoming.destroy()
      },
    },
    { highWaterMark: BODY_HIGH_WATER_MARK },
  )
}
