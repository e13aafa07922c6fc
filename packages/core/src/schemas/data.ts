import { z } from 'zod'
import { IdSchema } from './common.js'

/** The most data one JSON write or read carries (16 MiB); larger transfers use the binary route. */
export const MAX_JSON_DATA_BYTES = 16 * 1024 * 1024

/**
 * Strict, padded base64 (RFC 4648 §4): what `Buffer.from(s, 'base64')` would silently "fix"
 * is refused. Node's decoder skips characters outside the alphabet (and whitespace) and
 * stops at misplaced padding, so a text is strict exactly when its decoded length is the
 * length its size promises; it also accepts the URL-safe alphabet, refused separately.
 * One native pass, linear; a backtracking regex overflows the stack on megabytes.
 */
export function isStrictBase64(text: string): boolean {
  if (text.length % 4 !== 0 || text.includes('-') || text.includes('_')) return false
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0
  return Buffer.from(text, 'base64').length === (text.length / 4) * 3 - padding
}

/** `POST /api/v1/volumes/{id}/write` (seeds/001, "Write Data"). */
export const WriteRequestSchema = z
  .strictObject({
    offset: z
      .number()
      .int()
      .min(0)
      .meta({ description: 'Byte offset, a multiple of 4096', example: 0 }),
    data: z
      .string()
      .min(1)
      .refine(isStrictBase64, { message: 'must be valid, padded base64' })
      .meta({
        description: 'Base64-encoded data, at most 16 MiB decoded',
        example: 'SGVsbG8gV29ybGQh',
      }),
  })
  .meta({ id: 'WriteRequest' })
export type WriteRequest = z.infer<typeof WriteRequestSchema>

/** The answer to a write: what the data path did with it. */
export const WriteResponseSchema = z
  .object({
    volume_id: IdSchema,
    offset: z.number().int().min(0).meta({ example: 0 }),
    size: z.number().int().min(0).meta({ example: 12 }),
    reduction_ratio: z.number().min(1).meta({ example: 1.0 }),
    was_deduplicated: z.boolean().meta({ example: false }),
    was_compressed: z.boolean().meta({ example: false }),
  })
  .meta({ id: 'WriteResponse' })
export type WriteResponse = z.infer<typeof WriteResponseSchema>

/** `GET /api/v1/volumes/{id}/read` query. */
export const ReadQuerySchema = z.strictObject({
  offset: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .meta({ description: 'Byte offset', example: 0 }),
  length: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .meta({ description: 'Bytes to read; without it, up to the end of written data', example: 12 }),
})
export type ReadQuery = z.infer<typeof ReadQuerySchema>

/** The answer to a read (seeds/001, "Read Data"). */
export const ReadResponseSchema = z
  .object({
    volume_id: IdSchema,
    offset: z.number().int().min(0).meta({ example: 0 }),
    size: z.number().int().min(0).meta({ example: 12 }),
    data: z.string().meta({ description: 'Base64-encoded data', example: 'SGVsbG8gV29ybGQh' }),
  })
  .meta({ id: 'ReadResponse' })
export type ReadResponse = z.infer<typeof ReadResponseSchema>
