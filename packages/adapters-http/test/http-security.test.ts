import { createServer } from 'node:net'
import {
  createAddressGuard,
  guardedLookup,
  isPStorageError,
  normalizeBackendPath,
  readAllBytes,
} from '@pstorage/core'
import { CONFINED_CASES, TRAVERSAL_CASES } from '@pstorage/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { createHttpDriver, httpBackendType } from '../src/index.js'
import { type FakeServer, startFakeServer } from './fake-server.js'

const servers: FakeServer[] = []
async function serve(handler: Parameters<typeof startFakeServer>[0]): Promise<FakeServer> {
  const server = await startFakeServer(handler)
  servers.push(server)
  return server
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function errorOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: Error & { code?: string }) => e,
  )
}

/** Everything an error or result could leak, as one string. */
function dump(value: unknown): string {
  if (!(value instanceof Error)) return JSON.stringify(value)
  const e = value as Error & { details?: unknown; cause?: unknown }
  return [
    e.message,
    e.stack,
    JSON.stringify(e.details),
    String(e.cause),
    dump(e.cause ?? null),
  ].join('\n')
}

describe('redirects', () => {
  it('refuses a redirect to another port, host or scheme and never contacts it', async () => {
    const other = await serve((_, res) => res.end('secret'))
    for (const location of [
      `http://127.0.0.1:${other.port}/pub/`,
      `http://localhost:${other.port}/pub/`,
      'https://127.0.0.1/pub/',
      '//example.com/pub/',
    ]) {
      const origin = await serve((_, res) => res.writeHead(302, { location }).end())
      const driver = createHttpDriver({
        url: `${origin.url}pub/`,
        username: 'alice',
        password: 'pw-never-forwarded',
      })
      const result = await driver.test()
      expect(result.ok).toBe(false)
      expect(result.message).toMatch(/redirected to another host, port or scheme/)
      const error = await errorOf(driver.list('/'))
      expect(error.code).toBe('forbidden')
      expect(origin.requests[0]?.authorization).toMatch(/^Basic /) // the origin got them
    }
    expect(other.requests).toEqual([]) // the other origin got nothing, credentials included
  })

  it('follows same-origin redirects below the base URL, and refuses the rest', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/pub/old.txt') res.writeHead(301, { location: '/pub/new.txt' }).end()
      else if (req.url === '/pub/new.txt')
        res.writeHead(200, { 'content-length': '3', 'content-type': 'text/plain' }).end('new')
      else if (req.url === '/pub/escape.txt')
        res.writeHead(302, { location: '/private/escape.txt' }).end()
      else if (req.url === '/pub/dotdot.txt')
        res.writeHead(302, { location: '/pub/%2e%2e/private/x' }).end()
      else res.writeHead(404).end()
    })
    const driver = createHttpDriver({ url: `${server.url}pub` }) // the trailing / is added
    const read = await driver.read('/old.txt')
    expect(new TextDecoder().decode(await readAllBytes(read.stream))).toBe('new')
    for (const path of ['/escape.txt', '/dotdot.txt']) {
      const error = await errorOf(driver.read(path))
      expect(error.code).toBe('forbidden')
      expect(error.message).toMatch(/outside the base URL/)
    }
    expect(server.requests.map((r) => r.url)).toEqual([
      '/pub/old.txt',
      '/pub/new.txt',
      '/pub/escape.txt',
      '/pub/dotdot.txt',
    ])
  })

  it('stops after maxRedirects', async () => {
    const server = await serve((req, res) =>
      res.writeHead(307, { location: req.url === '/a' ? '/b' : '/a' }).end(),
    )
    const driver = createHttpDriver({ url: server.url, maxRedirects: 3 })
    const error = await errorOf(driver.read('/a'))
    expect(error.code).toBe('service_unavailable')
    expect(error.message).toMatch(/Too many redirects/)
    expect(server.requests).toHaveLength(4)
  })
})

