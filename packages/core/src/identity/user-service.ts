import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import { notFound, PStorageError } from '../errors.js'
import type { Clock } from '../ports/clock.js'
import type { IdGenerator } from '../ports/id-generator.js'
import type { PasswordHasher } from '../security/password-hasher.js'
import { parseInput } from '../services/validate.js'
import type { Database } from '../store/database.js'
import { uniqueViolationToConflict } from '../store/repositories.js'
import { toUser } from './dto.js'
import type { Lockout } from './lockout.js'
import { type Principal, principalUserId } from './principal.js'
import type { UserRow, UserRowUpdate } from './tables.js'
import { tokenRepository } from './token-repository.js'
import { userRepository } from './user-repository.js'
import {
  ChangePasswordRequestSchema,
  CreateUserRequestSchema,
  ListUsersQuerySchema,
  UpdateUserRequestSchema,
  type User,
  type UserList,
} from './user-schemas.js'

/** What the user service is built from (see `createIdentity`). */
export interface UserServiceDeps {
  readonly db: Kysely<Database>
  readonly clock: Clock
  readonly ids: IdGenerator
  readonly hasher: PasswordHasher
  readonly lockout: Lockout
}

/** What `users.ensureAdmin` did. `generatedPassword` is set only when it made one up. */
export interface EnsureAdminResult {
  readonly created: boolean
  readonly username: 'admin'
  readonly generatedPassword?: string
}

const isActiveAdmin = (row: UserRow) => row.role === 'admin' && Boolean(Number(row.is_active))
const lastAdmin = () =>
  new PStorageError('conflict', 'The last active admin cannot be deleted, demoted or disabled')

/**
 * User administration (seeds/002 roles ADMIN/OPERATOR/VIEWER). A role change, deactivation
 * or password change bumps the user's `token_version`, so access tokens already issued stop
 * working at once; there is always at least one active admin.
 *
 * @example
 * ```ts
 * const alice = await users.create({ username: 'alice', role: 'operator', password })
 * await users.update(alice.id, { role: 'viewer' })
 * ```
 */
