import { describe, expect, it } from 'vitest'
import { hashToken } from '../security/opaque-tokens.js'
import { ApiKeySchema, CreatedApiKeySchema } from './api-key-schemas.js'
import type { ApiKeyPrincipal } from './principal.js'
import { rejection, useIdentityFixture } from './test-kit.js'

const setup = useIdentityFixture()

describe('apiKeys.create', () => {
  it('shows the secret once; stores and lists only its hash-free DTO', async () => {
    const { identity, db, root } = await setup()
    const created = await identity.apiKeys.create({ name: 'ci', role: 'operator' }, root)
    expect(CreatedApiKeySchema.strict().parse(created)).toEqual(created)
    expect(created.api_key.startsWith(`${created.prefix}_`)).toBe(true)
    expect(created).toMatchObject({ owner_id: root.id, revoked_at: null, last_used_at: null })
    const row = await db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow()
    expect(row.key_hash).toBe(hashToken(created.api_key))
    expect(JSON.stringify(row)).not.toContain(created.api_key.slice(13))
    const listed = await identity.apiKeys.list()
    const got = await identity.apiKeys.get(created.id)
    expect(ApiKeySchema.strict().parse(got)).toEqual(got)
    for (const dto of [listed, got]) {
      const json = JSON.stringify(dto)
      expect(json).not.toContain(created.api_key)
      expect(json).not.toContain(row.key_hash)
      expect(json).not.toContain('api_key"')
    }
  })

  it("caps a key's role at its creator's; keys cannot mint keys", async () => {
    const { identity, addUser } = await setup()
    const op = await addUser('oper', 'operator')
    const error = await rejection(identity.apiKeys.create({ name: 'x', role: 'admin' }, op))
    expect(error.code).toBe('forbidden')
    const key = await identity.apiKeys.create({ name: 'x', role: 'viewer' }, op)
    const principal = await identity.auth.authenticateApiKey(key.api_key)
    const minted = await rejection(
      identity.apiKeys.create({ name: 'y', role: 'viewer' }, principal),
    )
    expect(minted.code).toBe('forbidden')
  })

  it('validates: strict body, expiry in the future', async () => {
    const { identity, root } = await setup()
    const past = { name: 'x', role: 'viewer', expires_at: '2020-01-01T00:00:00Z' }
    expect((await rejection(identity.apiKeys.create(past, root))).code).toBe('validation_error')
    const extra = { name: 'x', role: 'viewer', owner_id: root.id }
    expect((await rejection(identity.apiKeys.create(extra, root))).code).toBe('validation_error')
  })
})

