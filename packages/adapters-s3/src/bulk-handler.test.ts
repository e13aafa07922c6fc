import { once } from 'node:events'
import { createServer as createHttpServer, type IncomingMessage } from 'node:http'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import type { Readable } from 'node:stream'
import { createAddressGuard, guardedLookup, isPStorageError } from '@pstorage/core'
import { HttpRequest } from '@smithy/core/protocols'
import { afterEach, describe, expect, it } from 'vitest'
import { BulkHttpHandler, ChunkedDecoder, isBulkBody } from './bulk-handler.js'

/**
 * The handler against scripted HTTP/1.1 servers on loopback (node:net), which answer byte
 * for byte what a test needs, including what a well-behaved server never sends. The real
 * S3 path (GetObject and listings from s3rver through the SDK) is covered by the driver's
 * suite in test/s3-driver.test.ts.
 */

type Answer = (socket: Socket, request: string, n: number) => void

interface Scripted {
  readonly port: number
  /** Connections accepted so far. */
  connections: number
  /** Request heads received, in order. */
  readonly requests: string[]
  server: Server
}

const servers: Server[] = []
const sockets: Socket[] = []
const handlers: BulkHttpHandler[] = []
afterEach(async () => {
  for (const h of handlers.splice(0)) h.destroy()
  for (const s of servers.splice(0)) s.close()
  for (const socket of sockets.splice(0)) socket.destroy()
})

/** A server that calls `answer` with each request head (and its number, from 0). */
async function scripted(answer: Answer): Promise<Scripted> {
  const state = { connections: 0, requests: [] as string[] }
  const server = createServer((socket) => {
    state.connections++
    sockets.push(socket)
    let buffered = ''
    socket.on('error', () => {})
    socket.on('data', (data) => {
      buffered += data.toString('latin1')
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end)
        buffered = buffered.slice(end + 4)
        state.requests.push(head)
        answer(socket, head, state.requests.length - 1)
      }
    })
  })
  servers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  return Object.assign(state, { port, server })
}

function handler(options: ConstructorParameters<typeof BulkHttpHandler>[0] = {}) {
  const h = new BulkHttpHandler(options)
  handlers.push(h)
  return h
}

function get(port: number, path = '/b/key', extra: Partial<HttpRequest> = {}): HttpRequest {
  return new HttpRequest({
    protocol: 'http:',
    hostname: '127.0.0.1',
    port,
    method: 'GET',
    path,
    headers: { host: `127.0.0.1:${port}`, 'x-amz-date': '20261123T000000Z' },
    ...extra,
  })
}

async function readAll(body: Readable): Promise<{ bytes: Buffer; chunks: Uint8Array[] }> {
  const chunks: Uint8Array[] = []
  for await (const chunk of body) chunks.push(chunk as Uint8Array)
  return { bytes: Buffer.concat(chunks), chunks }
}

