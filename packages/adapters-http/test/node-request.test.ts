import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { isHttp1Body } from '@pstorage/core'
import { afterEach, describe, expect, it } from 'vitest'
import { nodeRequest } from '../src/node-request.js'
import { type FakeServer, patternBytes, startFakeServer } from './fake-server.js'

let server: FakeServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  server = await startFakeServer(handler)
  return new URL(server.url)
}

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

describe('nodeRequest, the driver default transport', () => {
  it('answers status, headers in order and the whole body, each chunk in a buffer of its own', async () => {
    const body = patternBytes(8 * 1024 * 1024 + 7)
    const url = await serve((_, res) => {
      res.setHeader('x-twice', ['a', 'b'])
      res.writeHead(200, { 'content-length': String(body.length) }).end(body)
    })
    const answer = await nodeRequest(url, { method: 'GET' })
    expect(answer.response.status).toBe(200)
    expect(answer.response.headers.get('content-length')).toBe(String(body.length))
    expect(answer.response.headers.get('x-twice')).toBe('a, b')
    expect(answer.response.body).toBeNull() // the body is `answer.body`
    const chunks: Buffer[] = []
    for await (const chunk of answer.body!) {
      chunks.push(chunk)
      if (chunks.length % 16 === 0) await new Promise((r) => setTimeout(r, 5)) // a slow reader
    }
    expect(sha(Buffer.concat(chunks))).toBe(sha(body))
    // What the driver's `ownedChunks` relies on: no chunk shares its ArrayBuffer (a socket
    // read's buffer may be longer than the bytes read into it).
    expect(chunks.every((c) => c.byteOffset === 0)).toBe(true)
    expect(new Set(chunks.map((c) => c.buffer)).size).toBe(chunks.length)
    // Plain-http GETs read through core's Http1Agent: no 64 KiB node:http chunks.
    expect(isHttp1Body(answer.body)).toBe(true)
  })

  it('sends the method and headers asked, follows no redirect, has no body for HEAD', async () => {
    const url = await serve((_, res) => res.writeHead(301, { location: '/elsewhere/' }).end())
    const answer = await nodeRequest(url, {
      method: 'HEAD',
      headers: { authorization: 'Basic eDp5' },
    })
    expect(answer.response.status).toBe(301)
    expect(answer.response.headers.get('location')).toBe('/elsewhere/')
    expect(answer.body).toBeNull()
    expect(server!.requests).toEqual([{ method: 'HEAD', url: '/', authorization: 'Basic eDp5' }])
  })

  it('errors the body when the server cuts it short, even before anyone reads it', async () => {
    const url = await serve((_, res) => {
      res.writeHead(200, { 'content-length': '1000000' })
      res.write(patternBytes(1000))
      setTimeout(() => res.destroy(), 20)
    })
    const answer = await nodeRequest(url, { method: 'GET' })
    await new Promise((r) => setTimeout(r, 100)) // the reset happens while no one listens
    const read = async () => {
      for await (const _ of answer.body!);
    }
    await expect(read()).rejects.toThrow()
  })

  it('stops the body when the signal aborts, and the server sees the connection go', async () => {
    let closed = false
    const url = await serve((_, res) => {
      res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) })
      res.write(patternBytes(64 * 1024))
      res.once('close', () => {
        closed = true
      })
    })
    const controller = new AbortController()
    const answer = await nodeRequest(url, { method: 'GET', signal: controller.signal })
    const chunks = answer.body![Symbol.asyncIterator]()
    expect((await chunks.next()).done).toBe(false)
    controller.abort()
    await expect(chunks.next()).rejects.toThrow()
    await expect.poll(() => closed, { timeout: 5000 }).toBe(true)
  })

  it("refuses the Fetch standard's bad ports without connecting", async () => {
    const error = await nodeRequest(new URL('http://127.0.0.1:25/'), { method: 'HEAD' }).catch(
      (e: unknown) => e as Error,
    )
    expect((error as Error & { cause?: Error }).cause?.message).toBe('bad port')
  })
})
