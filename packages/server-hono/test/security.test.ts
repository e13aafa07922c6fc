import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OpenAPIHono } from '@hono/zod-openapi'
import { type Clock, createPStorage, createScryptHasher, type Role } from '@pstorage/core'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AppOptions, createApp, hasRole, routeAccess } from '../src/index.js'
import { createRouter } from '../src/security/access.js'

/** Cheap scrypt so many logins stay fast; the default parameters are tested in core. */
const hasher = createScryptHasher({ params: { cost: 10 } })
const PASSWORD = 'correct horse battery'

/** A clock the tests move by hand, to expire tokens and lockouts. */
function manualClock(): Clock & { advance(seconds: number): void } {
  let now = Date.now()
  return {
    now: () => new Date(now),
    advance: (seconds) => {
      now += seconds * 1000
    },
  }
}

async function setup(options: AppOptions = { rateLimits: false }, clock = manualClock()) {
  const pstorage = await createPStorage({ hasher, clock })
  await pstorage.identity.users.ensureAdmin({ password: PASSWORD })
  const app = createApp(pstorage, options)
  const call = (path: string, init: RequestInit & { token?: string; json?: unknown } = {}) => {
    const headers = new Headers(init.headers)
    if (init.token) headers.set('authorization', `Bearer ${init.token}`)
    if (init.json !== undefined) headers.set('content-type', 'application/json')
    return app.request(path, {
      ...init,
      headers,
      ...(init.json !== undefined && { body: JSON.stringify(init.json) }),
    })
  }
  const login = async (username: string, password = PASSWORD) => {
    const response = await call('/api/v1/auth/login', {
      method: 'POST',
      json: { username, password },
    })
    expect(response.status, `login ${username}`).toBe(200)
    return (await response.json()) as { access_token: string; refresh_token: string }
  }
  return { pstorage, app, call, login, clock }
}

