import type { IncomingMessage, ServerResponse } from 'node:http'
import { readAllBytes } from '@pstorage/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createHttpDriver } from '../src/index.js'
import { type FakeServer, patternBytes, startFakeServer } from './fake-server.js'

const DATA = patternBytes(300_000)
let server: FakeServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/** A driver over a server whose answer to a GET of `/f.bin` is `answer`. */
async function driverFor(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  server = await startFakeServer((req, res) => {
    if (req.url === '/f.bin') answer(req, res)
    else res.writeHead(404).end()
  })
  return createHttpDriver({ url: server.url })
}

const bytesOf = async (driver: ReturnType<typeof createHttpDriver>, o: object) => {
  const read = await driver.read('/f.bin', o)
  return { ...read, bytes: Buffer.from(await readAllBytes(read.stream)) }
}
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code,
  )

describe('read against servers that bend RFC 9110', () => {
  it('skips and trims when the server ignores Range and sends the whole file', async () => {
    const driver = await driverFor((_, res) =>
      res.writeHead(200, { 'content-length': String(DATA.length) }).end(DATA),
    )
    for (const [offset, length] of [
      [0, 10],
      [70_000, 100_000],
      [299_999, 1],
      [123_456, undefined],
    ] as const) {
      const got = await bytesOf(driver, length === undefined ? { offset } : { offset, length })
      const want = DATA.subarray(offset, length === undefined ? undefined : offset + length)
      expect(got.bytes.equals(want)).toBe(true)
      expect([got.size, got.offset, got.length]).toEqual([DATA.length, offset, want.length])
    }
    expect(server!.requests.every((r) => r.range !== undefined)).toBe(true)
    expect(await codeOf(driver.read('/f.bin', { offset: 300_001 }))).toBe('range_not_satisfiable')
  })

  it('trims a 206 that covers more than was asked', async () => {
    const driver = await driverFor((_, res) =>
      res
        .writeHead(206, {
          'content-range': `bytes 0-${DATA.length - 1}/${DATA.length}`,
          'content-length': String(DATA.length),
        })
        .end(DATA),
    )
    const got = await bytesOf(driver, { offset: 1000, length: 50 })
    expect(got.bytes.equals(DATA.subarray(1000, 1050))).toBe(true)
  })

  it('refuses a 206 with the wrong range, no length, or multipart', async () => {
    for (const headers of [
      { 'content-range': 'bytes 50-69/300000' }, // not the bytes asked for
      { 'content-range': 'bytes 10-29/*' }, // unknown length
      { 'content-range': 'bytes 29-10/300000' },
      { 'content-range': 'bytes 10-29/20' }, // last byte past the length
      { 'content-type': 'multipart/byteranges; boundary=x' },
      { 'content-range': 'bytes 10-29/300000', 'content-length': '5' },
    ]) {
      const driver = await driverFor((_, res) =>
        res.writeHead(206, headers).end(DATA.subarray(0, 5)),
      )
      expect(
        await codeOf(driver.read('/f.bin', { offset: 10, length: 20 })),
        JSON.stringify(headers),
      ).toBe('service_unavailable')
      await server!.close()
    }
  })

  it('refuses a compressed body and one without a length', async () => {
    let driver = await driverFor((_, res) =>
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': '3' }).end('abc'),
    )
    expect(await codeOf(driver.read('/f.bin'))).toBe('service_unavailable')
    expect(server!.requests[0]).toBeDefined()
    await server!.close()
    driver = await driverFor((_, res) => {
      res.writeHead(200) // chunked: no Content-Length
      res.end('abc')
    })
    expect(await codeOf(driver.read('/f.bin'))).toBe('service_unavailable')
  })

  it('errors the stream when the body ends before the announced length', async () => {
    const driver = await driverFor((_, res) => {
      res.writeHead(200, { 'content-length': '1000' })
      res.write(DATA.subarray(0, 400))
      setTimeout(() => res.socket?.destroy(), 20)
    })
    const read = await driver.read('/f.bin')
    expect(await codeOf(readAllBytes(read.stream))).toBe('service_unavailable')
  })

  it('answers an empty read at the end of the file from a 416 or a HEAD', async () => {
    const driver = await driverFor((req, res) => {
      if (req.method === 'HEAD') res.writeHead(200, { 'content-length': '100' }).end()
      else res.writeHead(416).end() // no `Content-Range: bytes */100`: the driver asks HEAD
    })
    const end = await bytesOf(driver, { offset: 100 })
    expect([end.size, end.offset, end.length, end.bytes.length]).toEqual([100, 100, 0, 0])
    const none = await bytesOf(driver, { offset: 40, length: 0 })
    expect([none.size, none.length]).toEqual([100, 0])
    expect(await codeOf(driver.read('/f.bin', { offset: 101 }))).toBe('range_not_satisfiable')
    expect(await codeOf(driver.read('/f.bin', { offset: 50 }))).toBe('service_unavailable')
  })

  it('times the server, not a slow consumer: pauses longer than timeoutMs are fine', async () => {
    server = await startFakeServer((_, res) => {
      res.writeHead(200, { 'content-length': String(DATA.length) }).end(DATA)
    })
    const driver = createHttpDriver({ url: server.url, timeoutMs: 100 })
    const read = await driver.read('/x.bin')
    await new Promise((r) => setTimeout(r, 250)) // before the first pull
    const chunks: Uint8Array[] = []
    for await (const chunk of read.stream as AsyncIterable<Uint8Array>) {
      chunks.push(chunk)
      if (chunks.length <= 2) await new Promise((r) => setTimeout(r, 250)) // between pulls
    }
    expect(Buffer.concat(chunks).equals(DATA)).toBe(true)
  })

  it('stops reading when the consumer cancels', async () => {
    let closed = false
    const driver = await driverFor((_, res) => {
      res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) })
      const chunk = new Uint8Array(64 * 1024)
      const pump = () => {
        while (!closed && res.write(chunk));
        if (!closed) res.once('drain', pump)
      }
      res.once('close', () => {
        closed = true
      })
      pump()
    })
    const read = await driver.read('/f.bin')
    const chunks = (read.stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
    expect((await chunks.next()).done).toBe(false)
    await chunks.return?.()
    await expect.poll(() => closed, { timeout: 5000 }).toBe(true)
  })

  it('keeps the connection after a read to the end of the body, drops it after a trimmed one', async () => {
    const ports: number[] = []
    const driver = await driverFor((req, res) => {
      ports.push(req.socket.remotePort ?? -1)
      res.writeHead(200, { 'content-length': String(DATA.length) }).end(DATA) // Range ignored
    })
    const whole = await bytesOf(driver, {})
    expect(whole.bytes.equals(DATA)).toBe(true)
    expect(whole.ownedChunks).toBe(true) // node:http's chunks: see node-request.test.ts
    const tail = await bytesOf(driver, { offset: 1000 })
    expect(tail.bytes.equals(DATA.subarray(1000))).toBe(true)
    const head = await bytesOf(driver, { offset: 0, length: 10 }) // the rest is dropped
    expect(head.bytes.equals(DATA.subarray(0, 10))).toBe(true)
    await bytesOf(driver, {})
    expect(ports[1]).toBe(ports[0])
    expect(ports[2]).toBe(ports[0])
    expect(ports[3]).not.toBe(ports[0])
  })
})

