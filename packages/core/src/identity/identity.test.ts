import { afterEach, describe, expect, it } from 'vitest'
import { IDENTITY_MIGRATIONS } from './migrations.js'
import { resolveIdentityOptions } from './options.js'
import { emptyIdentity, identityFixture, PASSWORD, rejection } from './test-kit.js'

let fixture: Awaited<ReturnType<typeof emptyIdentity>> | undefined
afterEach(async () => {
  await fixture?.store.close()
  fixture = undefined
})

describe('createIdentity', () => {
  it('returns frozen services; the audit log has no way to change an entry', async () => {
    fixture = await identityFixture()
    const { identity } = fixture
    expect(Object.isFrozen(identity)).toBe(true)
    for (const service of Object.values(identity)) expect(Object.isFrozen(service)).toBe(true)
    expect(Object.keys(identity.audit).sort()).toEqual(['list', 'record'])
  })

  it('refuses bad options at construction', () => {
    expect(() => resolveIdentityOptions({ maxFailedLogins: 0 })).toThrow(/maxFailedLogins/)
    expect(() => resolveIdentityOptions({ lockoutSeconds: 1.5 })).toThrow(/lockoutSeconds/)
    expect(() =>
      resolveIdentityOptions({ refreshTokenTtlSeconds: 100, refreshFamilyTtlSeconds: 50 }),
    ).toThrow(/refreshTokenTtlSeconds/)
    expect(resolveIdentityOptions({ maxFailedLogins: undefined }).maxFailedLogins).toBe(5)
  })
})

describe('users.ensureAdmin', () => {
  it('creates admin once, with a generated password that logs in; then does nothing', async () => {
    fixture = await emptyIdentity()
    const { identity } = fixture
    const first = await identity.users.ensureAdmin()
    expect(first.created).toBe(true)
    expect(first.username).toBe('admin')
    expect(first.generatedPassword).toMatch(/^[\w-]{32}$/)
    const tokens = await identity.auth.login({
      username: 'admin',
      password: first.generatedPassword,
    })
    const me = await identity.auth.me(await identity.auth.authenticate(tokens.access_token))
    expect(me).toMatchObject({
      username: 'admin',
      role: 'admin',
      full_name: 'System Administrator',
    })
    const second = await identity.users.ensureAdmin({ password: 'another passphrase' })
    expect(second).toEqual({ created: false, username: 'admin' })
    expect((await identity.users.list()).total).toBe(1)
  })

  it('uses the given password; does nothing when any user exists', async () => {
    fixture = await emptyIdentity()
    const result = await fixture.identity.users.ensureAdmin({ password: 'given passphrase' })
    expect(result).toEqual({ created: true, username: 'admin' })
    await fixture.identity.auth.login({ username: 'admin', password: 'given passphrase' })
    await fixture.store.close()
    fixture = await identityFixture() // has `root`, an admin under another name
    expect(await fixture.identity.users.ensureAdmin({ password: PASSWORD })).toEqual({
      created: false,
      username: 'admin',
    })
    expect((await fixture.identity.users.list()).total).toBe(1)
  })

  it('refuses a weak given password', async () => {
    fixture = await emptyIdentity()
    const error = await rejection(fixture.identity.users.ensureAdmin({ password: 'admin' }))
    expect(error.code).toBe('validation_error')
  })
})

describe('DTOs never carry hashes or secrets', () => {
  it('holds for every answer of every service', async () => {
    const f = await identityFixture()
    fixture = f
    const { identity, db, root, addUser } = f
    const alice = await addUser('alice', 'operator')
    const tokens = await identity.auth.login({ username: 'alice', password: PASSWORD })
    const principal = await identity.auth.authenticate(tokens.access_token)
    const key = await identity.apiKeys.create({ name: 'ci', role: 'viewer' }, root)
    await identity.audit.record({ action: 'test', outcome: 'success', detail: key.api_key })
    const answers = [
      await identity.users.get(alice.id),
      await identity.users.list(),
      await identity.users.update(alice.id, { full_name: 'Alice' }),
      await identity.auth.me(principal),
      await identity.apiKeys.list(),
      await identity.apiKeys.get(key.id),
      await identity.audit.list(),
    ]
    const users = await db.selectFrom('users').selectAll().execute()
    const secrets = [
      ...users.map((u) => u.password_hash),
      (await db.selectFrom('api_keys').select('key_hash').executeTakeFirstOrThrow()).key_hash,
      key.api_key,
      PASSWORD,
    ]
    for (const answer of answers) {
      const json = JSON.stringify(answer)
      for (const secret of secrets) expect(json).not.toContain(secret)
      for (const field of ['password', 'hash', 'token_version', 'failed_logins', 'locked_until']) {
        expect(json).not.toContain(field)
      }
    }
  })
})

describe('0003_identity', () => {
  it('uses only portable SQL', () => {
    const sql = Object.values(IDENTITY_MIGRATIONS).flat().join('\n').toUpperCase()
    for (const word of ['AUTOINCREMENT', 'SERIAL', 'JSON', 'BOOLEAN', 'DATETIME', ' WHERE ']) {
      expect(sql).not.toContain(word)
    }
  })
})
