import { ApiError, PStorageClient, type Tokens } from '@pstorage/client'
import { type Clock, createPStorage, createScryptHasher } from '@pstorage/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startServer } from '../src/node.js'

/**
 * The generated client's session handling against a real server on loopback, with the
 * server's clock moved by hand so access tokens expire on demand.
 */
let now = Date.now()
const clock: Clock = { now: () => new Date(now) }
let server: RunningServer
let close: () => Promise<void>

beforeAll(async () => {
  const pstorage = await createPStorage({
    clock,
    hasher: createScryptHasher({ params: { cost: 10 } }),
  })
  await pstorage.identity.users.ensureAdmin({ password: 'session password' })
  server = await startServer(pstorage, { port: 0, rateLimits: false })
  close = async () => {
    await server.close()
    await pstorage.close()
  }
})
afterAll(() => close?.())

describe('client sessions', () => {
  it('refreshes an expired access token by itself, rotating the refresh token', async () => {
    const seen: (Tokens | undefined)[] = []
    const client = new PStorageClient({
      baseUrl: server.url,
      retries: 0,
      onTokens: (t) => seen.push(t),
    })
    const first = await client.login({ username: 'admin', password: 'session password' })
    expect((await client.getMe()).username).toBe('admin')
    now += 16 * 60 * 1000 // the access token (15 min) has expired
    expect((await client.listVolumes()).total).toBe(0)
    expect(client.tokens?.refresh_token).not.toBe(first.refresh_token)
    expect(seen).toHaveLength(2)
    await client.logout()
    expect(client.tokens).toBeUndefined()
    const error = await client.getMe().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).status).toBe(401)
  })

  it('gives up cleanly when the refresh token is no longer valid', async () => {
    const client = new PStorageClient({ baseUrl: server.url, retries: 0 })
    await client.login({ username: 'admin', password: 'session password' })
    now += 31 * 24 * 3600 * 1000 // past the whole session's lifetime
    const error = await client.listVolumes().catch((e: unknown) => e)
    expect((error as ApiError).status).toBe(401)
    expect(client.tokens).toBeUndefined()
  })

  it('authenticates with an API key and never tries to refresh it', async () => {
    const admin = new PStorageClient({ baseUrl: server.url, retries: 0 })
    await admin.login({ username: 'admin', password: 'session password' })
    const key = await admin.createApiKey({ name: 'script', role: 'operator' })
    const scripted = new PStorageClient({ baseUrl: server.url, apiKey: key.api_key, retries: 0 })
    const volume = await scripted.createVolume({ name: 'by-key', size_gb: 1 })
    expect(volume.name).toBe('by-key')
    const denied = await scripted.listUsers().catch((e: unknown) => e)
    expect((denied as ApiError).status).toBe(403)
    await scripted.deleteVolume(volume.id)
  })
})

describe('user management through the client', () => {
  it('creates, lists, updates and deletes users; refuses bad input and the last admin', async () => {
    const admin = new PStorageClient({ baseUrl: server.url, retries: 0 })
    await admin.login({ username: 'admin', password: 'session password' })
    const bob = await admin.createUser({
      username: 'bob',
      password: 'bobs long password',
      role: 'viewer',
    })
    expect(bob).toMatchObject({
      username: 'bob',
      role: 'viewer',
      status: 'active',
      is_active: true,
    })
    expect(JSON.stringify(bob)).not.toMatch(/hash|scrypt/)
    expect((await admin.listUsers({ search: 'bo' })).users.map((u) => u.username)).toEqual(['bob'])
    expect((await admin.updateUser(bob.id, { role: 'operator' })).role).toBe('operator')

    const failures: [() => Promise<unknown>, number][] = [
      [
        () => admin.createUser({ username: 'bob', password: 'another long one', role: 'viewer' }),
        409,
      ],
      [
        () =>
          admin.createUser({ username: 'Bad Name!', password: 'another long one', role: 'viewer' }),
        422,
      ],
      [() => admin.createUser({ username: 'carol', password: 'short', role: 'viewer' }), 422],
      [
        () =>
          admin.createUser({
            username: 'carol',
            password: 'long enough pw',
            role: 'root' as 'admin',
          }),
        422,
      ],
      [() => admin.getUser('00000000-0000-4000-8000-000000000000'), 404],
      [async () => admin.deleteUser((await admin.getMe()).id), 409],
    ]
    for (const [call, status] of failures) {
      const error = await call().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ApiError)
      expect((error as ApiError).status, String(call)).toBe(status)
    }
    const viewer = new PStorageClient({ baseUrl: server.url, retries: 0 })
    await viewer.login({ username: 'bob', password: 'bobs long password' })
    expect(((await viewer.listUsers().catch((e: unknown) => e)) as ApiError).status).toBe(403)
    await admin.deleteUser(bob.id)
    expect((await admin.listUsers()).users.map((u) => u.username)).toEqual(['admin'])
  })
})
