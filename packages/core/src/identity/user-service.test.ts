import { describe, expect, it } from 'vitest'
import { PASSWORD, rejection, useIdentityFixture } from './test-kit.js'
import { ListUsersQuerySchema, UserListSchema, UserSchema } from './user-schemas.js'

const setup = useIdentityFixture()

describe('users.create', () => {
  it('creates a user (username lower-cased, role defaults to viewer)', async () => {
    const { identity } = await setup()
    const user = await identity.users.create({
      username: 'Alice.Smith',
      email: 'alice@example.com',
      password: PASSWORD,
    })
    expect(UserSchema.strict().parse(user)).toEqual(user)
    expect(user).toMatchObject({
      username: 'alice.smith',
      email: 'alice@example.com',
      full_name: null,
      role: 'viewer',
      status: 'active',
      is_active: true,
      created_at: '2025-01-15T10:00:00.000Z',
      last_login: null,
    })
  })

  it('refuses duplicates, bad usernames, weak passwords and unknown fields', async () => {
    const { identity } = await setup()
    const cases: Array<[unknown, string]> = [
      [{ username: 'ROOT', password: PASSWORD }, 'conflict'],
      [{ username: 'ab', password: PASSWORD }, 'validation_error'],
      [{ username: '-dash', password: PASSWORD }, 'validation_error'],
      [{ username: 'a b c', password: PASSWORD }, 'validation_error'],
      [{ username: 'shorty', password: 'short' }, 'validation_error'],
      [{ username: 'mass', password: PASSWORD, is_active: false }, 'validation_error'],
      [{ username: 'mass', password: PASSWORD, role: 'root' }, 'validation_error'],
      [{ username: 'mail', password: PASSWORD, email: 'not-an-email' }, 'validation_error'],
    ]
    for (const [input, code] of cases) {
      expect((await rejection(identity.users.create(input))).code, JSON.stringify(input)).toBe(code)
    }
  })
})

describe('users.list/get', () => {
  it('pages, sorts, searches and filters; total ignores paging', async () => {
    const { identity, addUser, advance } = await setup()
    for (const [name, role] of [
      ['carol', 'viewer'],
      ['bob', 'operator'],
      ['dave', 'viewer'],
    ] as const) {
      advance(1)
      await addUser(name, role)
    }
    const all = await identity.users.list({ sort: 'username' })
    expect(UserListSchema.parse(all)).toEqual(all)
    expect(all.users.map((u) => u.username)).toEqual(['bob', 'carol', 'dave', 'root'])
    const page = await identity.users.list({ sort: 'created_at', order: 'desc', limit: 2, skip: 1 })
    expect(page.users.map((u) => u.username)).toEqual(['bob', 'carol'])
    expect(page.total).toBe(4)
    const viewers = await identity.users.list({ role: 'viewer', sort: 'username' })
    expect(viewers.users.map((u) => u.username)).toEqual(['carol', 'dave'])
    expect((await identity.users.list({ search: 'AV' })).users.map((u) => u.username)).toEqual([
      'dave',
    ])
    expect((await identity.users.list({ is_active: 'false' })).total).toBe(0)
    expect((await identity.users.list({ is_active: true })).total).toBe(4)
    // The HTTP layer passes an already parsed query: it must parse again unchanged.
    const parsed = ListUsersQuerySchema.parse({ is_active: 'true', limit: '2', skip: '1' })
    expect((await identity.users.list(parsed)).users).toHaveLength(2)
    expect((await rejection(identity.users.list({ limit: 0 }))).code).toBe('validation_error')
    expect((await rejection(identity.users.get(crypto.randomUUID()))).code).toBe('not_found')
  })
})

describe('the last active admin', () => {
  it('cannot be demoted, disabled or deleted; can once another admin exists', async () => {
    const { identity, root, addUser } = await setup()
    const viewer = await addUser('vera', 'viewer')
    for (const patch of [{ role: 'operator' }, { is_active: false }]) {
      expect((await rejection(identity.users.update(root.id, patch))).code).toBe('conflict')
    }
    expect((await rejection(identity.users.delete(root.id, viewer))).code).toBe('conflict')
    expect((await identity.users.get(root.id)).role).toBe('admin')
    const second = await addUser('second', 'admin')
    // A disabled admin does not count as the other admin.
    await identity.users.update(second.id, { is_active: false })
    expect((await rejection(identity.users.update(root.id, { role: 'viewer' }))).code).toBe(
      'conflict',
    )
    await identity.users.update(second.id, { is_active: true })
    await expect(identity.users.update(root.id, { role: 'viewer' })).resolves.toMatchObject({
      role: 'viewer',
    })
  })
})

