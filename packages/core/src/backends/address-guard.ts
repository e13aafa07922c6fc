import { lookup as lookupCallback } from 'node:dns'
import { lookup } from 'node:dns/promises'
import { BlockList, isIP, type LookupFunction } from 'node:net'
import { PStorageError } from '../errors.js'

/** The environment switch of {@link createAddressGuard}'s `allowPrivate`. */
export const ALLOW_PRIVATE_ADDRESSES_ENV = 'PSTORAGE_ALLOW_PRIVATE_ADDRESSES'

/**
 * Addresses a backend may only reach when private addresses are allowed: loopback, RFC 1918,
 * CGNAT, link-local (cloud metadata services live at 169.254.169.254), IPv6 unique-local
 * and link-local, and IPv4-mapped forms of them.
 */
const PRIVATE = new BlockList()
for (const [net, prefix] of [
  ['127.0.0.0', 8],
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4')
  PRIVATE.addSubnet(`::ffff:${net}`, 96 + prefix, 'ipv6')
}
PRIVATE.addAddress('::1', 'ipv6')
PRIVATE.addSubnet('fc00::', 7, 'ipv6')
PRIVATE.addSubnet('fe80::', 10, 'ipv6')

/** Never a backend: "this host" wildcards, multicast, broadcast, reserved. */
const NEVER = new BlockList()
NEVER.addSubnet('0.0.0.0', 8, 'ipv4')
NEVER.addSubnet('224.0.0.0', 4, 'ipv4')
NEVER.addSubnet('240.0.0.0', 4, 'ipv4')
NEVER.addAddress('::', 'ipv6')
NEVER.addSubnet('ff00::', 8, 'ipv6')

/** Parses the switch: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`; unset → `fallback`. */
export function parseAllowPrivate(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value.trim() === '') return fallback
  const v = value.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(v)) return true
  if (['0', 'false', 'no', 'off'].includes(v)) return false
  throw new Error(`${ALLOW_PRIVATE_ADDRESSES_ENV} must be true or false, not '${value}'`)
}

/** Checks the host a backend connects to; see {@link createAddressGuard}. */
export interface AddressGuard {
  /** Whether loopback and private addresses are allowed. */
  readonly allowPrivate: boolean
  /** Resolves `host` and rejects with `forbidden` if any of its addresses is refused. */
  check(host: string): Promise<void>
}

/** Options of {@link createAddressGuard}. */
export interface AddressGuardOptions {
  /** Allow loopback and private networks. @default false */
  readonly allowPrivate?: boolean
  /** @default node:dns lookup of every address */
  readonly resolve?: (host: string) => Promise<readonly string[]>
}

/**
 * Guards backends against server-side request forgery (security.md): a host resolving to a
 * loopback, private or link-local address is refused unless `allowPrivate` is set, and
 * wildcard/multicast addresses always are. Every address of the name is checked, so a name
 * with one public and one private address is refused. A name that does not resolve passes:
 * the connection then fails on its own, and the guard runs again before each connection.
 *
 * @example
 * ```ts
 * const guard = createAddressGuard({ allowPrivate: false })
 * await guard.check('169.254.169.254') // rejects: forbidden
 * ```
 */
export function createAddressGuard(options: AddressGuardOptions = {}): AddressGuard {
  const allowPrivate = options.allowPrivate ?? false
  const resolve =
    options.resolve ??
    (async (host: string) => (await lookup(host, { all: true })).map((a) => a.address))
  return Object.freeze({
    allowPrivate,
    async check(host: string): Promise<void> {
      const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
      let addresses: readonly string[]
      if (isIP(bare) !== 0) addresses = [bare]
      else {
        try {
          addresses = await resolve(bare)
        } catch {
          return
        }
      }
      for (const address of addresses) {
        const family = isIP(address) === 6 ? 'ipv6' : 'ipv4'
        if (NEVER.check(address, family)) {
          throw new PStorageError('forbidden', `${host} resolves to ${address}, never a backend`)
        }
        if (!allowPrivate && PRIVATE.check(address, family)) {
          throw new PStorageError(
            'forbidden',
            `${host} resolves to the private address ${address}; private and loopback addresses are refused unless ${ALLOW_PRIVATE_ADDRESSES_ENV}=true (or --allow-private-addresses)`,
          )
        }
      }
    },
  })
}

/**
 * A `lookup` for `net`/`http` agents that resolves as usual, then refuses the connection
 * (an error with the guard's detail) if an address is not allowed: the check happens on the
 * address actually connected to, so a name that re-resolves to a private address between
 * the check of the config and the connection (DNS rebinding) is still refused.
 *
 * @example
 * ```ts
 * const agent = new https.Agent({ keepAlive: true, lookup: guardedLookup(guard) })
 * ```
 */
export function guardedLookup(guard: AddressGuard): LookupFunction {
  return ((hostname: string, options: object, callback: (...args: unknown[]) => void) => {
    lookupCallback(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error)
      const list = addresses as unknown as { address: string; family: number }[]
      Promise.all(list.map((a) => guard.check(a.address))).then(
        () => {
          if ((options as { all?: boolean }).all) callback(null, list)
          else callback(null, list[0]?.address, list[0]?.family)
        },
        (refused: unknown) => callback(refused),
      )
    })
  }) as LookupFunction
}