export function createUserService(deps: UserServiceDeps) {
  const { db, clock, ids, hasher, lockout } = deps
  const users = userRepository(db)
  const tokens = tokenRepository(db)
  const now = () => clock.now()

  const row = async (id: string): Promise<UserRow> => {
    const found = await users.find(id)
    if (!found) throw notFound('User', id)
    return found
  }

  const service = {
    /** Users with paging, sorting, search (username, email, full name) and role/active filters. */
    async list(query?: unknown): Promise<UserList> {
      const { offset, skip, ...rest } = parseInput(ListUsersQuerySchema, query ?? {}, 'query')
      const page = await users.list({ ...rest, offset: offset ?? skip ?? 0 })
      const at = now()
      return { users: page.rows.map((r) => toUser(r, at)), total: page.total }
    },

    /** One user, or `not_found`. */
    async get(id: string): Promise<User> {
      return toUser(await row(id), now())
    },

    /** Creates a user; the password must pass the hasher's policy (`validation_error`). */
    async create(input: unknown): Promise<User> {
      const request = parseInput(CreateUserRequestSchema, input)
      const taken = `A user named '${request.username}' already exists`
      if (await users.findByUsername(request.username)) throw new PStorageError('conflict', taken)
      const at = now().toISOString()
      const newRow: UserRow = {
        id: ids.next(),
        username: request.username,
        email: request.email ?? null,
        full_name: request.full_name ?? null,
        role: request.role,
        password_hash: await hasher.hash(request.password),
        token_version: 0,
        failed_logins: 0,
        locked_until: null,
        is_active: 1,
        created_at: at,
        updated_at: at,
        last_login: null,
      }
      await users.insert(newRow).catch((error) => uniqueViolationToConflict(error, taken))
      return toUser(newRow, now())
    },

    /**
     * Changes email, full name, role or active flag. Role change and deactivation bump the
     * token version (deactivation also ends every session); `is_active: true` lifts a lockout.
     */
    async update(id: string, input: unknown): Promise<User> {
      const request = parseInput(UpdateUserRequestSchema, input)
      return db.transaction().execute(async (trx) => {
        const repo = userRepository(trx)
        const current = await repo.find(id)
        if (!current) throw notFound('User', id)
        const at = now().toISOString()
        const active = Boolean(Number(current.is_active))
        const roleChanged = request.role !== undefined && request.role !== current.role
        const deactivated = request.is_active === false && active
        if (isActiveAdmin(current) && (roleChanged || deactivated)) {
          if ((await repo.countOtherActiveAdmins(id)) === 0) throw lastAdmin()
        }
        const patch: UserRowUpdate = {
          ...(request.email !== undefined && { email: request.email }),
          ...(request.full_name !== undefined && { full_name: request.full_name }),
          ...(request.role !== undefined && { role: request.role }),
          ...(request.is_active !== undefined && { is_active: request.is_active ? 1 : 0 }),
          ...(request.is_active === true && { failed_logins: 0, locked_until: null }),
          updated_at: at,
        }
        if (roleChanged || deactivated) await repo.updateAndBump(id, patch)
        else await repo.update(id, patch)
        if (deactivated) await tokenRepository(trx).revokeUser(id, at)
        return toUser((await repo.find(id))!, now())
      })
    },

    /** Deletes a user with its sessions and API keys; not yourself, not the last admin. */
    async delete(id: string, actor: Principal): Promise<void> {
      if (principalUserId(actor) === id) {
        throw new PStorageError('conflict', 'You cannot delete your own account')
      }
      await db.transaction().execute(async (trx) => {
        const repo = userRepository(trx)
        const current = await repo.find(id)
        if (!current) throw notFound('User', id)
        if (isActiveAdmin(current) && (await repo.countOtherActiveAdmins(id)) === 0) {
          throw lastAdmin()
        }
        await repo.remove(id) // refresh_tokens and api_keys go with it (ON DELETE CASCADE)
      })
    },

    /**
     * Sets a new password. Your own needs `current_password` (a wrong one counts toward the
     * lockout, so this is no way around it); only an admin may reset another user's. Bumps
     * the token version, lifts any lockout and ends every session of the user.
     */
    async changePassword(id: string, input: unknown, actor: Principal): Promise<void> {
      const request = parseInput(ChangePasswordRequestSchema, input)
      const self = principalUserId(actor) === id
      if (!self && actor.role !== 'admin') {
        throw new PStorageError('forbidden', "Only an admin may set another user's password")
      }
      const current = await row(id)
      if (self) {
        if (request.current_password === undefined) {
          const issue = { path: 'current_password', message: 'required to change your own' }
          throw new PStorageError(
            'validation_error',
            'Invalid request: current_password: required',
            {
              details: { issues: [issue] },
            },
          )
        }
        const wait = lockout.lockedFor(current.username, current)
        if (wait > 0) throw lockout.lockedError(wait)
        if (!(await hasher.verify(request.current_password, current.password_hash))) {
          await lockout.fail(current.username, current)
          throw new PStorageError('forbidden', 'Current password is incorrect')
        }
      }
      const passwordHash = await hasher.hash(request.new_password)
      const at = now().toISOString()
      await users.updateAndBump(id, {
        password_hash: passwordHash,
        failed_logins: 0,
        locked_until: null,
        updated_at: at,
      })
      await tokens.revokeUser(id, at)
    },

    /**
     * First-run bootstrap: if there is no user at all, creates `admin` (role admin) with
     * `password`, or with a generated 192-bit one returned once in `generatedPassword`.
     */
    async ensureAdmin(input: { password?: string } = {}): Promise<EnsureAdminResult> {
      if ((await users.count()) > 0) return { created: false, username: 'admin' }
      const generated =
        input.password === undefined ? randomBytes(24).toString('base64url') : undefined
      try {
        await service.create({
          username: 'admin',
          full_name: 'System Administrator',
          role: 'admin',
          password: input.password ?? generated,
        })
      } catch (error) {
        // Another process bootstrapped first: that admin stands.
        if (error instanceof PStorageError && error.code === 'conflict') {
          return { created: false, username: 'admin' }
        }
        throw error
      }
      return generated === undefined
        ? { created: true, username: 'admin' }
        : { created: true, username: 'admin', generatedPassword: generated }
    },
  }
  return Object.freeze(service)
}

export type UserService = ReturnType<typeof createUserService>