describe('credentials', () => {
  it('sends HTTP Basic (RFC 7617, UTF-8) and never puts the password in errors', async () => {
    const password = 'p\u00e4ss:w0rd-SECRET'
    const encoded = Buffer.from(`alice:${password}`).toString('base64')
    const server = await serve((req, res) =>
      req.headers.authorization === 'Basic good' ? res.end() : res.writeHead(401).end('nope'),
    )
    const driver = createHttpDriver({ url: server.url, username: 'alice', password })
    const result = await driver.test()
    expect(result).toMatchObject({ ok: false, details: { status: 401 } })
    expect(result.message).toMatch(/Access denied \(HTTP 401\)/)
    expect(server.requests[0]?.authorization).toBe(`Basic ${encoded}`)
    const errors = await Promise.all([
      errorOf(driver.list('/')),
      errorOf(driver.stat('/x')),
      errorOf(driver.read('/x')),
    ])
    for (const error of errors) expect(error.code).toBe('forbidden')
    for (const leak of [password, encoded, 'SECRET'])
      for (const text of [dump(result), ...errors.map(dump)]) expect(text).not.toContain(leak)
  })

  it('refuses credentials in the URL without echoing them', () => {
    const error = (() => {
      try {
        createHttpDriver({ url: 'http://bob:hunter2@127.0.0.1/' })
      } catch (e) {
        return e as Error & { code?: string }
      }
    })()
    expect(error?.code).toBe('bad_request')
    expect(error?.message).toMatch(/credentials in the URL/)
    expect(dump(error)).not.toContain('hunter2')
  })
})

describe('options', () => {
  it('refuses bad options with bad_request naming the option, not its value', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ url: 'ftp://h/' }, /only http: and https:/],
      [{ url: 'file:///etc/' }, /only http: and https:/],
      [{ url: 'javascript:alert(1)' }, /only http: and https:/],
      [{ url: '/relative' }, /not an absolute URL/],
      [{ url: 'http://h/?token=x' }, /query or fragment/],
      [{ url: 'http://h/#x' }, /query or fragment/],
      [{ url: 'http://h/', username: 'a:b' }, /username/],
      [{ url: 'http://h/', password: 'only' }, /username/],
      [{ url: 'http://h/', headers: { Range: 'bytes=0-' } }, /range header/],
      [{ url: 'http://h/', headers: { Host: 'evil' } }, /host header/],
      [{ url: 'http://h/', headers: { 'x-a': 'b\r\nx-c: d' } }, /field names and values/],
      [{ url: 'http://h/', username: 'a', headers: { Authorization: 'Bearer t' } }, /either/],
      [{ url: 'http://h/', timeoutMs: 0 }, /timeoutMs/],
      [{ url: 'http://h/', maxIndexBytes: 1.5 }, /maxIndexBytes/],
      [{ url: 'http://h/', maxRedirects: 99 }, /maxRedirects/],
      [{ url: 'http://h/', checkAddress: 'evil' }, /checkAddress must be a function/],
      [{ url: 'http://h/', lookup: 'evil' }, /lookup must be a function/],
    ]
    for (const [options, message] of cases) {
      let error: (Error & { code?: string }) | undefined
      try {
        createHttpDriver(options as never)
      } catch (e) {
        error = e as Error & { code?: string }
      }
      expect(error?.code, JSON.stringify(options)).toBe('bad_request')
      expect(error?.message).toMatch(message)
      expect(error?.message).not.toContain('evil')
    }
  })
})

