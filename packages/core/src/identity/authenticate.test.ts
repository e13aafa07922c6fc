import { describe, expect, it } from 'vitest'
import { PASSWORD, rejection, useIdentityFixture } from './test-kit.js'
import { UserSchema } from './user-schemas.js'

const setup = useIdentityFixture()

/** Logs `username` in and checks the access token works, so a later rejection means something. */
async function session(f: Awaited<ReturnType<typeof setup>>, username: string) {
  const tokens = await f.identity.auth.login({ username, password: PASSWORD })
  const principal = await f.identity.auth.authenticate(tokens.access_token)
  return { tokens, principal }
}

describe('auth.authenticate: token_version and expiry', () => {
  it('rejects tokens issued before a password change, and ends the sessions', async () => {
    const f = await setup()
    const alice = await f.addUser('alice', 'operator')
    const { tokens, principal } = await session(f, 'alice')
    await f.identity.users.changePassword(
      alice.id,
      { current_password: PASSWORD, new_password: 'another long passphrase' },
      principal,
    )
    const error = await rejection(f.identity.auth.authenticate(tokens.access_token))
    expect(error.code).toBe('unauthorized')
    const refresh = { refresh_token: tokens.refresh_token }
    expect((await rejection(f.identity.auth.refresh(refresh))).code).toBe('unauthorized')
    const old = await rejection(f.identity.auth.login({ username: 'alice', password: PASSWORD }))
    expect(old.code).toBe('unauthorized')
    const fresh = await f.identity.auth.login({
      username: 'alice',
      password: 'another long passphrase',
    })
    await expect(f.identity.auth.authenticate(fresh.access_token)).resolves.toMatchObject({
      username: 'alice',
    })
  })

  it('rejects tokens issued before a role change; new tokens carry the new role', async () => {
    const f = await setup()
    const alice = await f.addUser('alice', 'operator')
    const { tokens } = await session(f, 'alice')
    await f.identity.users.update(alice.id, { role: 'viewer' })
    expect((await rejection(f.identity.auth.authenticate(tokens.access_token))).code).toBe(
      'unauthorized',
    )
    const { principal } = await session(f, 'alice')
    expect(principal.role).toBe('viewer')
  })

  it('keeps tokens valid across changes that are not security relevant', async () => {
    const f = await setup()
    const alice = await f.addUser('alice', 'operator')
    const { tokens } = await session(f, 'alice')
    await f.identity.users.update(alice.id, { full_name: 'Alice A.', role: 'operator' })
    await expect(f.identity.auth.authenticate(tokens.access_token)).resolves.toBeTruthy()
  })

  it('rejects tokens of deactivated and deleted users', async () => {
    const f = await setup()
    const alice = await f.addUser('alice', 'viewer')
    const bob = await f.addUser('bob', 'viewer')
    const a = await session(f, 'alice')
    const b = await session(f, 'bob')
    await f.identity.users.update(alice.id, { is_active: false })
    await f.identity.users.delete(bob.id, f.root)
    for (const s of [a, b]) {
      const error = await rejection(f.identity.auth.authenticate(s.tokens.access_token))
      expect(error.code).toBe('unauthorized')
    }
    // Re-enabling the account does not bring its old sessions back.
    await f.identity.users.update(alice.id, { is_active: true })
    const refresh = { refresh_token: a.tokens.refresh_token }
    expect((await rejection(f.identity.auth.refresh(refresh))).code).toBe('unauthorized')
    expect((await rejection(f.identity.auth.authenticate(a.tokens.access_token))).code).toBe(
      'unauthorized',
    )
  })

  it('rejects an expired access token (clock), with reason expired', async () => {
    const f = await setup()
    const { tokens } = await session(f, 'root')
    f.advance(900 + 61) // ttl plus the 60 s skew tolerance
    const error = await rejection(f.identity.auth.authenticate(tokens.access_token))
    expect(error.code).toBe('unauthorized')
    expect(error.details).toEqual({ reason: 'expired' })
  })

  it('rejects garbage', async () => {
    const f = await setup()
    for (const bad of ['', 'Bearer ', 'not.a.jwt', 'x'.repeat(5000)]) {
      expect((await rejection(f.identity.auth.authenticate(bad))).code).toBe('unauthorized')
    }
  })
})

describe('auth.me', () => {
  it("returns the user DTO, and an API key's owner", async () => {
    const f = await setup()
    const { principal } = await session(f, 'root')
    const me = await f.identity.auth.me(principal)
    expect(UserSchema.strict().parse(me)).toEqual(me)
    expect(me).toMatchObject({ username: 'root', role: 'admin', status: 'active', is_active: true })
    const key = await f.identity.apiKeys.create({ name: 'ci', role: 'viewer' }, principal)
    const keyPrincipal = await f.identity.auth.authenticateApiKey(key.api_key)
    expect((await f.identity.auth.me(keyPrincipal)).id).toBe(f.root.id)
  })
})
