import { Readable } from 'node:stream'
import { PStorageError } from '@pstorage/core'
import busboy from 'busboy'

/** One file part of a multipart body, streamed: consume `stream` before the next arrives. */
export interface FilePart {
  /** The file name the client sent (not trusted: the caller validates it). */
  readonly filename: string
  readonly stream: AsyncIterable<Uint8Array>
}

/** Options of {@link streamMultipart}. */
export interface MultipartOptions {
  /** Called for each text field that precedes the files. */
  readonly onField: (name: string, value: string) => void
  /** Called for each file part, in order; the next part waits until this one resolves. */
  readonly onFile: (part: FilePart) => Promise<void>
  /** Most file parts. @default 100 */
  readonly maxFiles?: number
}

/**
 * Parses a `multipart/form-data` body as it arrives (busboy), handing each file's bytes to
 * `onFile` as a stream: nothing is buffered beyond the parser's chunks, and the parser
 * stops reading while a file's consumer is busy (backpressure). Text fields must come
 * before the files they apply to; a field after a file is a `bad_request`. The first
 * failure stops the parse and is rethrown; the rest of the body is discarded as it comes
 * (the caller should answer with `Connection: close`).
 */
export async function streamMultipart(
  body: ReadableStream<Uint8Array> | Readable,
  contentType: string,
  options: MultipartOptions,
): Promise<number> {
  let parser: busboy.Busboy
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      defParamCharset: 'utf8',
      // Hand over the name as sent: `../x` is refused by the caller, not quietly shortened.
      preservePath: true,
      limits: { files: options.maxFiles ?? 100, fields: 32, fieldSize: 64 * 1024, parts: 200 },
    })
  } catch (error) {
    throw new PStorageError('bad_request', 'Malformed multipart/form-data Content-Type', {
      cause: error,
    })
  }
  const source =
    body instanceof Readable
      ? body
      : Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>)
  let files = 0
  let chain = Promise.resolve()
  let failure: unknown
  let finish!: () => void
  const done = new Promise<void>((resolve) => {
    finish = resolve
  })
  const fail = (error: unknown) => {
    failure ??= error
    source.unpipe(parser)
    source.resume() // let the rest of the body drain instead of stalling the connection
    finish()
  }

  parser.on('field', (name, value, info) => {
    if (failure) return
    if (files > 0) {
      fail(new PStorageError('bad_request', `Field '${name}' must come before the files`))
    } else if (info.valueTruncated) {
      fail(new PStorageError('payload_too_large', `Field '${name}' is too long`))
    } else {
      try {
        options.onField(name, value)
      } catch (error) {
        fail(error)
      }
    }
  })
  parser.on('file', (_field, stream, info) => {
    files += 1
    // A body that ends inside a file errors the file's stream: that is the client's fault.
    stream.on('error', (error) =>
      fail(
        new PStorageError('bad_request', `Malformed multipart body: ${error.message}`, {
          cause: error,
        }),
      ),
    )
    if (failure) {
      stream.resume()
      return
    }
    chain = chain.then(async () => {
      if (failure) {
        stream.resume()
        return
      }
      try {
        await options.onFile({ filename: info.filename ?? '', stream })
      } catch (error) {
        fail(error)
      } finally {
        stream.resume()
      }
    })
  })
  parser.on('filesLimit', () =>
    fail(new PStorageError('payload_too_large', 'Too many files in one request')),
  )
  parser.on('partsLimit', () =>
    fail(new PStorageError('payload_too_large', 'Too many parts in one request')),
  )
  parser.on('error', (error) =>
    fail(
      new PStorageError('bad_request', `Malformed multipart body: ${(error as Error).message}`, {
        cause: error,
      }),
    ),
  )
  parser.on('close', finish)
  source.on('error', (error) =>
    fail(new PStorageError('bad_request', 'The upload was interrupted', { cause: error })),
  )
  const ended = new Promise<void>((resolve) => {
    source.once('end', resolve)
    source.once('close', resolve)
  })
  source.pipe(parser)
  await done
  await chain
  if (failure) throw failure
  // Read the body to its end (the epilogue after the last boundary) before answering, so
  // the connection can carry the client's next request.
  source.resume()
  await ended
  return files
}
