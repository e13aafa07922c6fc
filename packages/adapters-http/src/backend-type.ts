import { type BackendTypeHandler, guardedLookup } from '@pstorage/core'
import { createHttpDriver } from './http-driver.js'

const handler: BackendTypeHandler<'http'> = {
  async open(config, ctx) {
    return createHttpDriver({
      url: config.url,
      ...(config.username !== undefined ? { username: config.username } : {}),
      ...(config.password !== undefined ? { password: config.password } : {}),
      checkAddress: (hostname) => ctx.guard.check(hostname),
      // The same guard on the address each connection is made to (DNS rebinding).
      lookup: guardedLookup(ctx.guard),
    })
  },
}

/**
 * The `http` backend type for `createPStorage({ backendTypes })`: opens a
 * {@link createHttpDriver} from a stored `HttpBackendConfig`, with the server's address guard
 * as `checkAddress`, so every request (each redirect hop included) passes the
 * private-address policy (security.md, API7), and as the DNS lookup of its connections, so
 * the address connected to passes it too.
 *
 * @example
 * ```ts
 * const pstorage = await createPStorage({ backendTypes: { http: httpBackendType } })
 * ```
 */
export const httpBackendType: BackendTypeHandler<'http'> = Object.freeze(handler)
