import type { Kysely } from 'kysely'
import type { Clock } from '../ports/clock.js'
import type { IdGenerator } from '../ports/id-generator.js'
import { parseInput } from '../services/validate.js'
import type { Database } from '../store/database.js'
import {
  type AuditActorType,
  type AuditEntry,
  type AuditList,
  type AuditOutcome,
  ListAuditQuerySchema,
} from './audit-schemas.js'
import { pageOf, toAuditEntry } from './dto.js'
import type { Principal } from './principal.js'
import type { AuditLogRow } from './tables.js'

/** What `audit.record` takes: `action` and `outcome`, and whatever else is known. */
export interface AuditRecord {
  readonly action: string
  readonly outcome: AuditOutcome
  readonly actor_type?: AuditActorType
  readonly actor_id?: string | null
  readonly actor_name?: string | null
  readonly role?: string | null
  readonly request_id?: string | null
  readonly ip?: string | null
  readonly user_agent?: string | null
  readonly method?: string | null
  readonly route?: string | null
  readonly resource_type?: string | null
  readonly resource_id?: string | null
  /** HTTP status of the answer. */
  readonly status?: number | null
  /** Reason or summary; never a secret (credential shapes are redacted anyway). */
  readonly detail?: string | null
}

// Longest value kept per field (code points); longer values are cut and end with '…'.
const LIMITS = {
  request_id: 128,
  actor_id: 128,
  actor_name: 128,
  role: 32,
  ip: 64,
  user_agent: 512,
  method: 16,
  route: 512,
  action: 128,
  resource_type: 64,
  resource_id: 256,
  detail: 2048,
} as const

// Credential shapes that must never reach the log, even if a caller puts one in `detail`
// (security.md: never log tokens, Authorization, passwords).
const REDACTIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bpsk_([a-z2-7]{8})_[A-Za-z0-9_-]+/g, 'psk_$1_[REDACTED]'],
  [/\beyJ[\w-]*\.[\w-]*\.[\w-]*/g, '[REDACTED_JWT]'],
  [/\b(Bearer|Basic)\s+\S+/gi, '$1 [REDACTED]'],
]

/**
 * Makes a value safe to store: CR/LF become spaces (no forged lines in exported logs, OWASP
 * Logging), other control characters go, credential shapes are redacted, length is capped.
 *
 * @example
 * ```ts
 * auditText('a\r\nb', 10) // 'a b'
 * ```
 */
export function auditText(value: unknown, max: number): string | null {
  if (value === null || value === undefined) return null
  let text = String(value)
    .replace(/[\r\n]+/g, ' ')
    .replace(/\p{Cc}/gu, '')
  for (const [pattern, replacement] of REDACTIONS) text = text.replace(pattern, replacement)
  const chars = Array.from(text)
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text
}

/**
 * The actor fields of an audit entry for a principal (or an anonymous caller).
 *
 * @example
 * ```ts
 * await identity.audit.record({ ...auditActor(principal), action: 'volume.delete', outcome: 'success' })
 * ```
 */
export function auditActor(principal?: Principal) {
  if (!principal) return { actor_type: 'anonymous' as const }
  return {
    actor_type: principal.kind,
    actor_id: principal.id,
    actor_name: principal.kind === 'user' ? principal.username : principal.name,
    role: principal.role,
  }
}

/**
 * The append-only audit log. There is deliberately no update or delete here or anywhere.
 *
 * @example
 * ```ts
 * await audit.record({ action: 'auth.login', outcome: 'denied', status: 401, ip })
 * const { entries, total } = await audit.list({ action: 'auth.login', order: 'desc' })
 * ```
 */
export function createAuditService(deps: { db: Kysely<Database>; clock: Clock; ids: IdGenerator }) {
  const { db, clock, ids } = deps
  return Object.freeze({
    /** Appends one entry, timestamped now (UTC); returns it as stored. */
    async record(entry: AuditRecord): Promise<AuditEntry> {
      const clean = (field: keyof typeof LIMITS) => auditText(entry[field], LIMITS[field])
      const status = entry.status
      const row: AuditLogRow = {
        id: ids.next(),
        at: clock.now().toISOString(),
        request_id: clean('request_id'),
        actor_type: entry.actor_type ?? 'anonymous',
        actor_id: clean('actor_id'),
        actor_name: clean('actor_name'),
        role: clean('role'),
        ip: clean('ip'),
        user_agent: clean('user_agent'),
        method: clean('method'),
        route: clean('route'),
        action: clean('action') || 'unknown',
        resource_type: clean('resource_type'),
        resource_id: clean('resource_id'),
        outcome: entry.outcome,
        status: Number.isInteger(status) && status! >= 100 && status! <= 599 ? status! : null,
        detail: clean('detail'),
      }
      await db.insertInto('audit_log').values(row).execute()
      return toAuditEntry(row)
    },

    /** Entries matching the filters, newest first unless `order=asc`. */
    async list(query?: unknown): Promise<AuditList> {
      const q = parseInput(ListAuditQuerySchema, query ?? {}, 'query')
      let base = db.selectFrom('audit_log')
      if (q.actor !== undefined) {
        const actor = q.actor
        base = base.where((eb) => eb.or([eb('actor_id', '=', actor), eb('actor_name', '=', actor)]))
      }
      if (q.action !== undefined) base = base.where('action', '=', q.action)
      if (q.resource !== undefined) {
        const resource = q.resource
        base = base.where((eb) =>
          eb.or([eb('resource_type', '=', resource), eb('resource_id', '=', resource)]),
        )
      }
      if (q.outcome !== undefined) base = base.where('outcome', '=', q.outcome)
      // Stored `at` is toISOString() text: normalize the bounds to the same form to compare.
      if (q.from !== undefined) base = base.where('at', '>=', new Date(q.from).toISOString())
      if (q.to !== undefined) base = base.where('at', '<', new Date(q.to).toISOString())
      const page = { limit: q.limit, offset: q.offset ?? q.skip ?? 0, order: q.order }
      const { rows, total } = await pageOf<'audit_log', AuditLogRow>(base, page, 'at')
      return { entries: rows.map(toAuditEntry), total }
    },
  })
}

export type AuditService = ReturnType<typeof createAuditService>
