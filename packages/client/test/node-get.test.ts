import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, PStorageClient } from '../src/index.js'
import { json, serve } from './http-kit.js'

const MiB = 1024 * 1024
/** `size` bytes where byte i is i mod 251 (a prime: no chunk boundary lines up with it). */
const pattern = (size: number) => Uint8Array.from({ length: size }, (_, i) => i % 251)

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

/** The global fetch, failing: what goes through it is seen. */
function refuseGlobalFetch() {
  const spy = vi.fn(async () => {
    throw new Error('the global fetch was used')
  })
  vi.stubGlobal('fetch', spy)
  return spy
}
afterEach(() => {
  vi.unstubAllGlobals()
})

describe('bulk downloads on Node (node:http, not the global fetch)', () => {
  it('streams a file byte-exact with its range and session, without the global fetch', async () => {
    const data = pattern(3 * MiB + 7)
    const { url, seen } = await serve((_req, res) => {
      res.writeHead(206, { 'content-length': String(data.length) })
      res.end(data)
    })
    const client = new PStorageClient({ baseUrl: url, apiKey: 'k1' })
    const global = refuseGlobalFetch()
    const body = await readAll(
      await client.downloadFile('b/1', '/a b.iso', { offset: 10, length: data.length }),
    )
    expect(Buffer.from(body).equals(Buffer.from(data))).toBe(true)
    expect(global).not.toHaveBeenCalled()
    expect(seen[0]).toMatchObject({
      method: 'GET',
      url: '/api/v1/storage/backends/b%2F1/files/download?path=%2Fa+b.iso',
    })
    expect(seen[0]?.headers.range).toBe(`bytes=10-${10 + data.length - 1}`)
    expect(seen[0]?.headers['x-api-key']).toBe('k1')
  })

  it('reads volume data the same way', async () => {
    const data = pattern(MiB)
    const { url, seen } = await serve((_req, res) => res.end(data))
    const client = new PStorageClient({ baseUrl: url })
    const global = refuseGlobalFetch()
    const body = await readAll(await client.downloadVolumeData('v1'))
    expect(body.length).toBe(MiB)
    expect(global).not.toHaveBeenCalled()
    expect(seen[0]?.url).toBe('/api/v1/volumes/v1/data')
  })

  it('turns error answers into ApiErrors, and retries 503 after Retry-After', async () => {
    const { url, seen } = await serve(
      json(503, { error: 'service_unavailable', detail: 'busy' }, { 'retry-after': '0' }),
      json(404, { error: 'not_found', detail: 'No such file' }),
    )
    const error = await new PStorageClient({ baseUrl: url })
      .downloadFile('b1', '/missing')
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 404, error: 'not_found', detail: 'No such file' })
    expect(seen).toHaveLength(2)
  })

  it('refreshes the session once on a 401 and sends the download again', async () => {
    const tokens = (access: string) => ({
      access_token: access,
      refresh_token: `r-${access}`,
      token_type: 'bearer',
      expires_in: 900,
    })
    const { url, seen } = await serve(
      json(401, { error: 'unauthorized', detail: 'expired' }),
      json(200, tokens('a2')),
      (_req, res) => res.end('fresh bytes'),
    )
    const client = new PStorageClient({ baseUrl: url, tokens: tokens('a1') as never })
    const body = await readAll(await client.downloadFile('b1', '/f'))
    expect(new TextDecoder().decode(body)).toBe('fresh bytes')
    expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer a1', undefined, 'Bearer a2'])
  })

  it('errors the stream when the body is cut short, never a short body as whole', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(4 * MiB) })
      res.write(pattern(MiB), () => res.destroy())
    })
    const stream = await new PStorageClient({ baseUrl: url }).downloadFile('b1', '/f')
    await expect(readAll(stream)).rejects.toThrow()
  })

  it('aborts with the signal', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(64 * MiB) })
      res.write(pattern(MiB)) // and never more
    })
    const controller = new AbortController()
    const stream = await new PStorageClient({ baseUrl: url }).downloadFile('b1', '/f', {
      signal: controller.signal,
    })
    const reader = stream.getReader()
    await reader.read()
    controller.abort()
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return 'ended'
      })(),
    ).rejects.toThrow()
  })

  it('uses an injected fetch for downloads too', async () => {
    const { url } = await serve((_req, res) => res.end('x'))
    const injected = vi.fn((input: string | URL | Request, init?: RequestInit) =>
      fetch(input, init),
    )
    const client = new PStorageClient({ baseUrl: url, fetch: injected as typeof fetch })
    expect(new TextDecoder().decode(await readAll(await client.downloadFile('b1', '/f')))).toBe('x')
    expect(injected).toHaveBeenCalledTimes(1)
  })
})
