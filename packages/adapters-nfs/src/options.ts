import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { backendError } from '@pstorage/core'
import { DRIVER_NAME } from './driver-name.js'
import type { CommandRunner } from './mount/command-runner.js'

/** Options shared by both modes. */
interface NfsCommonOptions {
  /** Host name or IP address of the NFS server (no leading `-`, no spaces or controls). */
  readonly server: string
  /**
   * Absolute path the server exports (as `showmount -e` lists it) or a directory below it;
   * at most 1024 bytes (RFC 1813 `MNTPATHLEN`), no `.`/`..` segments, spaces or controls.
   */
  readonly export: string
  /** Entries `stats()` visits before answering `truncated: true`. @default 100000 */
  readonly statsMaxEntries?: number
  /**
   * Called with `server` before every TCP connection (portmapper, MOUNT, NFS; before the
   * mount in mount mode); a rejection refuses it and is rethrown unchanged. Pass core's
   * `AddressGuard.check` so the address policy holds at each reconnect (DNS rebinding).
   * @default no check
   */
  readonly checkHost?: (host: string) => Promise<void>
}

/** Options of the default mode: NFSv3 spoken by this process over TCP; no mount, no root. */
export interface NfsUserspaceOptions extends NfsCommonOptions {
  /** @default 'userspace' */
  readonly mode?: 'userspace'
  /** TCP port of NFS. @default asked from the portmapper (usually 2049) */
  readonly port?: number
  /** TCP port of MOUNT. @default asked from the portmapper */
  readonly mountPort?: number
  /** TCP port of the portmapper, when `port` or `mountPort` is missing. @default 111 */
  readonly portmapPort?: number
  /** AUTH_SYS user id the server sees (subject to its squashing). @default 0 */
  readonly uid?: number
  /** AUTH_SYS group id. @default 0 */
  readonly gid?: number
  /** AUTH_SYS supplementary groups, at most 16. @default [] */
  readonly gids?: readonly number[]
  /** AUTH_SYS machine name. @default os.hostname() (`pstorage` if longer than 255 bytes) */
  readonly machineName?: string
  /** Deadline of connecting and of each RPC, in ms. @default 30000 */
  readonly timeoutMs?: number
  /** Connect from a port below 1024, as knfsd's default `secure` export option wants; needs root. @default false */
  readonly privilegedPort?: boolean
  /** Bytes per READ/WRITE; lowered to the server's FSINFO rtmax/wtmax. 4 KiB..1 MiB. @default 1048576 */
  readonly ioSize?: number
  /** READs or WRITEs in flight per transfer (pipelining). 1..32. @default 4 */
  readonly ioDepth?: number
}

/** Options of the `mount` mode: a kernel NFS mount, then the local driver on it. */
export interface NfsMountModeOptions extends NfsCommonOptions {
  readonly mode: 'mount'
  /** Existing empty directory to mount on (absolute, not `/`). */
  readonly mountPoint: string
  /**
   * `-o` options, from an allow-list (`vers=4.1`, `hard`, `timeo=600`, `nconnect=4`…; see
   * `buildMountCommand`); anything else is a `bad_request`. `nosuid,nodev` are always added.
   * @default []
   */
  readonly mountOptions?: readonly string[]
  /** Runs `mount`/`umount` (argv, never a shell string). @default execFileRunner() */
  readonly runner?: CommandRunner
}

/**
 * Options of `createNfsDriver`: userspace (default) or mount mode.
 *
 * @example
 * ```ts
 * const options: NfsDriverOptions = { server: 'nas.lan', export: '/srv/templates' }
 * ```
 */
export type NfsDriverOptions = NfsUserspaceOptions | NfsMountModeOptions

/** Userspace options with every default applied. */
export interface ResolvedUserspaceOptions {
  readonly server: string
  readonly export: string
  readonly port: number | undefined
  readonly mountPort: number | undefined
  readonly portmapPort: number
  readonly credential: {
    readonly machineName: string
    readonly uid: number
    readonly gid: number
    readonly gids: readonly number[]
  }
  readonly timeoutMs: number
  readonly privilegedPort: boolean
  readonly ioSize: number
  readonly ioDepth: number
  readonly statsMaxEntries: number
  readonly checkHost: ((host: string) => Promise<void>) | undefined
}

