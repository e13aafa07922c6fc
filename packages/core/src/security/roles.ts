/**
 * The roles of the route × role matrix (OWASP API5: function-level authorization), most
 * privileged first. Persistent values: stored on users and signed into access tokens.
 *
 * @example
 * ```ts
 * ROLES.includes('operator') // true
 * ```
 */
export const ROLES = Object.freeze(['admin', 'operator', 'viewer'] as const)

/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number]

/**
 * True if `value` is a {@link Role}.
 *
 * @example
 * ```ts
 * isRole('root') // false
 * ```
 */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value)
}
