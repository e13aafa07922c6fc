import { z } from 'zod'
import { IdSchema, TimestampSchema } from '../schemas/common.js'

/** Who acted: a user (access token), an API key, or nobody authenticated. */
export const AuditActorTypeSchema = z
  .enum(['user', 'api_key', 'anonymous'])
  .meta({ example: 'user' })
export type AuditActorType = z.infer<typeof AuditActorTypeSchema>

/** How it ended (OWASP Logging Cheat Sheet): done, refused by authn/authz, or failed. */
export const AuditOutcomeSchema = z
  .enum(['success', 'denied', 'error'])
  .meta({ example: 'success' })
export type AuditOutcome = z.infer<typeof AuditOutcomeSchema>

const text = (example: string | null) => z.string().nullable().meta({ example })

/**
 * One audit log entry (security.md "Audit log fields"). Strings are stored with CR/LF and
 * other control characters replaced and lengths capped; credentials never appear.
 */
export const AuditEntrySchema = z
  .object({
    id: IdSchema,
    at: TimestampSchema,
    request_id: text('8f14e45f-ceea-467f-a0e6-3fe1b53a5a8c'),
    actor_type: AuditActorTypeSchema,
    actor_id: text('550e8400-e29b-41d4-a716-446655440000'),
    actor_name: text('alice'),
    role: text('admin'),
    ip: text('192.0.2.10'),
    user_agent: text('pstorage-cli/0.1.0'),
    method: text('DELETE'),
    route: text('/api/v1/volumes/{id}'),
    action: z.string().meta({ example: 'volume.delete' }),
    resource_type: text('volume'),
    resource_id: text('550e8400-e29b-41d4-a716-446655440000'),
    outcome: AuditOutcomeSchema,
    status: z.number().int().nullable().meta({ example: 204 }),
    detail: text(null),
  })
  .meta({ id: 'AuditEntry' })
export type AuditEntry = z.infer<typeof AuditEntrySchema>

/** `GET /api/v1/audit`. */
export const AuditListSchema = z
  .object({
    entries: z.array(AuditEntrySchema),
    total: z.number().int().min(0).meta({ example: 1 }),
  })
  .meta({ id: 'AuditList' })
export type AuditList = z.infer<typeof AuditListSchema>

const Filter = z.string().min(1).max(255)

/**
 * `GET /api/v1/audit` query: newest first by default; `actor` matches actor id or name,
 * `resource` resource type or id, `action` exactly; `from` inclusive, `to` exclusive.
 */
export const ListAuditQuerySchema = z
  .strictObject({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    offset: z.coerce.number().int().min(0).optional(),
    skip: z.coerce.number().int().min(0).optional().meta({ description: 'Alias of offset' }),
    order: z.enum(['asc', 'desc']).default('desc'),
    actor: Filter.optional().meta({ example: 'alice' }),
    action: Filter.optional().meta({ example: 'volume.delete' }),
    resource: Filter.optional().meta({ example: 'volume' }),
    outcome: AuditOutcomeSchema.optional(),
    from: TimestampSchema.optional(),
    to: TimestampSchema.optional(),
  })
  .meta({ id: 'ListAuditQuery', example: { action: 'auth.login', outcome: 'denied', limit: 50 } })
export type ListAuditQuery = z.infer<typeof ListAuditQuerySchema>