describe('authorization over the whole route table', () => {
  let env: Awaited<ReturnType<typeof setup>>
  const tokens = new Map<Role, string>()
  const ids = new Map<Role, string>()

  beforeAll(async () => {
    env = await setup()
    for (const role of ['operator', 'viewer'] as const) {
      const user = await env.pstorage.identity.users.create({
        username: role,
        password: PASSWORD,
        role,
      })
      ids.set(role, user.id)
    }
    ids.set('admin', (await env.pstorage.identity.users.list({ search: 'admin' })).users[0]!.id)
    for (const role of ['admin', 'operator', 'viewer'] as const)
      tokens.set(role, (await env.login(role)).access_token)
  })
  afterAll(() => env.pstorage.close())

  /** A request to `route` with placeholders filled: the caller's own id for users, a UUID otherwise. */
  const requestFor = (method: string, path: string, role?: Role) => {
    const filled = path.replace(/:(\w+)/g, (_, name: string) =>
      name === 'user_id' && role ? ids.get(role)! : '00000000-0000-4000-8000-000000000000',
    )
    const body = ['POST', 'PUT', 'PATCH'].includes(method) ? { json: {} } : {}
    return env.call(filled, { method, ...body, ...(role && { token: tokens.get(role)! }) })
  }

  it('declares an access for every route, and only /health, /openapi.json, /docs and auth entry points are public', () => {
    const table = routeAccess(env.app)
    const registered = env.app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path}`)
    expect(table.map((r) => `${r.method} ${r.path.replace(/\{(\w+)\}/g, ':$1')}`).sort()).toEqual(
      [...new Set(registered)].sort(),
    )
    expect(
      table
        .filter((r) => r.access === 'public')
        .map((r) => r.path)
        .sort(),
    ).toEqual([
      '/api/v1/auth/login',
      '/api/v1/auth/logout',
      '/api/v1/auth/refresh',
      '/docs',
      '/health',
      '/openapi.json',
    ])
  })

  it('answers 401 without credentials on every protected route', async () => {
    for (const route of routeAccess(env.app).filter((r) => r.access !== 'public')) {
      const response = await requestFor(route.method, route.path.replace(/\{(\w+)\}/g, ':$1'))
      expect(response.status, `${route.method} ${route.path}`).toBe(401)
      expect(((await response.json()) as { error: string }).error).toBe('unauthorized')
    }
  })

  it('gives each role exactly its routes: 403 below the declared role, never 401/403 at or above it', async () => {
    for (const route of routeAccess(env.app).filter((r) => r.access !== 'public')) {
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const response = await requestFor(
          route.method,
          route.path.replace(/\{(\w+)\}/g, ':$1'),
          role,
        )
        const label = `${role} ${route.method} ${route.path} (needs ${route.access})`
        if (hasRole(role, route.access as Role))
          expect([401, 403], label).not.toContain(response.status)
        else expect(response.status, label).toBe(403)
        await response.body?.cancel()
      }
    }
  })

  it('has written one audit row for every mutating request made above, whatever its outcome', async () => {
    const table = routeAccess(env.app).filter(
      (r) => r.access !== 'public' && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method),
    )
    const page = (await (
      await env.call('/api/v1/audit?limit=1000', { token: tokens.get('admin')! })
    ).json()) as {
      entries: { action: string; outcome: string }[]
    }
    for (const route of table) {
      const rows = page.entries.filter((e) => e.action === route.operationId)
      // Each was called once without credentials and once per role.
      expect(rows.length, route.operationId).toBeGreaterThanOrEqual(4)
      expect(
        rows.some((e) => e.outcome === 'denied'),
        route.operationId,
      ).toBe(true)
    }
  })

  it('refuses to build an app with a route that declares no access', () => {
    const app = new OpenAPIHono()
    const router = createRouter(app as never)
    app.get('/api/v1/forgotten', (c) => c.text('oops'))
    expect(() => router.verify()).toThrow(/GET \/api\/v1\/forgotten has no declared access/)
  })
})

describe('tokens', () => {
  it('rejects an expired token, alg none, another key, and a refresh token as access', async () => {
    const env = await setup()
    const { access_token, refresh_token } = await env.login('admin')
    expect((await env.call('/api/v1/auth/me', { token: access_token })).status).toBe(200)

    const [header, payload] = access_token.split('.')
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`
    const forged = `${header}.${payload}.${Buffer.alloc(32, 7).toString('base64url')}`
    for (const token of [none, forged, refresh_token, 'not-a-jwt']) {
      const response = await env.call('/api/v1/auth/me', { token })
      expect(response.status, token.slice(0, 20)).toBe(401)
    }
    env.clock.advance(16 * 60)
    expect((await env.call('/api/v1/auth/me', { token: access_token })).status).toBe(401)
    await env.pstorage.close()
  })

  it('rotates refresh tokens; reusing a spent one revokes the family', async () => {
    const env = await setup()
    const first = await env.login('admin')
    const refresh = (token: string) =>
      env.call('/api/v1/auth/refresh', { method: 'POST', json: { refresh_token: token } })
    const second = (await (await refresh(first.refresh_token)).json()) as typeof first
    expect(second.refresh_token).not.toBe(first.refresh_token)
    expect((await refresh(first.refresh_token)).status).toBe(401) // reuse: theft assumed
    expect((await refresh(second.refresh_token)).status).toBe(401) // the whole family is gone
    await env.pstorage.close()
  })

  it('logout revokes the session; a password change ends existing access tokens', async () => {
    const env = await setup()
    const session = await env.login('admin')
    const logout = await env.call('/api/v1/auth/logout', {
      method: 'POST',
      json: { refresh_token: session.refresh_token },
    })
    expect(logout.status).toBe(204)
    const again = await env.call('/api/v1/auth/refresh', {
      method: 'POST',
      json: { refresh_token: session.refresh_token },
    })
    expect(again.status).toBe(401)

    const live = await env.login('admin')
    const me = (await (await env.call('/api/v1/auth/me', { token: live.access_token })).json()) as {
      id: string
    }
    const change = await env.call(`/api/v1/users/${me.id}/password`, {
      method: 'POST',
      token: live.access_token,
      json: { current_password: PASSWORD, new_password: 'another long password' },
    })
    expect(change.status).toBe(204)
    expect((await env.call('/api/v1/auth/me', { token: live.access_token })).status).toBe(401)
    await env.pstorage.close()
  })

  it('locks an account after repeated failed logins (423), even for the right password', async () => {
    const env = await setup()
    for (let i = 0; i < 5; i++) {
      const response = await env.call('/api/v1/auth/login', {
        method: 'POST',
        json: { username: 'admin', password: 'wrong' },
      })
      expect(response.status).toBe(401)
    }
    const locked = await env.call('/api/v1/auth/login', {
      method: 'POST',
      json: { username: 'admin', password: PASSWORD },
    })
    expect(locked.status).toBe(423)
    expect(((await locked.json()) as { error: string }).error).toBe('account_locked')
    env.clock.advance(16 * 60)
    expect((await env.login('admin')).access_token).toBeTruthy()
    await env.pstorage.close()
  })

  it('accepts API keys with their role, and not once revoked', async () => {
    const env = await setup()
    const { access_token } = await env.login('admin')
    const created = await env.call('/api/v1/api-keys', {
      method: 'POST',
      token: access_token,
      json: { name: 'ci', role: 'viewer' },
    })
    expect(created.status).toBe(201)
    const key = (await created.json()) as { id: string; api_key: string }
    const withKey = (path: string, init: RequestInit = {}) =>
      env.app.request(path, {
        ...init,
        headers: { 'x-api-key': key.api_key, 'content-type': 'application/json' },
      })
    expect((await withKey('/api/v1/volumes')).status).toBe(200)
    expect(
      (await withKey('/api/v1/volumes', { method: 'POST', body: '{"name":"x","size_gb":1}' }))
        .status,
    ).toBe(403)
    const listed = await env.call('/api/v1/api-keys', { token: access_token })
    expect(JSON.stringify(await listed.json())).not.toContain(key.api_key)
    expect(
      (await env.call(`/api/v1/api-keys/${key.id}`, { method: 'DELETE', token: access_token }))
        .status,
    ).toBe(204)
    expect((await withKey('/api/v1/volumes')).status).toBe(401)
    await env.pstorage.close()
  })
})

