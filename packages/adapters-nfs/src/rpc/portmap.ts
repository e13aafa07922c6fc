import { RpcClient } from './rpc-client.js'
import { RpcError } from './rpc-error.js'
import { XdrError } from './xdr.js'

/** The portmapper: program 100000, version 2, on port 111 (RFC 1833 §3). */
export const PORTMAP_PROGRAM = 100000
export const PORTMAP_VERSION = 2
export const PORTMAP_PORT = 111
/** `PMAPPROC_GETPORT` (RFC 1833 §3.2). */
const PMAPPROC_GETPORT = 3
/** `IPPROTO_TCP` in a `mapping` (RFC 1833 §3.1). */
const IPPROTO_TCP = 6

/** Options of {@link getPort}. */
export interface GetPortOptions {
  readonly timeoutMs: number
  /** Where the portmapper listens. @default 111 */
  readonly portmapPort?: number
  /** Names the program in errors. @default `program <n>` */
  readonly label?: string
  /** Runs before the TCP connection; a rejection refuses it. */
  readonly beforeConnect?: (() => Promise<void>) | undefined
}

/**
 * Asks the portmapper of `host` on which TCP port `program`/`version` listens
 * (PMAPPROC_GETPORT over TCP, RFC 1833 §3.2). rpcbind (versions 3 and 4) answers version 2
 * too. A program that is not registered (port 0) is a `service_unavailable` `RpcError`.
 *
 * @example
 * ```ts
 * const nfsPort = await getPort('10.0.0.5', 100003, 3, { timeoutMs: 5000, label: 'NFS' })
 * ```
 */
export async function getPort(
  host: string,
  program: number,
  version: number,
  options: GetPortOptions,
): Promise<number> {
  const label = options.label ?? `program ${program}`
  const rpc = new RpcClient({
    host,
    port: options.portmapPort ?? PORTMAP_PORT,
    program: PORTMAP_PROGRAM,
    version: PORTMAP_VERSION,
    label: 'portmapper',
    timeoutMs: options.timeoutMs,
    beforeConnect: options.beforeConnect,
  })
  try {
    const r = await rpc.call(PMAPPROC_GETPORT, (w) =>
      w.u32(program).u32(version).u32(IPPROTO_TCP).u32(0),
    )
    let port: number
    try {
      port = r.u32()
    } catch (error) {
      if (!(error instanceof XdrError)) throw error
      throw new RpcError('protocol', 'service_unavailable', 'Malformed portmapper reply', error)
    }
    if (port === 0 || port > 65535)
      throw new RpcError(
        'rejected',
        'service_unavailable',
        `${label} version ${version} over TCP is not registered with the portmapper of ${host}`,
      )
    return port
  } finally {
    await rpc.close()
  }
}
