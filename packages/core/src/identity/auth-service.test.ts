import { afterEach, describe, expect, it } from 'vitest'
import { hashToken } from '../security/opaque-tokens.js'
import { TokenResponseSchema } from './auth-schemas.js'
import { identityFixture, PASSWORD, rejection } from './test-kit.js'

type Fixture = Awaited<ReturnType<typeof identityFixture>>
let fixture: Fixture | undefined
const setup = async (options?: Parameters<typeof identityFixture>[0]) => {
  fixture = await identityFixture(options)
  return fixture
}
afterEach(async () => {
  await fixture?.store.close()
  fixture = undefined
})

describe('auth.login', () => {
  it('returns a seeds/003 token pair whose access token authenticates', async () => {
    const { identity, root } = await setup()
    const tokens = await identity.auth.login({ username: 'ROOT', password: PASSWORD })
    expect(TokenResponseSchema.parse(tokens)).toEqual(tokens)
    expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 900 })
    const principal = await identity.auth.authenticate(`Bearer ${tokens.access_token}`)
    expect(principal).toMatchObject({ kind: 'user', id: root.id, username: 'root', role: 'admin' })
    expect((await identity.users.get(root.id)).last_login).toBe('2025-01-15T10:00:00.000Z')
  })

  it('answers unknown user, wrong password and disabled account alike, after equal work', async () => {
    const { identity, calls, addUser } = await setup()
    const bob = await addUser('bob', 'viewer')
    await identity.users.update(bob.id, { is_active: false })
    const before = calls.verify
    const unknown = await rejection(identity.auth.login({ username: 'nobody', password: PASSWORD }))
    const wrong = await rejection(identity.auth.login({ username: 'root', password: 'wrong-pass' }))
    const disabled = await rejection(identity.auth.login({ username: 'bob', password: PASSWORD }))
    expect(calls.verify - before).toBe(3)
    for (const error of [unknown, wrong, disabled]) {
      expect(error.code).toBe('unauthorized')
      expect(error.detail).toBe(unknown.detail)
      expect(error.details).toEqual(unknown.details)
    }
  })

  it('rejects unknown fields (strict schema)', async () => {
    const { identity } = await setup()
    const error = await rejection(
      identity.auth.login({ username: 'root', password: PASSWORD, role: 'admin' }),
    )
    expect(error.code).toBe('validation_error')
  })

  it('locks after maxFailedLogins failures, even for the right password, until it expires', async () => {
    const { identity, advance, root, calls } = await setup({
      maxFailedLogins: 3,
      lockoutSeconds: 600,
    })
    const wrong = () => identity.auth.login({ username: 'root', password: 'wrong-pass' })
    const right = () => identity.auth.login({ username: 'root', password: PASSWORD })
    for (let i = 0; i < 3; i++) expect((await rejection(wrong())).code).toBe('unauthorized')
    const verifies = calls.verify
    const locked = await rejection(right())
    expect(locked.code).toBe('account_locked')
    expect(locked.status).toBe(423)
    expect(locked.details).toEqual({ retry_after_seconds: 600 })
    expect(calls.verify).toBe(verifies) // no password check while locked
    expect((await identity.users.get(root.id)).status).toBe('locked')
    const audit = await identity.audit.list({ action: 'auth.account_locked' })
    expect(audit.entries).toMatchObject([{ resource_id: root.id, outcome: 'denied' }])
    advance(599)
    expect((await rejection(right())).code).toBe('account_locked')
    advance(1)
    await expect(right()).resolves.toMatchObject({ token_type: 'bearer' })
    expect((await identity.users.get(root.id)).status).toBe('active')
  })

  it('counts consecutive failures only: a success resets the count', async () => {
    const { identity } = await setup({ maxFailedLogins: 3 })
    const wrong = () => identity.auth.login({ username: 'root', password: 'wrong-pass' })
    await rejection(wrong())
    await rejection(wrong())
    await identity.auth.login({ username: 'root', password: PASSWORD })
    await rejection(wrong())
    await rejection(wrong())
    await expect(
      identity.auth.login({ username: 'root', password: PASSWORD }),
    ).resolves.toBeTruthy()
  })

  it('locks unknown usernames the same way, so 423 does not reveal accounts', async () => {
    const { identity } = await setup({ maxFailedLogins: 2 })
    const ghost = () => identity.auth.login({ username: 'ghost', password: 'wrong-pass' })
    await rejection(ghost())
    await rejection(ghost())
    const error = await rejection(ghost())
    expect(error.code).toBe('account_locked')
  })
})