// RFC 1123 host names: labels of letters, digits and inner hyphens (so never a leading `-`).
const HOST_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/
// Whitespace and C0/C1 controls: they split argv-like strings and corrupt logs.
const SPACE_OR_CONTROL = /[\s\p{Cc}]/u

/**
 * Checks an NFS server name: an RFC 1123 host name, an IPv4 address or an IPv6 address
 * (bracketed or not). Returns the problem, or `undefined` if valid.
 *
 * @example
 * ```ts
 * serverProblem('-oProxyCommand=x') // 'server must be a host name or an IP address'
 * ```
 */
export function serverProblem(server: unknown): string | undefined {
  if (typeof server !== 'string' || server.length === 0) return 'server is required'
  const bare = server.startsWith('[') && server.endsWith(']') ? server.slice(1, -1) : server
  if (isIP(bare) === 6 || (bare === server && isIP(server) === 4)) return undefined
  return HOST_NAME.test(server) ? undefined : 'server must be a host name or an IP address'
}

/**
 * Checks an absolute path used as an NFS export or a mount point: absolute, no `.`/`..`
 * or empty segments, no whitespace or control characters, at most `maxBytes` UTF-8 bytes.
 *
 * @example
 * ```ts
 * absolutePathProblem('export', '/srv/../etc', 1024) // 'export must not contain . or .. segments'
 * ```
 */
export function absolutePathProblem(
  field: string,
  path: unknown,
  maxBytes: number,
): string | undefined {
  if (typeof path !== 'string' || !path.startsWith('/')) return `${field} must be an absolute path`
  if (SPACE_OR_CONTROL.test(path)) return `${field} must not contain spaces or control characters`
  if (Buffer.byteLength(path, 'utf8') > maxBytes)
    return `${field} must be at most ${maxBytes} bytes`
  const segments = path === '/' ? [] : path.replace(/\/$/, '').slice(1).split('/')
  if (segments.some((s) => s === '')) return `${field} must not contain empty segments (//)`
  if (segments.some((s) => s === '.' || s === '..'))
    return `${field} must not contain . or .. segments`
  return undefined
}

/**
 * The canonical form of a valid absolute path: no trailing slash (except `/`).
 *
 * @example
 * ```ts
 * canonicalPath('/srv/nfs/') // '/srv/nfs'
 * ```
 */
export function canonicalPath(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
}

const USERSPACE_KEYS = new Set([
  'checkHost',
  'mode',
  'server',
  'export',
  'statsMaxEntries',
  'port',
  'mountPort',
  'portmapPort',
  'uid',
  'gid',
  'gids',
  'machineName',
  'timeoutMs',
  'privilegedPort',
  'ioSize',
  'ioDepth',
])
const MOUNT_KEYS = new Set([
  'checkHost',
  'mode',
  'server',
  'export',
  'statsMaxEntries',
  'mountPoint',
  'mountOptions',
  'runner',
])

/**
 * The first option `options` has that its mode does not know (a typo never passes silently).
 *
 * @example
 * ```ts
 * unknownOptionProblem({ server: 'a', export: '/x', mountpoint: '/m' }) // 'unknown option mountpoint'
 * ```
 */
export function unknownOptionProblem(options: object): string | undefined {
  const mode = (options as { mode?: unknown }).mode
  const known = mode === 'mount' ? MOUNT_KEYS : USERSPACE_KEYS
  const unknown = Object.keys(options).find((k) => !known.has(k))
  if (unknown === undefined) return undefined
  return /^[A-Za-z_]{1,40}$/.test(unknown) ? `unknown option ${unknown}` : 'unknown option'
}

