import { z } from 'zod'
import { IdSchema, listQuerySchema, TimestampSchema } from '../schemas/common.js'
import { RoleSchema } from './user-schemas.js'

/** An API key as lists show it: never the key or its hash (OWASP API3). */
export const ApiKeySchema = z
  .object({
    id: IdSchema,
    name: z.string().meta({ example: 'ci-backups' }),
    role: RoleSchema,
    prefix: z
      .string()
      .meta({ description: 'Public start of the key, to recognise it', example: 'psk_k3x9q2ab' }),
    owner_id: IdSchema,
    created_at: TimestampSchema,
    expires_at: TimestampSchema.nullable(),
    last_used_at: TimestampSchema.nullable().meta({
      description: 'Updated at most once a minute',
      example: '2024-01-15T10:30:00Z',
    }),
    revoked_at: TimestampSchema.nullable().meta({ example: null }),
  })
  .meta({ id: 'ApiKey' })
export type ApiKey = z.infer<typeof ApiKeySchema>

/** `POST /api/v1/api-keys` (201): the key itself, shown this once and never again. */
export const CreatedApiKeySchema = ApiKeySchema.extend({
  api_key: z.string().meta({
    description: 'The secret key; store it now, it cannot be shown again',
    example: 'psk_k3x9q2ab_q3N8x0yQm1dG5H2v9JcT7rKpLw4ZsA6bEoUiYfRnMkC',
  }),
}).meta({ id: 'CreatedApiKey' })
export type CreatedApiKey = z.infer<typeof CreatedApiKeySchema>

/** `GET /api/v1/api-keys`. */
export const ApiKeyListSchema = z
  .object({ api_keys: z.array(ApiKeySchema), total: z.number().int().min(0).meta({ example: 1 }) })
  .meta({ id: 'ApiKeyList' })
export type ApiKeyList = z.infer<typeof ApiKeyListSchema>

/** `POST /api/v1/api-keys`. `role` may not exceed the creator's; `expires_at` is in the future. */
export const CreateApiKeyRequestSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(128)
      .refine((s) => s.trim() !== '' && !/\p{Cc}/u.test(s), {
        message: 'must not be blank or contain control characters',
      })
      .meta({ example: 'ci-backups' }),
    role: RoleSchema,
    expires_at: TimestampSchema.optional().meta({ example: '2026-01-01T00:00:00Z' }),
  })
  .meta({ id: 'CreateApiKeyRequest' })
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequestSchema>

/** The sort keys of `GET /api/v1/api-keys`. */
export const API_KEY_SORT_KEYS = ['name', 'created_at', 'last_used_at', 'expires_at'] as const

/** `GET /api/v1/api-keys` query: the common list query (search: name), optional owner. */
export const ListApiKeysQuerySchema = listQuerySchema(API_KEY_SORT_KEYS)
  .extend({ owner_id: IdSchema.optional() })
  .meta({ id: 'ListApiKeysQuery', example: { limit: 50, sort: 'created_at', order: 'desc' } })
export type ListApiKeysQuery = z.infer<typeof ListApiKeysQuerySchema>
