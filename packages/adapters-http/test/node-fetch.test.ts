import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { nodeFetch } from '../src/node-fetch.js'
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

describe('nodeFetch, the driver default transport', () => {
  it('answers status, headers in order and the whole body, read slowly or not', async () => {
    const body = patternBytes(8 * 1024 * 1024 + 7)
    const url = await serve((_, res) => {
      res.setHeader('x-twice', ['a', 'b'])
      res.writeHead(200, { 'content-length': String(body.length) }).end(body)
    })
    const answer = await nodeFetch(url, { method: 'GET' })
    expect(answer.status).toBe(200)
    expect(answer.headers.get('content-length')).toBe(String(body.length))
    expect(answer.headers.get('x-twice')).toBe('a, b')
    const reader = answer.body!.getReader()
    const chunks: Uint8Array[] = []
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      if (chunks.length % 16 === 0) await new Promise((r) => setTimeout(r, 5)) // a slow reader
    }
    expect(sha(Buffer.concat(chunks))).toBe(sha(body))
  })

  it('sends the method and headers asked, follows no redirect', async () => {
    const url = await serve((_, res) => res.writeHead(301, { location: '/elsewhere/' }).end())
    const answer = await nodeFetch(url, {
      method: 'HEAD',
      headers: { authorization: 'Basic eDp5' },
    })
    expect(answer.status).toBe(301)
    expect(answer.headers.get('location')).toBe('/elsewhere/')
    expect(answer.body).toBeNull()
    expect(server!.requests).toEqual([{ method: 'HEAD', url: '/', authorization: 'Basic eDp5' }])
  })

  it('errors the body when the server cuts it short', async () => {
    const url = await serve((_, res) => {
      res.writeHead(200, { 'content-length': '1000000' })
      res.write(patternBytes(1000))
      setTimeout(() => res.destroy(), 20)
    })
    const answer = await nodeFetch(url, { method: 'GET' })
    await expect(answer.arrayBuffer()).rejects.toThrow()
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
    const answer = await nodeFetch(url, { method: 'GET', signal: controller.signal })
    const reader = answer.body!.getReader()
    await reader.read()
    controller.abort()
    await expect(reader.read()).rejects.toThrow()
    await expect.poll(() => closed, { timeout: 5000 }).toBe(true)
  })

  it("refuses the Fetch standard's bad ports without connecting", async () => {
    const error = await nodeFetch(new URL('http://127.0.0.1:25/'), { method: 'HEAD' }).catch(
      (e: unknown) => e as Error,
    )
    expect((error as Error & { cause?: Error }).cause?.message).toBe('bad port')
  })
})
