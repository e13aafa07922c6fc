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
  const tooLarge = () =>
    httpError('payload_too_large', `The index of ${what} is larger than ${maxBytes} bytes`)
  const declared = Number(response.headers.get('content-length') ?? Number.NaN)
  const reader = response.body?.getReader()
  if (!reader) return ''
  try {
    if (declared > maxBytes) throw tooLarge()
    const decoder = decoderFor(response.headers.get('content-type'))
    let text = ''
    let total = 0
    for (;;) {
      exchange.arm()
      const { done, value } = await reader.read()
      exchange.disarm()
      if (done) return text + decoder.decode()
      total += value.byteLength
      if (total > maxBytes) throw tooLarge()
      text += decoder.decode(value, { stream: true })
    }
  } catch (error) {
    exchange.disarm()
    reader.cancel().catch(() => undefined)
    throw exchange.bodyError(error)
  }
}

/**
 * The body of a file response as exactly `length` bytes, starting `skip` bytes into it:
 * `skip` and a cut-off end cover servers that ignore `Range` or send a wider range
 * (RFC 9110 §14.2 lets them). Pull-based with no read-ahead, so a slow consumer slows the
 * download instead of filling memory; a body that ends early is an error. An async
 * generator rather than a second web stream over the body: one stream layer less per
 * chunk on the download path. Ending early (the consumer's `return`) cancels the body.
 *
 * @example
 * ```ts
 * const stream = sliceBody(exchange, 10, 20, '/a.bin') // bytes 10..29 of a 200 answer
 * ```
 */
export async function* sliceBody(
  exchange: HttpExchange,
  skip: number,
  length: number,
  what: string,
): AsyncGenerator<Uint8Array> {
  const reader = exchange.response.body?.getReader()
  let toSkip = skip
  let left = length
  try {
    while (left > 0) {
      if (!reader) throw httpError('service_unavailable', `The server sent no body for ${what}`)
      exchange.arm()
      const { done, value } = await reader.read()
      exchange.disarm()
      if (done)
        throw httpError('service_unavailable', `The server sent less of ${what} than announced`)
      let chunk = value
      if (toSkip > 0) {
        if (chunk.byteLength <= toSkip) {
          toSkip -= chunk.byteLength
          continue
        }
        chunk = chunk.subarray(toSkip)
        toSkip = 0
      }
      if (chunk.byteLength > left) chunk = chunk.subarray(0, left)
      left -= chunk.byteLength
      yield chunk
    }
  } catch (error) {
    throw exchange.bodyError(error)
  } finally {
    // Also drops the rest of a body that ignored our Range, or that the consumer left.
    exchange.disarm()
    reader?.cancel().catch(() => undefined)
  }
}
