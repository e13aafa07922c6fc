import { PStorageError } from '../errors.js'
import type { Clock } from '../ports/clock.js'
import type { AuditService } from './audit-service.js'
import type { ResolvedIdentityOptions } from './options.js'
import type { UserRow } from './tables.js'
import type { UserRepository } from './user-repository.js'

/** Where a login attempt came from, for the audit entry of a lockout. */
export interface LoginContext {
  readonly ip?: string
  readonly userAgent?: string
}

// Bounds the memory of unknown-username tracking against floods of made-up names (API4).
const MAX_PHANTOMS = 10_000

/**
 * Account lockout after `maxFailedLogins` consecutive failures (seeds/002 "failed login
 * attempts, account locking"). Usernames that do not exist are tracked too, in a bounded
 * in-memory map, and lock exactly like real ones: otherwise `account_locked` after N tries
 * would tell an attacker which usernames exist (OWASP Authentication Cheat Sheet).
 *
 * @example
 * ```ts
 * const wait = lockout.lockedFor(name, user)
 * if (wait > 0) throw lockout.lockedError(wait)
 * if (!ok) await lockout.fail(name, user, ctx)
 * ```
 */
export function createLockout(deps: {
  users: UserRepository
  audit: AuditService
  clock: Clock
  options: ResolvedIdentityOptions
}) {
  const { users, audit, clock, options } = deps
  const phantoms = new Map<string, { failures: number; lockedUntil: number }>()

  return Object.freeze({
    /** Seconds left of the lockout of `user` (or of the unknown `username`); 0 if none. */
    lockedFor(username: string, user: UserRow | undefined): number {
      const until = user
        ? user.locked_until === null
          ? 0
          : Date.parse(user.locked_until)
        : (phantoms.get(username)?.lockedUntil ?? 0)
      return Math.max(0, Math.ceil((until - clock.now().getTime()) / 1000))
    },

    /** The `account_locked` (423) answer, with the seconds to wait (for `Retry-After`). */
    lockedError(retryAfterSeconds: number): PStorageError {
      return new PStorageError(
        'account_locked',
        'Account locked after too many failed logins; try again later',
        { details: { retry_after_seconds: retryAfterSeconds } },
      )
    },

    /** Counts one failure; locks at the limit and audits that for real accounts. */
    async fail(username: string, user: UserRow | undefined, ctx: LoginContext = {}) {
      const now = clock.now()
      const until = new Date(now.getTime() + options.lockoutSeconds * 1000)
      if (!user) {
        const entry = phantoms.get(username) ?? { failures: 0, lockedUntil: 0 }
        phantoms.delete(username) // re-insert: Map order doubles as least-recently-used order
        entry.failures += 1
        if (entry.failures >= options.maxFailedLogins) {
          entry.failures = 0
          entry.lockedUntil = until.getTime()
        }
        phantoms.set(username, entry)
        if (phantoms.size > MAX_PHANTOMS) phantoms.delete(phantoms.keys().next().value!)
        return
      }
      if (!(await users.recordFailure(user.id, options.maxFailedLogins, until.toISOString()))) {
        return
      }
      await audit.record({
        action: 'auth.account_locked',
        outcome: 'denied',
        actor_type: 'anonymous',
        actor_name: user.username,
        ip: ctx.ip ?? null,
        user_agent: ctx.userAgent ?? null,
        resource_type: 'user',
        resource_id: user.id,
        detail: `Locked until ${until.toISOString()} after ${options.maxFailedLogins} failed logins`,
      })
    },
  })
}

export type Lockout = ReturnType<typeof createLockout>
