import { once } from 'node:events'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import type { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { isPStorageError } from '../errors.js'
import { createAddressGuard, guardedLookup } from './address-guard.js'
import { ChunkedDecoder, Http1Agent, type Http1Target, isHttp1Body } from './http1-agent.js'

/**
 * The agent against scripted HTTP/1.1 servers on loopback (node:net), which answer byte
 * for byte what a test needs, including what a well-behaved server never sends. Its real
 * users are tested against real servers: the S3 driver's suite (s3rver, through the SDK)
 * and the HTTP driver's (nginx).
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
const agents: Http1Agent[] = []
afterEach(async () => {
  for (const a of agents.splice(0)) a.destroy()
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

function agent(options: ConstructorParameters<typeof Http1Agent>[0] = {}) {
  const a = new Http1Agent(options)
  agents.push(a)
  return a
}

const target = (port: number, path = '/b/key'): Http1Target => ({
  hostname: '127.0.0.1',
  port,
  path,
})
const HEADERS = { 'x-amz-date': '20261123T000000Z' }

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

describe('Http1Agent', () => {
  it('reads a Content-Length body byte-exact, in chunks that each own their buffer, and reuses the connection', async () => {
    const data = noise(3 * 1024 * 1024 + 17)
    const srv = await scripted((socket) =>
      socket.write(ok(data, 'etag: "x"\r\nx-a: 1\r\nX-A: 2\r\n')),
    )
    const a = agent()
    for (let i = 0; i < 3; i++) {
      const answer = await a.get(target(srv.port), HEADERS)
      expect(answer.status).toBe(200)
      expect(answer.headers).toMatchObject({ etag: '"x"', 'x-a': '1, 2' })
      expect(answer.rawHeaders).toEqual([
        'content-length',
        String(data.length),
        'etag',
        '"x"',
        'x-a',
        '1',
        'X-A',
        '2',
      ])
      expect(isHttp1Body(answer.body)).toBe(true)
      const { bytes, chunks } = await readAll(answer.body)
      expect(bytes.equals(data)).toBe(true)
      expect(new Set(chunks.map((c) => c.buffer)).size).toBe(chunks.length)
      for (const c of chunks) expect(c.byteOffset).toBe(0)
    }
    expect(srv.connections).toBe(1)
    expect(srv.requests[0]).toMatch(/^GET \/b\/key HTTP\/1\.1\r\n/)
    expect(srv.requests[0]).toContain('x-amz-date: 20261123T000000Z')
    expect(srv.requests[0]).toContain(`host: 127.0.0.1:${srv.port}`)
  })

  it('decodes chunked bodies (extensions, trailers) and skips interim 1xx answers', async () => {
    const srv = await scripted((socket) =>
      socket.write(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n' +
          '5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nx-trailer: t\r\n\r\n',
      ),
    )
    const a = agent()
    for (let i = 0; i < 2; i++) {
      const answer = await a.get(target(srv.port), HEADERS)
      expect(answer.status).toBe(200)
      expect((await readAll(answer.body)).bytes.toString()).toBe('hello world')
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
    const a = agent()
    for (let i = 0; i < 2; i++) {
      const answer = await a.get(target(srv.port), HEADERS)
      expect((await readAll(answer.body)).bytes.toString()).toBe('until the end')
    }
    expect(srv.connections).toBe(2)
  })

  it('sends again on a new connection when a kept one was closed before answering', async () => {
    // The server closes every connection right after its first answer, without saying so.
    const srv = await scripted((socket) => {
      socket.write(ok(Buffer.from('one')))
      setTimeout(() => socket.destroy(), 20)
    })
    const a = agent()
    const first = await a.get(target(srv.port), HEADERS)
    expect((await readAll(first.body)).bytes.toString()).toBe('one')
    await new Promise((r) => setTimeout(r, 60))
    const second = await a.get(target(srv.port), HEADERS)
    expect((await readAll(second.body)).bytes.toString()).toBe('one')
    expect(srv.connections).toBe(2)
  })

  it('errors the body when the answer is cut short (a reset, as node:http says)', async () => {
    const srv = await scripted((socket) => {
      socket.write(Buffer.concat([ok(Buffer.alloc(1000)).subarray(0, 500)]))
      setTimeout(() => socket.destroy(), 20)
    })
    const answer = await agent().get(target(srv.port), HEADERS)
    const error = await readAll(answer.body).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    )
    expect(error?.code).toBe('ECONNRESET')
    expect(error?.message).toMatch(/cut short/)
  })

  it('fails a request the server never answers after idleTimeoutMs', async () => {
    const srv = await scripted(() => {})
    const started = Date.now()
    const error = await agent({ idleTimeoutMs: 200 })
      .get(target(srv.port), HEADERS)
      .catch((e: unknown) => e as Error)
    expect((error as Error & { code?: string }).code).toBe('ETIMEDOUT')
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
  })

  it('aborts before the answer and mid-body', async () => {
    const data = noise(8 * 1024 * 1024)
    const srv = await scripted((socket, _head, n) => {
      if (n === 0) return // never answered: aborted while waiting
      socket.write(ok(data))
    })
    const a = agent()
    const waiting = new AbortController()
    const pending = a.get(target(srv.port), HEADERS, waiting.signal)
    setTimeout(() => waiting.abort(), 30)
    expect(await pending.catch((e: Error) => e.name)).toBe('AbortError')

    const reading = new AbortController()
    const answer = await a.get(target(srv.port), HEADERS, reading.signal)
    const body = answer.body
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
    expect(await a.get(target(srv.port), HEADERS, before.signal).catch((e: Error) => e.name)).toBe(
      'AbortError',
    )
  })

  it('drops the connection when the consumer stops reading early', async () => {
    const data = noise(4 * 1024 * 1024)
    const srv = await scripted((socket) => socket.write(ok(data)))
    const a = agent()
    const answer = await a.get(target(srv.port), HEADERS)
    for await (const _ of answer.body) break // destroys the body
    const again = await a.get(target(srv.port), HEADERS)
    expect((await readAll(again.body)).bytes.equals(data)).toBe(true)
    expect(srv.connections).toBe(2)
  })

  it('never reuses a connection that sent bytes past the body', async () => {
    const srv = await scripted((socket) =>
      socket.write(Buffer.concat([ok(Buffer.from('abc')), Buffer.from('junk')])),
    )
    const a = agent()
    for (let i = 0; i < 2; i++) {
      const answer = await a.get(target(srv.port), HEADERS)
      expect((await readAll(answer.body)).bytes.toString()).toBe('abc')
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
      const error = await agent()
        .get(target(srv.port), HEADERS)
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        )
      expect(error?.message, answer).toMatch(/Invalid HTTP answer/)
    }
  })

  it('refuses header values and paths that would split the request, sending nothing', async () => {
    const srv = await scripted((socket) => socket.write(ok(Buffer.from('x'))))
    const a = agent()
    const bad: [Http1Target, Record<string, string>][] = [
      [target(srv.port), { 'x-a': 'v\r\nx-injected: 1' }],
      [target(srv.port), { 'x a': 'v' }],
      [target(srv.port, '/b/k ey HTTP/1.1\r\nx: y'), {}],
    ]
    for (const [t, headers] of bad) await expect(a.get(t, headers)).rejects.toThrow(TypeError)
    expect(srv.connections).toBe(0)
  })

  it('checks the address each connection is made to with `lookup` (DNS rebinding)', async () => {
    const srv = await scripted((socket) => socket.write(ok(Buffer.from('ok'))))
    const named = (port: number) => ({ ...target(port), hostname: 'localhost' })
    const refused = agent({ lookup: guardedLookup(createAddressGuard({ allowPrivate: false })) })
    const error = await refused.get(named(srv.port), {}).catch((e: unknown) => e)
    expect(isPStorageError(error, 'forbidden')).toBe(true)
    expect(srv.connections).toBe(0)
    const allowed = agent({ lookup: guardedLookup(createAddressGuard({ allowPrivate: true })) })
    const answer = await allowed.get(named(srv.port), {})
    expect((await readAll(answer.body)).bytes.toString()).toBe('ok')
    expect(srv.connections).toBe(1)
  })
})