const noise = (n: number, seed = 1) => {
  const out = Buffer.alloc(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

const ok = (body: Buffer, headers = '') =>
  Buffer.concat([
    Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n${headers}\r\n`),
    body,
  ])

describe('BulkHttpHandler', () => {
  it('reads a Content-Length body byte-exact, in chunks that each own their buffer, and reuses the connection', async () => {
    const data = noise(3 * 1024 * 1024 + 17)
    const srv = await scripted((socket) =>
      socket.write(ok(data, 'etag: "x"\r\nx-a: 1\r\nX-A: 2\r\n')),
    )
    const h = handler()
    for (let i = 0; i < 3; i++) {
      const { response } = await h.handle(get(srv.port))
      expect(response.statusCode).toBe(200)
      expect(response.headers).toMatchObject({ etag: '"x"', 'x-a': '1, 2' })
      expect(isBulkBody(response.body)).toBe(true)
      const { bytes, chunks } = await readAll(response.body as Readable)
      expect(bytes.equals(data)).toBe(true)
      expect(new Set(chunks.map((c) => c.buffer)).size).toBe(chunks.length)
      for (const c of chunks) expect(c.byteOffset).toBe(0)
    }
    expect(srv.connections).toBe(1)
    expect(srv.requests[0]).toMatch(/^GET \/b\/key HTTP\/1\.1\r\n/)
    expect(srv.requests[0]).toContain('x-amz-date: 20261123T000000Z')
  })

  it('builds the query string as the SDK does', async () => {
    const srv = await scripted((socket) => socket.write(ok(Buffer.from('<x/>'))))
    const request = get(srv.port, '/b', {
      query: { 'list-type': '2', prefix: 'a b/ü', 'continuation-token': 'x+y=' },
    })
    const { response } = await handler().handle(request)
    expect((await readAll(response.body as Readable)).bytes.toString()).toBe('<x/>')
    expect(srv.requests[0]!.split('\r\n')[0]).toBe(
      'GET /b?continuation-token=x%2By%3D&list-type=2&prefix=a%20b%2F%C3%BC HTTP/1.1',
    )
  })

  it('decodes chunked bodies (extensions, trailers) and skips interim 1xx answers', async () => {
    const srv = await scripted((socket) =>
      socket.write(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n' +
          '5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nx-trailer: t\r\n\r\n',
      ),
    )
    const h = handler()
    for (let i = 0; i < 2; i++) {
      const { response } = await h.handle(get(srv.port))
      expect(response.statusCode).toBe(200)
      expect((await readAll(response.body as Readable)).bytes.toString()).toBe('hello world')
    }
    expect(srv.connections).toBe(1)
  })

  it('the chunked decoder gives the same bytes however the input is split', () => {
    const data = noise(5000, 3)
    const wire = Buffer.concat([
      Buffer.from('a0\r\n'),
      data.subarray(0, 160),
      Buffer.from(`\r\n${(data.length - 160).toString(16)}; name="v"\r\n`),
      data.subarray(160),
      Buffer.from('\r\n0\r\nt: 1\r\n\r\n'),
    ])
    for (const step of [1, 2, 3, 7, 64, 4999, wire.length]) {
      const decoder = new ChunkedDecoder()
      const out: Buffer[] = []
      for (let at = 0; at < wire.length; at += step)
        out.push(...decoder.write(wire.subarray(at, at + step)))
      expect(decoder.done).toBe(true)
      expect(decoder.clean).toBe(true)
      expect(Buffer.concat(out).equals(data)).toBe(true)
    }
    expect(() => new ChunkedDecoder().write(Buffer.from('zz\r\n'))).toThrow(/chunk size/)
    expect(() => new ChunkedDecoder().write(Buffer.from('2\r\nabc\r\n'))).toThrow(/longer/)
  })

  it('reads a body delimited by the close, and never reuses that connection', async () => {
    const srv = await scripted((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end')
      socket.end()
    })
    const h = handler()
    for (let i = 0; i < 2; i++) {
      const { response } = await h.handle(get(srv.port))
      expect((await readAll(response.body as Readable)).bytes.toString()).toBe('until the end')
    }
    expect(srv.connections).toBe(2)
  })

  it('sends again on a new connection when a kept one was closed before answering', async () => {
    // The server closes every connection right after its first answer, without saying so.
    const srv = await scripted((socket) => {
      socket.write(ok(Buffer.from('one')))
      setTimeout(() => socket.destroy(), 20)
    })
    const h = handler()
    const first = await h.handle(get(srv.port))
    expect((await readAll(first.response.body as Readable)).bytes.toString()).toBe('one')
    await new Promise((r) => setTimeout(r, 60))
    const second = await h.handle(get(srv.port))
    expect((await readAll(second.response.body as Readable)).bytes.toString()).toBe('one')
    expect(srv.connections).toBe(2)
  })

  it('errors the body when the answer is cut short, as the SDK expects a reset', async () => {
    const srv = await scripted((socket) => {
      socket.write(Buffer.concat([ok(Buffer.alloc(1000)).subarray(0, 500)]))
      setTimeout(() => socket.destroy(), 20)
    })
    const { response } = await handler().handle(get(srv.port))
    const error = await readAll(response.body as Readable).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    )
    expect(error?.name).toBe('TimeoutError')
    expect(error?.code).toBe('ECONNRESET')
    expect(error?.message).toMatch(/cut short/)
  })

  it('fails a request the server never answers after socketTimeout', async () => {
    const srv = await scripted(() => {})
    const started = Date.now()
    const error = await handler({ socketTimeout: 200 })
      .handle(get(srv.port))
      .catch((e: unknown) => e as Error)
    expect((error as Error).name).toBe('TimeoutError')
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
  })

  it('aborts before the answer and mid-body', async () => {
    const data = noise(8 * 1024 * 1024)
    const srv = await scripted((socket, _head, n) => {
      if (n === 0) return // never answered: aborted while waiting
      socket.write(ok(data))
    })
    const h = handler()
    const waiting = new AbortController()
    const pending = h.handle(get(srv.port), { abortSignal: waiting.signal })
    setTimeout(() => waiting.abort(), 30)
    expect(await pending.catch((e: Error) => e.name)).toBe('AbortError')

    const reading = new AbortController()
    const { response } = await h.handle(get(srv.port), { abortSignal: reading.signal })
    const body = response.body as Readable
    let got = 0
    const read = (async () => {
      for await (const chunk of body) {
        got += (chunk as Uint8Array).length
        if (got > 1024 * 1024) reading.abort()
      }
    })()
    expect(await read.catch((e: Error) => e.name)).toBe('AbortError')
    expect(got).toBeLessThan(data.length)
    const before = new AbortController()
    before.abort()
    expect(
      await h.handle(get(srv.port), { abortSignal: before.signal }).catch((e: Error) => e.name),
    ).toBe('AbortError')
  })

  it('drops the connection when the consumer stops reading early', async () => {
    const data = noise(4 * 1024 * 1024)
    const srv = await scripted((socket) => socket.write(ok(data)))
    const h = handler()
    const { response } = await h.handle(get(srv.port))
    for await (const _ of response.body as Readable) break // destroys the body
    const again = await h.handle(get(srv.port))
    expect((await readAll(again.response.body as Readable)).bytes.equals(data)).toBe(true)
    expect(srv.connections).toBe(2)
  })

  it('never reuses a connection that sent bytes past the body', async () => {
    const srv = await scripted((socket) =>
      socket.write(Buffer.concat([ok(Buffer.from('abc')), Buffer.from('junk')])),
    )
    const h = handler()
    for (let i = 0; i < 2; i++) {
      const { response } = await h.handle(get(srv.port))
      expect((await readAll(response.body as Readable)).bytes.toString()).toBe('abc')
    }
    expect(srv.connections).toBe(2)
  })

  it('refuses malformed answers with an error, never a body', async () => {
    const answers = [
      'HTTP/1.1 200\r\ncontent-length: 1x\r\n\r\n',
      'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd',
      'HTTP/2 200 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\n bad fold\r\n\r\n',
      'HTTP/1.1 101 Switching Protocols\r\n\r\n',
    ]
    for (const answer of answers) {
      const srv = await scripted((socket) => socket.write(answer))
      const error = await handler()
        .handle(get(srv.port))
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        )
      expect(error?.message, answer).toMatch(/Invalid HTTP answer/)
    }
  })

  it('refuses header values and paths that would split the request, sending nothing', async () => {
    const srv = await scripted((socket) => socket.write(ok(Buffer.from('x'))))
    const h = handler()
    const bad = [
      get(srv.port, '/b/key', { headers: { host: 'h', 'x-a': 'v\r\nx-injected: 1' } }),
      get(srv.port, '/b/key', { headers: { host: 'h', 'x a': 'v' } }),
      get(srv.port, '/b/k ey HTTP/1.1\r\nx: y'),
    ]
    for (const request of bad) await expect(h.handle(request)).rejects.toThrow(TypeError)
    expect(srv.connections).toBe(0)
  })

  it('checks the address each connection is made to with `lookup` (DNS rebinding)', async () => {
    const srv = await scripted((socket) => socket.write(ok(Buffer.from('ok'))))
    const named = (port: number) => ({ ...get(port), hostname: 'localhost' }) as HttpRequest
    const refused = handler({ lookup: guardedLookup(createAddressGuard({ allowPrivate: false })) })
    const error = await refused.handle(named(srv.port)).catch((e: unknown) => e)
    expect(isPStorageError(error, 'forbidden')).toBe(true)
    expect(srv.connections).toBe(0)
    const allowed = handler({ lookup: guardedLookup(createAddressGuard({ allowPrivate: true })) })
    const { response } = await allowed.handle(named(srv.port))
    expect((await readAll(response.body as Readable)).bytes.toString()).toBe('ok')
    expect(srv.connections).toBe(1)
  })

  it('hands other requests to the SDK handler unchanged', async () => {
    const seen: string[] = []
    const server = createHttpServer((req: IncomingMessage, res) => {
      let body = ''
      req.on('data', (d) => {
        body += d
      })
      req.on('end', () => {
        seen.push(`${req.method} ${body}`)
        res.end('done')
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const port = (server.address() as AddressInfo).port
      const { response } = await handler().handle(
        get(port, '/b/key', { method: 'PUT', body: 'payload' }),
      )
      expect(isBulkBody(response.body)).toBe(false)
      expect((await readAll(response.body as Readable)).bytes.toString()).toBe('done')
      expect(seen).toEqual(['PUT payload'])
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})
