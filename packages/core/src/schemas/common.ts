import { z } from 'zod'

/** A resource id: a UUID (ARCHITECTURE.md, "Wire conventions"). */
export const IdSchema = z
  .uuid()
  .meta({ description: 'Resource id (UUID)', example: '550e8400-e29b-41d4-a716-446655440000' })

/** An RFC 3339 UTC timestamp, as the seeds show (`2024-01-15T10:30:00Z`). */
export const TimestampSchema = z.iso.datetime().meta({ example: '2024-01-15T10:30:00Z' })

/** Key-value metadata: at most 64 entries of short strings, so tags never become a payload. */
export const TagsSchema = z
  .record(z.string().min(1).max(128), z.string().max(256))
  .refine((tags) => Object.keys(tags).length <= 64, { message: 'at most 64 tags' })
  .meta({ description: 'Key-value metadata', example: { env: 'production', app: 'postgres' } })

/**
 * The error body of every non-2xx answer (ARCHITECTURE.md, "Wire conventions").
 *
 * @example
 * { "error": "not_found", "detail": "Volume 550e… not found", "request_id": "…" }
 */
export const ErrorResponseSchema = z
  .object({
    error: z.string().meta({ description: 'Stable snake_case error code', example: 'not_found' }),
    detail: z.string().meta({ example: 'Volume 550e8400-e29b-41d4-a716-446655440000 not found' }),
    details: z.record(z.string(), z.unknown()).optional(),
    request_id: z.string().meta({ example: '8f14e45f-ceea-467f-a0e6-3fe1b53a5a8c' }),
  })
  .meta({ id: 'ErrorResponse' })
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>

const SORT_ORDERS = ['asc', 'desc'] as const

/**
 * The query of every list route: `limit` (default 100, max 1000), `offset` (alias `skip`),
 * `sort`, `order`, `search`. Each list adds its own sort keys and filters.
 */
export function listQuerySchema<const K extends readonly [string, ...string[]]>(sortKeys: K) {
  return z.strictObject({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    offset: z.coerce.number().int().min(0).optional(),
    skip: z.coerce.number().int().min(0).optional().meta({ description: 'Alias of offset' }),
    sort: z.enum(sortKeys).optional(),
    order: z.enum(SORT_ORDERS).default('asc'),
    search: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .meta({ description: 'Case-insensitive substring of the name' }),
  })
}

/** A list query once parsed, with `skip` folded into `offset`. */
export interface ListQuery<K extends string> {
  readonly limit: number
  readonly offset: number
  readonly sort?: K
  readonly order: 'asc' | 'desc'
  readonly search?: string
}