describe('checkAddress', () => {
  it('is called with the host before every request, each redirect hop included', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/a') res.writeHead(302, { location: '/b' }).end()
      else res.writeHead(200, { 'content-length': '2' }).end('ok')
    })
    const hosts: string[] = []
    const driver = createHttpDriver({
      url: server.url,
      checkAddress: async (host) => {
        hosts.push(host)
      },
    })
    await readAllBytes((await driver.read('/a')).stream)
    expect(hosts).toEqual(['127.0.0.1', '127.0.0.1'])
    expect(server.requests).toHaveLength(2)
  })

  it('honours a refusal: no request is made, test() says why', async () => {
    const server = await serve((_, res) => res.end())
    const seen: string[] = []
    const driver = createHttpDriver({
      url: server.url.replace('127.0.0.1', '[::1]'),
      checkAddress: async (host) => {
        seen.push(host)
        throw new Error('169.254.169.254 is private')
      },
    })
    const result = await driver.test()
    expect(result).toMatchObject({ ok: false, message: expect.stringMatching(/address check/) })
    expect((await errorOf(driver.list('/'))).code).toBe('forbidden')
    expect(seen[0]).toBe('::1') // without the URL brackets
    expect(server.requests).toEqual([])
  })

  it("passes a PStorageError through: core's address guard refuses loopback", async () => {
    const server = await serve((_, res) => res.end())
    const guard = createAddressGuard({ allowPrivate: false })
    const driver = createHttpDriver({ url: server.url, checkAddress: (h) => guard.check(h) })
    const error = await errorOf(driver.stat('/'))
    expect(isPStorageError(error, 'forbidden')).toBe(true)
    expect(error.message).toMatch(/private address/)
    expect(server.requests).toEqual([])
  })

  it('checks the address each connection is made to with `lookup` (DNS rebinding)', async () => {
    const server = await serve((_, res) => res.writeHead(200, { 'content-length': '2' }).end('ok'))
    // The name passed the check of the host name (as a rebinding answer would, public
    // first), then resolves to loopback when the connection is made.
    const url = server.url.replace('127.0.0.1', 'localhost')
    const refused = createHttpDriver({
      url,
      checkAddress: async () => {},
      lookup: guardedLookup(createAddressGuard({ allowPrivate: false })),
    })
    const error = await errorOf(refused.stat('/'))
    expect(isPStorageError(error, 'forbidden')).toBe(true)
    expect(error.message).toMatch(/the private address 127\.0\.0\.1/)
    expect((await refused.test()).ok).toBe(false)
    expect(server.requests).toEqual([])
    await refused.close()
    // The same lookup with private addresses allowed connects.
    const allowed = createHttpDriver({
      url,
      lookup: guardedLookup(createAddressGuard({ allowPrivate: true })),
    })
    expect(new TextDecoder().decode(await readAllBytes((await allowed.read('/a')).stream))).toBe(
      'ok',
    )
    expect(server.requests).toHaveLength(1)
    await allowed.close()
  })

  it('is wired to the server guard by httpBackendType', async () => {
    const server = await serve((_, res) => res.end())
    const checked: string[] = []
    const ctx = {
      id: 'b1',
      localRoots: [],
      guard: {
        allowPrivate: true,
        check: async (host: string) => {
          checked.push(host)
        },
      },
    }
    const driver = await httpBackendType.open!(
      { url: server.url.replace('127.0.0.1', 'localhost') },
      ctx,
    )
    expect(driver.name).toBe('http')
    expect((await driver.test()).ok).toBe(true)
    // The host name before the request, then the address its connection resolved to.
    expect(checked).toEqual(['localhost', '127.0.0.1'])
    await driver.close()
  })
})