describe('auth.refresh', () => {
  it('rotates: the old token is spent, the new one works', async () => {
    const { identity, db } = await setup()
    const first = await identity.auth.login({ username: 'root', password: PASSWORD })
    const second = await identity.auth.refresh({ refresh_token: first.refresh_token })
    expect(second.refresh_token).not.toBe(first.refresh_token)
    await identity.auth.authenticate(second.access_token)
    const third = await identity.auth.refresh({ refresh_token: second.refresh_token })
    expect(TokenResponseSchema.parse(third).token_type).toBe('bearer')
    // Only hashes are stored.
    const rows = await db.selectFrom('refresh_tokens').selectAll().execute()
    expect(rows.map((r) => r.token_hash)).toContain(hashToken(first.refresh_token))
    expect(JSON.stringify(rows)).not.toContain(first.refresh_token)
  })

  it('revokes the whole family when a used token is presented again', async () => {
    const { identity } = await setup()
    const other = await identity.auth.login({ username: 'root', password: PASSWORD })
    const first = await identity.auth.login({ username: 'root', password: PASSWORD })
    const second = await identity.auth.refresh({ refresh_token: first.refresh_token })
    const reuse = await rejection(identity.auth.refresh({ refresh_token: first.refresh_token }))
    expect(reuse.code).toBe('unauthorized')
    const after = await rejection(identity.auth.refresh({ refresh_token: second.refresh_token }))
    expect(after.code).toBe('unauthorized')
    await expect(
      identity.auth.refresh({ refresh_token: other.refresh_token }),
    ).resolves.toBeTruthy()
    const audit = await identity.audit.list({ action: 'auth.refresh_token_reuse' })
    expect(audit.total).toBe(1)
  })

  it('refuses expired tokens and ends a family at its absolute lifetime', async () => {
    const { identity, advance } = await setup({
      refreshTokenTtlSeconds: 100,
      refreshFamilyTtlSeconds: 250,
    })
    const login = () => identity.auth.login({ username: 'root', password: PASSWORD })
    const idle = await login()
    advance(100)
    expect(
      (await rejection(identity.auth.refresh({ refresh_token: idle.refresh_token }))).code,
    ).toBe('unauthorized')
    let tokens = await login()
    for (let i = 0; i < 2; i++) {
      advance(90) // each rotation is within the token TTL...
      tokens = await identity.auth.refresh({ refresh_token: tokens.refresh_token })
    }
    advance(71) // ...but 251 s after login the family is over
    const error = await rejection(identity.auth.refresh({ refresh_token: tokens.refresh_token }))
    expect(error.code).toBe('unauthorized')
  })

  it('refuses malformed and unknown tokens alike', async () => {
    const { identity } = await setup()
    const malformed = await rejection(identity.auth.refresh({ refresh_token: 'nope' }))
    const unknown = await rejection(identity.auth.refresh({ refresh_token: 'A'.repeat(43) }))
    expect([malformed.code, unknown.code]).toEqual(['unauthorized', 'unauthorized'])
    expect(malformed.detail).toBe(unknown.detail)
  })
})

describe('auth.logout', () => {
  it('revokes the family and denylists the access token; idempotent', async () => {
    const { identity } = await setup()
    const tokens = await identity.auth.login({ username: 'root', password: PASSWORD })
    const principal = await identity.auth.authenticate(tokens.access_token)
    await identity.auth.logout({ refresh_token: tokens.refresh_token }, principal)
    await identity.auth.logout({ refresh_token: tokens.refresh_token }, principal)
    await identity.auth.logout({ refresh_token: 'B'.repeat(43) })
    const refresh = await rejection(identity.auth.refresh({ refresh_token: tokens.refresh_token }))
    expect(refresh.code).toBe('unauthorized')
    const access = await rejection(identity.auth.authenticate(tokens.access_token))
    expect(access.code).toBe('unauthorized')
  })

  it("leaves another user's session alone", async () => {
    const { identity, addUser } = await setup()
    const mallory = await addUser('mallory', 'viewer')
    const tokens = await identity.auth.login({ username: 'root', password: PASSWORD })
    await identity.auth.logout({ refresh_token: tokens.refresh_token }, mallory)
    await expect(
      identity.auth.refresh({ refresh_token: tokens.refresh_token }),
    ).resolves.toBeTruthy()
  })

  it('logoutAll ends every access token and session of the user', async () => {
    const { identity, root } = await setup()
    const a = await identity.auth.login({ username: 'root', password: PASSWORD })
    const b = await identity.auth.login({ username: 'root', password: PASSWORD })
    await identity.auth.logoutAll(root)
    for (const tokens of [a, b]) {
      expect((await rejection(identity.auth.authenticate(tokens.access_token))).code).toBe(
        'unauthorized',
      )
      const refresh = { refresh_token: tokens.refresh_token }
      expect((await rejection(identity.auth.refresh(refresh))).code).toBe('unauthorized')
    }
  })
})