describe('auth.authenticateApiKey', () => {
  it('authenticates a live key as its role, capped at its owner current role', async () => {
    const { identity, addUser } = await setup()
    const op = await addUser('oper', 'operator')
    const key = await identity.apiKeys.create({ name: 'ci', role: 'operator' }, op)
    const principal = await identity.auth.authenticateApiKey(`Bearer ${key.api_key}`)
    expect(principal).toEqual<ApiKeyPrincipal>({
      kind: 'api_key',
      id: key.id,
      name: 'ci',
      role: 'operator',
      owner_id: op.id,
    })
    await identity.users.update(op.id, { role: 'viewer' })
    expect((await identity.auth.authenticateApiKey(key.api_key)).role).toBe('viewer')
  })

  it('refuses tampered, unknown and malformed keys with one answer', async () => {
    const { identity, root } = await setup()
    const key = await identity.apiKeys.create({ name: 'ci', role: 'viewer' }, root)
    const last = key.api_key.at(-1) === 'A' ? 'B' : 'A'
    const tampered = `${key.api_key.slice(0, -1)}${last}`
    const unknown = `psk_aaaaaaaa_${key.api_key.slice(13)}`
    const errors = await Promise.all(
      [tampered, unknown, 'psk_nope', ''].map((k) =>
        rejection(identity.auth.authenticateApiKey(k)),
      ),
    )
    for (const error of errors) {
      expect(error.code).toBe('unauthorized')
      expect(error.detail).toBe('Invalid API key')
    }
  })

  it('refuses expired keys (clock)', async () => {
    const { identity, root, advance } = await setup()
    const expires_at = '2025-01-15T11:00:00Z' // T0 + 1 h
    const key = await identity.apiKeys.create({ name: 'ci', role: 'viewer', expires_at }, root)
    await identity.auth.authenticateApiKey(key.api_key)
    advance(3600)
    const error = await rejection(identity.auth.authenticateApiKey(key.api_key))
    expect(error.code).toBe('unauthorized')
  })

  it('refuses revoked keys; revoking twice is a no-op keeping the first time', async () => {
    const { identity, root, advance } = await setup()
    const key = await identity.apiKeys.create({ name: 'ci', role: 'viewer' }, root)
    await identity.auth.authenticateApiKey(key.api_key)
    await identity.apiKeys.revoke(key.id, root)
    expect((await rejection(identity.auth.authenticateApiKey(key.api_key))).code).toBe(
      'unauthorized',
    )
    const first = (await identity.apiKeys.get(key.id)).revoked_at
    expect(first).toBe('2025-01-15T10:00:00.000Z')
    advance(10)
    await identity.apiKeys.revoke(key.id, root)
    expect((await identity.apiKeys.get(key.id)).revoked_at).toBe(first)
    const missing = await rejection(identity.apiKeys.revoke(crypto.randomUUID(), root))
    expect(missing.code).toBe('not_found')
  })

  it('refuses keys of disabled owners', async () => {
    const { identity, addUser } = await setup()
    const op = await addUser('oper', 'operator')
    const key = await identity.apiKeys.create({ name: 'ci', role: 'viewer' }, op)
    await identity.users.update(op.id, { is_active: false })
    expect((await rejection(identity.auth.authenticateApiKey(key.api_key))).code).toBe(
      'unauthorized',
    )
  })

  it('records last_used_at at most once a minute', async () => {
    const { identity, root, advance } = await setup()
    const key = await identity.apiKeys.create({ name: 'ci', role: 'viewer' }, root)
    const lastUsed = async () => (await identity.apiKeys.get(key.id)).last_used_at
    await identity.auth.authenticateApiKey(key.api_key)
    expect(await lastUsed()).toBe('2025-01-15T10:00:00.000Z')
    advance(30)
    await identity.auth.authenticateApiKey(key.api_key)
    expect(await lastUsed()).toBe('2025-01-15T10:00:00.000Z')
    advance(31)
    await identity.auth.authenticateApiKey(key.api_key)
    expect(await lastUsed()).toBe('2025-01-15T10:01:01.000Z')
  })
})

describe('apiKeys.list/get/revoke scoping', () => {
  it("shows non-admins only their own keys; another's is not_found", async () => {
    const { identity, root, addUser } = await setup()
    const op = await addUser('oper', 'operator')
    const mine = await identity.apiKeys.create({ name: 'mine', role: 'viewer' }, op)
    const admins = await identity.apiKeys.create({ name: 'admins', role: 'admin' }, root)
    const ownList = await identity.apiKeys.list({ owner_id: root.id }, op)
    expect(ownList.api_keys.map((k) => k.name)).toEqual(['mine'])
    expect((await identity.apiKeys.list({}, root)).total).toBe(2)
    expect((await identity.apiKeys.list({ owner_id: root.id }, root)).total).toBe(1)
    expect((await rejection(identity.apiKeys.get(admins.id, op))).code).toBe('not_found')
    expect((await rejection(identity.apiKeys.revoke(admins.id, op))).code).toBe('not_found')
    await identity.apiKeys.revoke(mine.id, op)
    const search = await identity.apiKeys.list({ search: 'ADM', sort: 'name' }, root)
    expect(search.api_keys.map((k) => k.name)).toEqual(['admins'])
  })
})
