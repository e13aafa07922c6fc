import { randomBytes } from 'node:crypto'
import { afterEach } from 'vitest'
import { isPStorageError, type PStorageError } from '../errors.js'
import type { Clock } from '../ports/clock.js'
import { uuidGenerator } from '../ports/id-generator.js'
import { createJwtService } from '../security/jwt.js'
import { createScryptHasher, type PasswordHasher } from '../security/password-hasher.js'
import { createSqliteStore } from '../store/sqlite.js'
import { createIdentity } from './identity.js'
import type { IdentityOptions } from './options.js'
import type { UserPrincipal } from './principal.js'

/** Start of test time. */
export const T0 = new Date('2025-01-15T10:00:00.000Z')
/** Password of the fixture's users. */
export const PASSWORD = 'correct horse battery staple'

/**
 * A migrated in-memory identity with no users, a controllable clock and cheap scrypt (N=2^4,
 * so a suite runs in seconds) behind a hasher that counts its calls. For the identity tests.
 *
 * @example
 * ```ts
 * const { identity, store } = await emptyIdentity()
 * await identity.users.ensureAdmin()
 * ```
 */
export async function emptyIdentity(options?: IdentityOptions) {
  const store = createSqliteStore({ filename: ':memory:' })
  await store.migrate()
  let now = T0.getTime()
  const clock: Clock = { now: () => new Date(now) }
  const advance = (seconds: number) => {
    now += seconds * 1000
  }
  const scrypt = createScryptHasher({ params: { cost: 4 } })
  const calls = { verify: 0, hash: 0 }
  const hasher: PasswordHasher = {
    hash(password) {
      calls.hash++
      return scrypt.hash(password)
    },
    verify(password, encoded) {
      calls.verify++
      return scrypt.verify(password, encoded)
    },
    needsRehash: (encoded) => scrypt.needsRehash(encoded),
  }
  const jwt = createJwtService({
    secret: randomBytes(32),
    issuer: 'https://pstorage.test',
    audience: 'pstorage-api',
    clock,
  })
  const identity = createIdentity({ db: store.db, clock, ids: uuidGenerator, hasher, jwt, options })
  return { store, db: store.db, identity, clock, advance, calls, jwt }
}

/**
 * {@link emptyIdentity} with one admin, `root` (password {@link PASSWORD}), and `addUser`.
 *
 * @example
 * ```ts
 * const { identity, advance, root } = await identityFixture({ maxFailedLogins: 3 })
 * ```
 */
export async function identityFixture(options?: IdentityOptions) {
  const base = await emptyIdentity(options)
  const { identity } = base
  /** Creates a user and returns its principal. */
  const addUser = async (username: string, role: 'admin' | 'operator' | 'viewer') => {
    const user = await identity.users.create({ username, role, password: PASSWORD })
    const principal: UserPrincipal = { kind: 'user', id: user.id, username, role }
    return principal
  }
  const root = await addUser('root', 'admin')
  return { ...base, root, addUser }
}

/**
 * The `PStorageError` a promise rejects with; fails the test if it resolves or rejects with
 * anything else.
 *
 * @example
 * ```ts
 * expect((await rejection(auth.login(bad))).code).toBe('unauthorized')
 * ```
 */
export async function rejection(promise: Promise<unknown>): Promise<PStorageError> {
  const outcome = await promise.then(
    () => new Error('expected a rejection, got a value'),
    (error: unknown) => error,
  )
  if (!isPStorageError(outcome)) throw outcome
  return outcome
}

/**
 * Registers an `afterEach` that closes the fixture a test made, and returns the function
 * that makes it: `const setup = useIdentityFixture()` at the top of a test file.
 */
export function useIdentityFixture(options?: IdentityOptions) {
  let fixture: Awaited<ReturnType<typeof identityFixture>> | undefined
  afterEach(async () => {
    await fixture?.store.close()
    fixture = undefined
  })
  return async () => {
    fixture = await identityFixture(options)
    return fixture
  }
}