describe('connection failures answer test() with ok: false', () => {
  async function closedPort(): Promise<number> {
    const s = createServer()
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    const { port } = s.address() as { port: number }
    await new Promise((r) => s.close(r))
    return port
  }

  it('refused connection', async () => {
    const driver = createHttpDriver({ url: `http://127.0.0.1:${await closedPort()}/` })
    expect(await driver.test()).toMatchObject({
      ok: false,
      message: 'The server refused the connection',
      details: { code: 'ECONNREFUSED' },
    })
    expect((await errorOf(driver.list('/'))).code).toBe('service_unavailable')
  })

  it('timeout waiting for headers, and a body that stalls', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/stall.bin') {
        res.writeHead(200, { 'content-length': '100' })
        res.write('first bytes') // then nothing
      } // anything else: never answered
    })
    const driver = createHttpDriver({ url: server.url, timeoutMs: 200 })
    const started = performance.now()
    const result = await driver.test()
    expect(result).toMatchObject({ ok: false, message: 'The server did not answer within 200 ms' })
    expect(performance.now() - started).toBeLessThan(2000)
    const read = await driver.read('/stall.bin')
    const error = await errorOf(readAllBytes(read.stream))
    expect(error.code).toBe('service_unavailable')
    expect(error.message).toMatch(/within 200 ms/)
  })

  it("ports fetch refuses (the Fetch standard's bad ports)", async () => {
    const result = await createHttpDriver({ url: 'http://127.0.0.1:6000/' }).test()
    expect(result).toMatchObject({ ok: false, details: { code: 'BAD_PORT' } })
    expect(result.message).toMatch(/bad ports/)
  })

  it('TLS errors', async () => {
    const server = await serve((_, res) => res.end()) // plain HTTP: the handshake fails
    const driver = createHttpDriver({ url: `https://127.0.0.1:${server.port}/` })
    const result = await driver.test()
    expect(result.ok).toBe(false)
    expect(result.message).toMatch(/^The TLS handshake failed \(ERR_SSL_/)
  })

  it('HTTP errors, with a GET when HEAD is not allowed', async () => {
    const server = await serve((req, res) => res.writeHead(req.method === 'HEAD' ? 405 : 404).end())
    const result = await createHttpDriver({ url: server.url }).test()
    expect(result).toMatchObject({ ok: false, message: 'The base URL was not found (HTTP 404)' })
    expect(server.requests.map((r) => r.method)).toEqual(['HEAD', 'GET'])
  })
})

describe('no request leaves the base URL', () => {
  /** A fetch that records every URL and answers 404 without any network. */
  function recording() {
    const urls: URL[] = []
    const fetch = async (url: URL) => {
      urls.push(new URL(url))
      return new Response(null, { status: 404 })
    }
    return { urls, fetch }
  }
  const base = 'http://files.example/mirror/v1/'

  it('refuses every traversal case before any request', async () => {
    const { urls, fetch } = recording()
    const driver = createHttpDriver({ url: base, fetch })
    for (const c of TRAVERSAL_CASES)
      for (const call of [driver.list(c.path), driver.stat(c.path), driver.read(c.path)])
        expect((await errorOf(call)).code, c.note).toBe('bad_request')
    expect(urls).toEqual([])
  })

  it('keeps every built URL below the base path, decoding back to the API path', async () => {
    const { urls, fetch } = recording()
    const driver = createHttpDriver({ url: base, fetch })
    const names = [
      ...CONFINED_CASES.map((c) => c.path),
      '/a b/c?d#e.txt',
      '/100%/x',
      '/%/..x',
      '/q;a=1',
      '/\u00e9t\u00e9/\u{1f600}',
      '/file\uff0etxt',
      "/it's (1)!*.iso",
    ]
    for (const path of names) {
      const before = urls.length
      await Promise.allSettled([driver.list(path), driver.stat(path), driver.read(path)])
      const expected = normalizeBackendPath(path)
      for (const url of urls.slice(before)) {
        expect(url.origin).toBe('http://files.example')
        expect(url.pathname.startsWith('/mirror/v1/')).toBe(true)
        const rel = url.pathname.slice('/mirror/v1/'.length).replace(/\/$/, '')
        const decoded = rel.split('/').map(decodeURIComponent).join('/')
        // Each request is for the path or one of its ancestors (stat reads the parent index).
        expect(expected === decoded || expected.startsWith(`${decoded}/`) || decoded === '').toBe(
          true,
        )
      }
      expect(urls.length).toBeGreaterThan(before)
    }
  })
})
