import { describe, expect, it } from 'vitest'
import { ApiError, PStorageClient } from '../src/index.js'
import { queryString, retryAfterMs } from '../src/transport.js'
import { json, serve } from './http-kit.js'

describe('PStorageClient transport', () => {
  it('sends JSON bodies and path-encodes parameters', async () => {
    const { url, seen } = await serve(json(201, { id: 'v1' }))
    const client = new PStorageClient({ baseUrl: `${url}/`, headers: { 'x-trace': 't1' } })
    await client.cloneVolume('a/b?c', { name: 'clone' })
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/api/v1/volumes/a%2Fb%3Fc/clone',
      body: '{"name":"clone"}',
    })
    expect(seen[0]?.headers['content-type']).toBe('application/json')
    expect(seen[0]?.headers['x-trace']).toBe('t1')
  })

  it('retries 429 and 503 after Retry-After, then succeeds', async () => {
    const { url, seen } = await serve(
      json(429, { error: 'rate_limited', detail: 'slow down' }, { 'retry-after': '0' }),
      json(503, { error: 'service_unavailable', detail: 'busy' }, { 'retry-after': '0' }),
      json(200, { status: 'healthy', reduction_ratio: 1, cluster_enabled: false }),
    )
    const health = await new PStorageClient({ baseUrl: url }).getHealth()
    expect(health.status).toBe('healthy')
    expect(seen).toHaveLength(3)
  })

  it('gives up after `retries` and throws the typed error', async () => {
    const { url, seen } = await serve(
      json(429, { error: 'rate_limited', detail: 'slow down' }, { 'retry-after': '0' }),
    )
    const error = await new PStorageClient({ baseUrl: url, retries: 1 })
      .getHealth()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 429, error: 'rate_limited', detail: 'slow down' })
    expect(seen).toHaveLength(2)
  })

  it('does not retry other errors, and keeps details and the request id', async () => {
    const body = {
      error: 'validation_error',
      detail: 'bad',
      details: { issues: [] },
      request_id: 'r-1',
    }
    const { url, seen } = await serve(json(422, body))
    const error = await new PStorageClient({ baseUrl: url })
      .createVolume({ name: 'x', size_gb: 1 })
      .catch((e) => e)
    expect(error).toMatchObject({
      status: 422,
      error: 'validation_error',
      details: { issues: [] },
      requestId: 'r-1',
    })
    expect(seen).toHaveLength(1)
  })

  it('turns a non-JSON error page (a proxy) into an ApiError too', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' })
      res.end('<h1>Bad Gateway</h1>')
    })
    const error = await new PStorageClient({ baseUrl: url }).getHealth().catch((e: unknown) => e)
    expect(error).toMatchObject({
      status: 502,
      error: 'http_error',
      detail: '<h1>Bad Gateway</h1>',
    })
  })

  it('reads volume data through the same transport: query, session, retries, errors', async () => {
    const read = { volume_id: 'v/1', offset: 4096, size: 3, data: 'YWJj' }
    const { url, seen } = await serve(
      json(503, { error: 'service_unavailable', detail: 'busy' }, { 'retry-after': '0' }),
      json(200, read),
    )
    const client = new PStorageClient({ baseUrl: url, apiKey: 'psk_test' })
    expect(await client.readVolume('v/1', { offset: 4096, length: 3 })).toEqual(read)
    expect(seen.map((s) => s.url)).toEqual([
      '/api/v1/volumes/v%2F1/read?offset=4096&length=3',
      '/api/v1/volumes/v%2F1/read?offset=4096&length=3',
    ])
    expect(seen[1]?.headers['x-api-key']).toBe('psk_test')
    const missing = await serve(json(404, { error: 'not_found', detail: 'no volume' }))
    const error = await new PStorageClient({ baseUrl: missing.url, retries: 0 })
      .readVolume('nope')
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 404, error: 'not_found', detail: 'no volume' })
  })

  it('answers void for 204', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(204)
      res.end()
    })
    await expect(new PStorageClient({ baseUrl: url }).deleteVolume('v')).resolves.toBeUndefined()
  })
})

describe('transport helpers', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000)
    expect(
      retryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
    ).toBe(10_000)
    expect(retryAfterMs(null)).toBe(1000)
    expect(retryAfterMs('soon')).toBe(1000)
  })

  it('builds query strings from defined values only', () => {
    expect(queryString({ limit: 5, search: 'a b', sort: undefined, offset: null })).toBe(
      '?limit=5&search=a+b',
    )
    expect(queryString(undefined)).toBe('')
  })
})