describe('users.update', () => {
  it('changes only the given fields; is_active: true lifts a lockout', async () => {
    const f = await setup()
    const alice = await f.addUser('alice', 'viewer')
    const updated = await f.identity.users.update(alice.id, {
      email: 'a@example.com',
      full_name: 'Alice',
    })
    expect(updated).toMatchObject({ email: 'a@example.com', full_name: 'Alice', role: 'viewer' })
    const cleared = await f.identity.users.update(alice.id, { email: null })
    expect(cleared).toMatchObject({ email: null, full_name: 'Alice' })
    for (let i = 0; i < 5; i++) {
      await rejection(f.identity.auth.login({ username: 'alice', password: 'wrong-pass' }))
    }
    expect((await f.identity.users.get(alice.id)).status).toBe('locked')
    expect((await f.identity.users.update(alice.id, { is_active: true })).status).toBe('active')
    await f.identity.auth.login({ username: 'alice', password: PASSWORD })
    const missing = await rejection(f.identity.users.update(crypto.randomUUID(), {}))
    expect(missing.code).toBe('not_found')
  })
})

describe('users.delete', () => {
  it('refuses self-deletion; removes the user with its sessions and keys', async () => {
    const { identity, db, root, addUser } = await setup()
    expect((await rejection(identity.users.delete(root.id, root))).code).toBe('conflict')
    const bob = await addUser('bob', 'operator')
    await identity.auth.login({ username: 'bob', password: PASSWORD })
    await identity.apiKeys.create({ name: 'k', role: 'viewer' }, bob)
    await identity.users.delete(bob.id, root)
    expect((await rejection(identity.users.get(bob.id))).code).toBe('not_found')
    const count = async (table: 'refresh_tokens' | 'api_keys') =>
      (
        await db
          .selectFrom(table)
          .selectAll()
          .where(table === 'api_keys' ? 'owner_id' : 'user_id', '=', bob.id)
          .execute()
      ).length
    expect(await count('refresh_tokens')).toBe(0)
    expect(await count('api_keys')).toBe(0)
    expect((await rejection(identity.users.delete(bob.id, root))).code).toBe('not_found')
  })
})

describe('users.changePassword', () => {
  it('needs the current password for your own; a wrong one counts toward lockout', async () => {
    const f = await setup()
    const alice = await f.addUser('alice', 'operator')
    const change = (input: object) => f.identity.users.changePassword(alice.id, input, alice)
    expect((await rejection(change({ new_password: 'new passphrase' }))).code).toBe(
      'validation_error',
    )
    for (let i = 0; i < 4; i++) {
      const bad = { current_password: 'wrong-pass', new_password: 'new passphrase' }
      expect((await rejection(change(bad))).code).toBe('forbidden')
    }
    await rejection(f.identity.auth.login({ username: 'alice', password: 'wrong-pass' }))
    const good = { current_password: PASSWORD, new_password: 'new passphrase' }
    expect((await rejection(change(good))).code).toBe('account_locked')
  })

  it('lets only admins reset others, without the current password', async () => {
    const f = await setup()
    const alice = await f.addUser('alice', 'operator')
    const bob = await f.addUser('bob', 'operator')
    const reset = { new_password: 'reset passphrase' }
    expect((await rejection(f.identity.users.changePassword(bob.id, reset, alice))).code).toBe(
      'forbidden',
    )
    const tokens = await f.identity.auth.login({ username: 'bob', password: PASSWORD })
    await f.identity.users.changePassword(bob.id, reset, f.root)
    const refresh = { refresh_token: tokens.refresh_token }
    expect((await rejection(f.identity.auth.refresh(refresh))).code).toBe('unauthorized')
    await f.identity.auth.login({ username: 'bob', password: 'reset passphrase' })
    const weak = { new_password: 'short' }
    expect((await rejection(f.identity.users.changePassword(bob.id, weak, f.root))).code).toBe(
      'validation_error',
    )
  })
})
