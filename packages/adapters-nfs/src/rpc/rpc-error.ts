import { type ErrorCode, PStorageError } from '@pstorage/core'
import { DRIVER_NAME } from '../driver-name.js'

/**
 * Why an RPC failed below the NFS layer:
 * - `connect`: no TCP connection (refused, unknown host, unreachable, timed out);
 * - `disconnected`: the connection dropped with the call in flight (it may have run);
 * - `timeout`: no reply within the timeout (it may have run);
 * - `protocol`: the peer sent bytes that are not ONC RPC;
 * - `rejected`: the server refused the call (program/version/procedure unavailable, auth);
 * - `closed`: the client was closed.
 */
export type RpcFailure = 'connect' | 'disconnected' | 'timeout' | 'protocol' | 'rejected' | 'closed'

/**
 * A transport-level failure of an ONC RPC call, as a `PStorageError` (usually
 * `service_unavailable`) worded `[pstorage] [nfs] …` and keeping the native error as `cause`.
 *
 * @example
 * ```ts
 * if (error instanceof RpcError && error.failure === 'disconnected') retry()
 * ```
 */
export class RpcError extends PStorageError {
  readonly failure: RpcFailure

  constructor(failure: RpcFailure, code: ErrorCode, detail: string, cause?: unknown) {
    super(code, `[pstorage] [${DRIVER_NAME}] ${detail}`, cause === undefined ? {} : { cause })
    this.name = 'RpcError'
    this.failure = failure
  }
}

/**
 * Words a socket error of connecting to `host:port` for a human, without server paths.
 *
 * @example
 * ```ts
 * connectFailure(err, 'NFS', '10.0.0.5', 2049) // "Connection refused by 10.0.0.5:2049 (NFS)"
 * ```
 */
export function connectFailure(
  error: unknown,
  label: string,
  host: string,
  port: number,
): RpcError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  const where = `${host}:${port} (${label})`
  let detail: string
  switch (code) {
    case 'ECONNREFUSED':
      detail = `Connection refused by ${where}`
      break
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      detail = `Cannot resolve the server name ${host}`
      break
    case 'ETIMEDOUT':
      detail = `Timed out connecting to ${where}`
      break
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      detail = `No route to ${where}`
      break
    default:
      detail = `Cannot connect to ${where}${code ? `: ${code}` : ''}`
  }
  return new RpcError('connect', 'service_unavailable', detail, error)
}
