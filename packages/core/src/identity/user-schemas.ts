import { z } from 'zod'
import { IdSchema, listQuerySchema, TimestampSchema } from '../schemas/common.js'
import { ROLES } from '../security/roles.js'

/** Longest password accepted on the wire; the hasher's policy (8..1024 after NFKC) decides. */
export const MAX_PASSWORD_INPUT = 4096

/**
 * A role of the route × role matrix (seeds/002: ADMIN, OPERATOR, VIEWER; lower case on the
 * wire as seeds/003 `/auth/me` shows).
 */
export const RoleSchema = z
  .enum(ROLES)
  .meta({ id: 'Role', description: 'admin > operator > viewer', example: 'operator' })

/**
 * A username: trimmed and lower-cased first, then `^[a-z0-9][a-z0-9._-]{2,63}$`, so `Alice`
 * and `alice` are one account.
 */
export const UsernameSchema = z
  .string()
  .max(256)
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9._-]{2,63}$/, {
    message: '3-64 of a-z 0-9 . _ -, starting with a letter or digit',
  })
  .meta({ example: 'alice' })

const NoControl = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !/\p{Cc}/u.test(s), { message: 'must not contain control characters' })

const PasswordSchema = z.string().min(1).max(MAX_PASSWORD_INPUT)

/** `active`, `locked` (too many failed logins, until `locked_until`) or `disabled`. */
export const UserStatusSchema = z
  .enum(['active', 'locked', 'disabled'])
  .meta({ description: 'disabled wins over locked', example: 'active' })
export type UserStatus = z.infer<typeof UserStatusSchema>

/** A user as the API shows it (seeds/003 `GET /auth/me`): never the hash or the counters. */
export const UserSchema = z
  .object({
    id: IdSchema,
    username: z.string().meta({ example: 'admin' }),
    email: z.string().nullable().meta({ example: 'admin@pstorage.local' }),
    full_name: z.string().nullable().meta({ example: 'System Administrator' }),
    role: RoleSchema,
    status: UserStatusSchema,
    is_active: z.boolean().meta({ example: true }),
    created_at: TimestampSchema,
    last_login: TimestampSchema.nullable(),
  })
  .meta({ id: 'User' })
export type User = z.infer<typeof UserSchema>

/** `GET /api/v1/users`. */
export const UserListSchema = z
  .object({ users: z.array(UserSchema), total: z.number().int().min(0).meta({ example: 1 }) })
  .meta({ id: 'UserList' })
export type UserList = z.infer<typeof UserListSchema>

/** `POST /api/v1/users`. `role` defaults to the least privileged, `viewer`. */
export const CreateUserRequestSchema = z
  .strictObject({
    username: UsernameSchema,
    email: z.email().max(254).optional().meta({ example: 'alice@example.com' }),
    full_name: NoControl(255).optional().meta({ example: 'Alice Example' }),
    role: RoleSchema.default('viewer'),
    password: PasswordSchema.meta({ example: 'correct horse battery staple' }),
  })
  .meta({ id: 'CreateUserRequest' })
export type CreateUserRequest = z.infer<typeof CreateUserRequestSchema>

/**
 * `PATCH /api/v1/users/{id}`: only the fields given change; `null` clears email or name.
 * A role change or `is_active: false` ends the user's sessions; `is_active: true` also lifts
 * a lockout.
 */
export const UpdateUserRequestSchema = z
  .strictObject({
    email: z.email().max(254).nullable().optional(),
    full_name: NoControl(255).nullable().optional(),
    role: RoleSchema.optional(),
    is_active: z.boolean().optional(),
  })
  .meta({ id: 'UpdateUserRequest', example: { role: 'viewer', is_active: false } })
export type UpdateUserRequest = z.infer<typeof UpdateUserRequestSchema>

/**
 * `POST /api/v1/users/{id}/password`. Changing your own password needs `current_password`;
 * an admin resetting someone else's sends only `new_password`.
 */
export const ChangePasswordRequestSchema = z
  .strictObject({
    current_password: PasswordSchema.optional(),
    new_password: PasswordSchema,
  })
  .meta({
    id: 'ChangePasswordRequest',
    example: { current_password: 'old passphrase', new_password: 'correct horse battery staple' },
  })
export type ChangePasswordRequest = z.infer<typeof ChangePasswordRequestSchema>

/** The sort keys of `GET /api/v1/users`. */
export const USER_SORT_KEYS = ['username', 'created_at', 'last_login', 'role'] as const

/** `GET /api/v1/users` query: the common list query (search: username, email, full name). */
export const ListUsersQuerySchema = listQuerySchema(USER_SORT_KEYS)
  .extend({
    role: RoleSchema.optional(),
    // A boolean too, so an already parsed query (the HTTP layer's) parses again unchanged.
    is_active: z.union([z.stringbool(), z.boolean()]).optional().meta({ example: 'true' }),
  })
  .meta({ id: 'ListUsersQuery', example: { limit: 50, sort: 'username', role: 'admin' } })
export type ListUsersQuery = z.infer<typeof ListUsersQuerySchema>