describe('rate limits', () => {
  it('answer 429 with Retry-After and X-RateLimit headers after the limit', async () => {
    const env = await setup({
      rateLimits: {
        general: { limit: 3, windowMs: 60_000 },
        login: { limit: 2, windowMs: 300_000 },
        upload: { limit: 1, windowMs: 60_000 },
      },
    })
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) {
      const response = await env.app.request('/health')
      statuses.push(response.status)
      expect(response.headers.get('x-ratelimit-limit')).toBe('3')
      expect(Number(response.headers.get('x-ratelimit-reset'))).toBeGreaterThan(
        Date.now() / 1000 - 1,
      )
      if (i === 3) {
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
        expect(response.headers.get('x-ratelimit-remaining')).toBe('0')
        expect(((await response.json()) as { error: string }).error).toBe('rate_limited')
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429])
    const logins = []
    for (let i = 0; i < 3; i++) {
      const response = await env.call('/api/v1/auth/login', {
        method: 'POST',
        json: { username: 'x', password: 'y' },
      })
      logins.push(response.status)
    }
    expect(logins).toEqual([401, 401, 429])
    await env.pstorage.close()
  })
})

describe('audit', () => {
  it('records each mutating call and auth event with actor, route, resource and outcome', async () => {
    const env = await setup()
    const { access_token } = await env.login('admin')
    const created = await env.call('/api/v1/volumes', {
      method: 'POST',
      token: access_token,
      json: { name: 'audited', size_gb: 1 },
    })
    const volume = (await created.json()) as { id: string }
    await env.call(`/api/v1/volumes/${volume.id}`, { method: 'GET', token: access_token })
    await env.call('/api/v1/volumes', { method: 'POST', json: { name: 'anon', size_gb: 1 } })
    await env.call(`/api/v1/volumes/${volume.id}`, { method: 'DELETE', token: access_token })

    const page = (await (
      await env.call('/api/v1/audit?limit=50', { token: access_token })
    ).json()) as {
      entries: {
        action: string
        outcome: string
        actor_name: string | null
        resource_id: string | null
        status: number
      }[]
      total: number
    }
    const rows = page.entries.map((e) => [
      e.action,
      e.outcome,
      e.actor_name,
      e.resource_id,
      e.status,
    ])
    expect(rows).toEqual(
      expect.arrayContaining([
        ['login', 'success', null, null, 200],
        ['createVolume', 'success', 'admin', volume.id, 201],
        ['createVolume', 'denied', null, null, 401],
        ['deleteVolume', 'success', 'admin', volume.id, 204],
      ]),
    )
    expect(rows.some(([action]) => action === 'getVolume')).toBe(false)
    const filtered = (await (
      await env.call('/api/v1/audit?action=deleteVolume', { token: access_token })
    ).json()) as {
      total: number
    }
    expect(filtered.total).toBe(1)
    await env.pstorage.close()
  })
})