describe('read with an injected fetch (a web body)', () => {
  it('reads the same bytes, times a stalled body, and does not claim owned chunks', async () => {
    server = await startFakeServer((req, res) => {
      if (req.url === '/stall.bin') {
        res.writeHead(200, { 'content-length': '100' })
        res.write('first bytes') // then nothing
        return
      }
      res.writeHead(200, { 'content-length': String(DATA.length) }).end(DATA)
    })
    const driver = createHttpDriver({
      url: server.url,
      timeoutMs: 200,
      fetch: (url, init) => fetch(url, init),
    })
    const got = await bytesOf(driver, { offset: 5000, length: 70_000 })
    expect(got.bytes.equals(DATA.subarray(5000, 75_000))).toBe(true)
    expect(got.ownedChunks).toBe(false)
    const slow = await driver.read('/f.bin')
    let total = 0
    for await (const chunk of slow.stream as AsyncIterable<Uint8Array>) {
      if (total === 0) await new Promise((r) => setTimeout(r, 400)) // a slow consumer: fine
      total += chunk.byteLength
    }
    expect(total).toBe(DATA.length)
    const stalled = await driver.read('/stall.bin')
    const error = await readAllBytes(stalled.stream).then(
      () => undefined,
      (e: { code?: string; message?: string }) => e,
    )
    expect(error).toMatchObject({ code: 'service_unavailable' })
    expect(error?.message).toMatch(/within 200 ms/)
  })

  it('errors a body that ends cleanly before its announced length', async () => {
    const driver = createHttpDriver({
      url: 'http://127.0.0.1:9/',
      fetch: async () => new Response('abc', { status: 200, headers: { 'content-length': '10' } }),
    })
    const read = await driver.read('/f.bin')
    const error = await readAllBytes(read.stream).then(
      () => undefined,
      (e: { code?: string; message?: string }) => e,
    )
    expect(error).toMatchObject({ code: 'service_unavailable' })
    expect(error?.message).toMatch(/sent less of \/f\.bin than announced/)
  })
})
