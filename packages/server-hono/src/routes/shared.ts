import { z } from '@hono/zod-openapi'
import { ErrorResponseSchema } from '@pstorage/core'

/** Any JSON body but a data write. */
export const SMALL_BODY_BYTES = 1024 * 1024

/** The documented error answers a route may give, each in the one error shape. */
const ERRORS = {
  400: 'Malformed or semantically invalid request (for example an unaligned offset)',
  401: 'Authentication required, or the credentials were refused',
  403: 'The caller lacks the role this needs',
  404: 'The resource does not exist',
  409: 'Conflict with the current state (for example a duplicate name)',
  411: 'Content-Length is required',
  413: 'Request or response too large',
  415: 'Unsupported media type',
  416: 'Range not satisfiable',
  422: 'The request does not match the schema',
  423: 'The account is locked after repeated failed logins',
  429: 'Too many requests; see Retry-After',
  500: 'Internal error; the body carries a request id to quote',
  503: 'The backend or a driver for it is unavailable',
  507: 'The medium has no space for the write',
} as const

/** The `responses` entries of the given error statuses. */
export function errors<S extends keyof typeof ERRORS>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: ERRORS[status],
        content: { 'application/json': { schema: ErrorResponseSchema } },
      },
    ]),
  ) as unknown as {
    [K in S]: {
      description: string
      content: { 'application/json': { schema: typeof ErrorResponseSchema } }
    }
  }
}

/** A JSON body of `schema`, required. */
export function jsonRequest<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } } as const
}

/** A JSON response of `schema`. */
export function jsonResponse<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { 'application/json': { schema } } } as const
}

/** `{volume_id}` in a path: any string; an unknown one is a 404 from the service. */
export const VolumeIdParams = z.object({
  volume_id: z.string().meta({
    param: { name: 'volume_id', in: 'path' },
    example: '550e8400-e29b-41d4-a716-446655440000',
  }),
})