/**
 * Checks an optional integer option against a range.
 *
 * @example
 * ```ts
 * intProblem('port', 70000, 1, 65535) // 'port must be an integer in 1..65535'
 * ```
 */
export function intProblem(
  field: string,
  value: unknown,
  min: number,
  max: number,
): string | undefined {
  if (value === undefined) return undefined
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max
    ? undefined
    : `${field} must be an integer in ${min}..${max}`
}

/**
 * Checks the optional `checkHost` hook.
 *
 * @example
 * ```ts
 * checkHostProblem('yes') // 'checkHost must be a function'
 * ```
 */
export function checkHostProblem(value: unknown): string | undefined {
  return value === undefined || typeof value === 'function'
    ? undefined
    : 'checkHost must be a function'
}

/**
 * Throws the `bad_request` of an invalid config, listing every problem.
 *
 * @example
 * ```ts
 * assertNoProblems([serverProblem(o.server)])
 * ```
 */
export function assertNoProblems(problems: readonly (string | undefined)[]): void {
  const issues = problems.filter((p): p is string => p !== undefined)
  if (issues.length > 0)
    throw backendError(DRIVER_NAME, 'bad_request', `Invalid NFS backend config: ${issues[0]}`, {
      details: { issues },
    })
}

/**
 * Validates userspace options and applies their defaults (frozen).
 *
 * @example
 * ```ts
 * const o = resolveUserspaceOptions({ server: '10.0.0.5', export: '/srv/nfs' })
 * o.ioSize // 1048576
 * ```
 */
export function resolveUserspaceOptions(o: NfsUserspaceOptions): ResolvedUserspaceOptions {
  const machineName = o.machineName ?? hostname()
  assertNoProblems([
    unknownOptionProblem(o),
    serverProblem(o.server),
    absolutePathProblem('export', o.export, 1024),
    intProblem('port', o.port, 1, 65535),
    intProblem('mountPort', o.mountPort, 1, 65535),
    intProblem('portmapPort', o.portmapPort, 1, 65535),
    intProblem('uid', o.uid, 0, 0xffffffff),
    intProblem('gid', o.gid, 0, 0xffffffff),
    intProblem('timeoutMs', o.timeoutMs, 1, 3_600_000),
    intProblem('ioSize', o.ioSize, 4096, 1024 * 1024),
    intProblem('ioDepth', o.ioDepth, 1, 32),
    intProblem('statsMaxEntries', o.statsMaxEntries, 1, 100_000_000),
    o.gids === undefined ||
    (Array.isArray(o.gids) &&
      o.gids.length <= 16 &&
      o.gids.every((g) => intProblem('gid', g, 0, 0xffffffff) === undefined))
      ? undefined
      : 'gids must be at most 16 integer group ids',
    typeof machineName === 'string' && !SPACE_OR_CONTROL.test(machineName)
      ? undefined
      : 'machineName must be a string without spaces or control characters',
    o.privilegedPort === undefined || typeof o.privilegedPort === 'boolean'
      ? undefined
      : 'privilegedPort must be a boolean',
    checkHostProblem(o.checkHost),
  ])
  const server = o.server.startsWith('[') ? o.server.slice(1, -1) : o.server
  return Object.freeze({
    server,
    export: canonicalPath(o.export),
    port: o.port,
    mountPort: o.mountPort,
    portmapPort: o.portmapPort ?? 111,
    credential: Object.freeze({
      // RFC 5531 appendix A caps machinename at 255 bytes.
      machineName: Buffer.byteLength(machineName, 'utf8') <= 255 ? machineName : 'pstorage',
      uid: o.uid ?? 0,
      gid: o.gid ?? 0,
      gids: Object.freeze([...(o.gids ?? [])]),
    }),
    timeoutMs: o.timeoutMs ?? 30_000,
    privilegedPort: o.privilegedPort ?? false,
    ioSize: o.ioSize ?? 1024 * 1024,
    ioDepth: o.ioDepth ?? 4,
    statsMaxEntries: o.statsMaxEntries ?? 100_000,
    checkHost: o.checkHost,
  })
}
