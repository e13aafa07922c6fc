import { once } from 'node:events'
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Readable } from 'node:stream'
import { isHttp1Body } from '@pstorage/core'
import { HttpRequest } from '@smithy/core/protocols'
import { afterEach, describe, expect, it } from 'vitest'
import { BulkHttpHandler } from './bulk-handler.js'

/**
 * What the handler adds to core's Http1Agent (tested on its own in core): which requests
 * take which path, the query as the SDK builds it, failures named as NodeHttpHandler names
 * them. The real S3 path (GetObject and listings from s3rver through the SDK) is covered by
 * the driver's suite in test/s3-driver.test.ts.
 */

const servers: Server[] = []
const handlers: BulkHttpHandler[] = []
afterEach(() => {
  for (const h of handlers.splice(0)) h.destroy()
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    s.close()
  }
})

/** A node:http server recording `METHOD url body` of each request. */
async function serve(
  answer: (req: IncomingMessage, res: import('node:http').ServerResponse) => void,
) {
  const seen: string[] = []
  const server = createHttpServer((req, res) => {
    let body = ''
    req.on('data', (d) => {
      body += d
    })
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${body}`)
      answer(req, res)
    })
  })
  servers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { port: (server.address() as AddressInfo).port, seen }
}

function handler(options: ConstructorParameters<typeof BulkHttpHandler>[0] = {}) {
  const h = new BulkHttpHandler(options)
  handlers.push(h)
  return h
}

const request = (port: number, extra: Partial<HttpRequest> = {}) =>
  new HttpRequest({
    protocol: 'http:',
    hostname: '127.0.0.1',
    port,
    method: 'GET',
    path: '/b',
    headers: { host: `127.0.0.1:${port}` },
    ...extra,
  })

async function text(body: unknown): Promise<string> {
  let out = ''
  for await (const chunk of body as Readable) out += Buffer.from(chunk as Uint8Array).toString()
  return out
}

describe('BulkHttpHandler', () => {
  it('sends GETs through the agent, with the query as the SDK builds it', async () => {
    const srv = await serve((_, res) => res.end('<x/>'))
    const { response } = await handler().handle(
      request(srv.port, {
        query: { 'list-type': '2', prefix: 'a b/ü', 'continuation-token': 'x+y=' },
      }),
    )
    expect(response.statusCode).toBe(200)
    expect(isHttp1Body(response.body)).toBe(true)
    expect(await text(response.body)).toBe('<x/>')
    expect(srv.seen).toEqual([
      'GET /b?continuation-token=x%2By%3D&list-type=2&prefix=a%20b%2F%C3%BC ',
    ])
  })

  it('hands other requests to the SDK handler unchanged', async () => {
    const srv = await serve((_, res) => res.end('done'))
    const h = handler()
    for (const method of ['PUT', 'DELETE', 'HEAD']) {
      const { response } = await h.handle(
        request(srv.port, { method, ...(method === 'PUT' && { body: 'payload' }) }),
      )
      expect(isHttp1Body(response.body)).toBe(false)
      expect(await text(response.body)).toBe(method === 'HEAD' ? '' : 'done')
    }
    expect(srv.seen).toEqual(['PUT /b payload', 'DELETE /b ', 'HEAD /b '])
  })

  it('names a reset before the answer TimeoutError (retried by the SDK), an abort AbortError', async () => {
    const srv = await serve((req) => req.socket.destroy())
    const reset = await handler()
      .handle(request(srv.port))
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      )
    expect([reset?.name, reset?.code]).toEqual(['TimeoutError', 'ECONNRESET'])

    const silent = await serve(() => {})
    const controller = new AbortController()
    const pending = handler().handle(request(silent.port), { abortSignal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    expect(await pending.catch((e: Error) => e.name)).toBe('AbortError')
  })
})
