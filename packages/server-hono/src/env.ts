import type { Principal } from '@pstorage/core'

/** Who is calling: a user (bearer token) or an API key; core's identity resolves it. */
export type { Principal }

/** Variables the middleware sets on the Hono context. */
export interface AppEnv {
  Variables: {
    requestId: string
    principal?: Principal
    /** Why the credentials sent were refused (thrown by `authorize` on protected routes). */
    authError?: unknown
  }
}