describe('secrets at rest', () => {
  it('stores no password, API key or refresh token in clear in the SQLite files', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pstorage-secrets-'))
    try {
      const pstorage = await createPStorage({ dataDir, hasher, env: {} })
      await pstorage.identity.users.ensureAdmin({ password: PASSWORD })
      const app = createApp(pstorage, { rateLimits: false })
      const json = { 'content-type': 'application/json' }
      const session = (await (
        await app.request('/api/v1/auth/login', {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ username: 'admin', password: PASSWORD }),
        })
      ).json()) as { access_token: string; refresh_token: string }
      const auth = { ...json, authorization: `Bearer ${session.access_token}` }
      const key = (await (
        await app.request('/api/v1/api-keys', {
          method: 'POST',
          headers: auth,
          body: '{"name":"k","role":"viewer"}',
        })
      ).json()) as { api_key: string }
      await app.request('/api/v1/users', {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ username: 'bob', password: 'bobs secret password', role: 'viewer' }),
      })
      const sealed = await pstorage.vault.seal('vault-plaintext-marker', 'test|field')
      expect(sealed).not.toContain('vault-plaintext-marker')
      await pstorage.close()

      const files = readdirSync(dataDir).filter((f) => f.startsWith('pstorage.db'))
      expect(files).toContain('pstorage.db')
      const bytes = Buffer.concat(files.map((f) => readFileSync(join(dataDir, f))))
      for (const secret of [PASSWORD, 'bobs secret password', key.api_key, session.refresh_token]) {
        expect(bytes.includes(Buffer.from(secret)), `found ${secret.slice(0, 6)}… in clear`).toBe(
          false,
        )
      }
      expect(bytes.includes(Buffer.from('admin'))).toBe(true) // the search itself works
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('logs', () => {
  it('log every request as JSON with its request id, and never a password, token or key', async () => {
    const lines: string[] = []
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) })
    const env = await setup({ rateLimits: false, logger })
    const session = await env.login('admin')
    const created = await env.call('/api/v1/api-keys', {
      method: 'POST',
      token: session.access_token,
      json: { name: 'k', role: 'viewer' },
    })
    const { api_key } = (await created.json()) as { api_key: string }
    await env.call('/api/v1/users', {
      method: 'POST',
      token: session.access_token,
      json: { username: 'eve', password: 'eves secret password', role: 'viewer' },
    })
    await env.call('/api/v1/auth/login', {
      method: 'POST',
      json: { username: 'admin', password: 'wrong guess 123' },
    })
    const text = lines.join('')
    const entries = lines.map(
      (l) => JSON.parse(l) as { req_id?: string; route?: string; status?: number },
    )
    expect(entries.some((e) => e.route === '/api/v1/users' && e.status === 201 && e.req_id)).toBe(
      true,
    )
    for (const secret of [
      PASSWORD,
      'eves secret password',
      'wrong guess 123',
      api_key,
      session.access_token,
      session.refresh_token,
    ]) {
      expect(text.includes(secret), `log contains ${secret.slice(0, 8)}…`).toBe(false)
    }
    await env.pstorage.close()
  })
})

describe('security headers and CORS', () => {
  let env: Awaited<ReturnType<typeof setup>>
  beforeAll(async () => {
    env = await setup({ rateLimits: false, corsOrigins: ['https://console.example.com'] })
  })
  afterAll(() => env.pstorage.close())

  it('sends secure headers, and CORS only to configured origins', async () => {
    const response = await env.app.request('/health', {
      headers: { origin: 'https://console.example.com' },
    })
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    expect(response.headers.get('access-control-allow-origin')).toBe('https://console.example.com')
    const other = await env.app.request('/health', {
      headers: { origin: 'https://evil.example.com' },
    })
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('serves Prometheus metrics to viewers only', async () => {
    expect((await env.app.request('/metrics')).status).toBe(401)
    const { access_token } = await env.login('admin')
    await env.call('/api/v1/volumes', { token: access_token })
    const text = await (await env.call('/metrics', { token: access_token })).text()
    expect(text).toMatch(
      /pstorage_http_requests_total\{method="GET",route="\/api\/v1\/volumes",status="200"\} 1/,
    )
    expect(text).toContain('pstorage_http_request_duration_seconds_bucket')
    expect(text).toMatch(/pstorage_reduction_ratio 1/)
    expect(text).toContain('pstorage_process_resident_memory_bytes')
  })
})
