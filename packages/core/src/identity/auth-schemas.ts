import { z } from 'zod'
import { MAX_PASSWORD_INPUT } from './user-schemas.js'

// Refresh tokens are 43 base64url characters; the bound only refuses huge bodies early.
const RefreshTokenSchema = z
  .string()
  .min(1)
  .max(512)
  .meta({ example: 'q3N8x0yQm1dG5H2v9JcT7rKpLw4ZsA6bEoUiYfRnMkC' })

/**
 * `POST /api/v1/auth/login` (seeds/003). The username is matched case-insensitively; any
 * string is accepted so a malformed name fails like an unknown one (401), not with a 422.
 */
export const LoginRequestSchema = z
  .strictObject({
    username: z.string().min(1).max(256).meta({ example: 'admin' }),
    password: z.string().min(1).max(MAX_PASSWORD_INPUT).meta({ example: 'admin-passphrase' }),
  })
  .meta({ id: 'LoginRequest' })
export type LoginRequest = z.infer<typeof LoginRequestSchema>

/** What login and refresh return (seeds/003 "Login", response). */
export const TokenResponseSchema = z
  .object({
    access_token: z.string().meta({ example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9…' }),
    refresh_token: z.string().meta({ example: 'q3N8x0yQm1dG5H2v9JcT7rKpLw4ZsA6bEoUiYfRnMkC' }),
    token_type: z.literal('bearer'),
    expires_in: z
      .number()
      .int()
      .positive()
      .meta({ description: 'Access token lifetime in seconds', example: 900 }),
  })
  .meta({ id: 'TokenResponse' })
export type TokenResponse = z.infer<typeof TokenResponseSchema>

/** `POST /api/v1/auth/refresh` (seeds/003). */
export const RefreshRequestSchema = z
  .strictObject({ refresh_token: RefreshTokenSchema })
  .meta({ id: 'RefreshRequest' })
export type RefreshRequest = z.infer<typeof RefreshRequestSchema>

/** `POST /api/v1/auth/logout`: ends the session (token family) the refresh token belongs to. */
export const LogoutRequestSchema = z
  .strictObject({ refresh_token: RefreshTokenSchema })
  .meta({ id: 'LogoutRequest' })
export type LogoutRequest = z.infer<typeof LogoutRequestSchema>
