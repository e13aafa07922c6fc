import {
  type BlockEngine,
  createMemoryBlockEngine,
  createPStorage,
  createScryptHasher,
  PStorageError,
} from '@pstorage/core'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { createApp } from '../src/index.js'

/**
 * Engine faults on demand. A test double because no real engine fails at will; it wraps
 * the reference engine and throws from one method.
 */
function failing(method: keyof BlockEngine, error: Error): BlockEngine {
  const engine = createMemoryBlockEngine()
  return { ...engine, [method]: async () => Promise.reject(error) }
}

/** An app over `engine` whose logged errors are collected, and a fetch with an admin session. */
async function appWith(engine: BlockEngine) {
  const logged: unknown[] = []
  const hasher = createScryptHasher({ params: { cost: 10 } })
  const pstorage = await createPStorage({ engine, hasher })
  await pstorage.identity.users.ensureAdmin({ password: 'app test password' })
  const logger = pino(
    { level: 'error' },
    { write: (line: string) => void logged.push(JSON.parse(line)) },
  )
  const app = createApp(pstorage, { logger, rateLimits: false })
  const login = await app.request('/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'app test password' }),
  })
  const loginBody = await login.text()

  const { access_token } = JSON.parse(loginBody) as { access_token: string }
  const request = (path: string, init: RequestInit = {}) =>
    app.request(path, {
      ...init,
      headers: { ...init.headers, authorization: `Bearer ${access_token}` },
    })
  return { app, request, logged, pstorage }
}

describe('createApp error mapping', () => {
  it('hides an unexpected error behind a 500 in the error shape, and logs it', async () => {
    const { request, logged } = await appWith(
      failing('createVolume', new Error('disk on fire at /secret/path')),
    )
    const response = await request('/api/v1/volumes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'a', size_gb: 1 }),
    })
    expect(response.status).toBe(500)
    const body = await response.json()
    expect(body).toEqual({
      error: 'internal_error',
      detail: 'Internal server error',
      request_id: expect.any(String),
    })
    expect(JSON.stringify(body)).not.toContain('secret')
    expect(logged).toHaveLength(1)
  })

  it('maps engine error codes to their statuses (data_corruption 500, insufficient_capacity 507)', async () => {
    for (const [code, status] of [
      ['data_corruption', 500],
      ['insufficient_capacity', 507],
    ] as const) {
      const { request, pstorage } = await appWith(
        failing('write', new PStorageError(code, `engine says ${code}`)),
      )
      const volume = await pstorage.volumes.create({ name: 'v', size_gb: 1 })
      const response = await request(`/api/v1/volumes/${volume.id}/write`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ offset: 0, data: 'AAAA' }),
      })
      expect(response.status).toBe(status)
      expect(await response.json()).toMatchObject({ error: code, detail: `engine says ${code}` })
    }
  })

  it('answers 503 with the health document when the engine does not answer', async () => {
    const { app } = await appWith(failing('stats', new Error('engine stalled')))
    const response = await app.request('/health')
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({
      status: 'unhealthy',
      reduction_ratio: 1,
      cluster_enabled: false,
    })
  })

  it('gives every answer a request id header, and echoes a caller-supplied one', async () => {
    const { app } = await appWith(createMemoryBlockEngine())
    expect((await app.request('/health')).headers.get('x-request-id')).toMatch(/\S/)
    const echoed = await app.request('/api/v1/volumes/missing', {
      headers: { 'x-request-id': 'trace-42' },
    })
    expect(echoed.headers.get('x-request-id')).toBe('trace-42')
    expect(((await echoed.json()) as { request_id: string }).request_id).toBe('trace-42')
  })
})
