import type { RpcClient } from '../rpc/rpc-client.js'
import { RpcError } from '../rpc/rpc-error.js'
import { AUTH_NONE, AUTH_SYS } from '../rpc/rpc-message.js'
import { XdrError, type XdrReader } from '../rpc/xdr.js'
import { MNTPATHLEN, MOUNTPROC3 } from './constants.js'
import { NfsStatusError } from './nfs-status-error.js'
import { readFh3 } from './nfs3-types.js'

/** The answer of MNT: the export's root handle and the security flavors it accepts. */
export interface MountResult {
  readonly fh: Buffer
  readonly flavors: readonly number[]
}

function decode<T>(label: string, r: XdrReader, fn: (r: XdrReader) => T): T {
  try {
    return fn(r)
  } catch (error) {
    if (!(error instanceof XdrError)) throw error
    throw new RpcError('protocol', 'service_unavailable', `Malformed ${label} reply`, error)
  }
}

/**
 * MOUNTPROC3_MNT (RFC 1813 §5.2.1): the root file handle of the export `path`. A status
 * other than MNT3_OK is an `NfsStatusError` (`MNT3ERR_NOENT` → `not_found`, `ACCES` →
 * `forbidden`); an export that accepts neither AUTH_SYS nor AUTH_NONE is `forbidden`.
 *
 * @example
 * ```ts
 * const { fh } = await mnt(mountRpc, '/srv/nfs/templates')
 * ```
 */
export async function mnt(rpc: RpcClient, path: string): Promise<MountResult> {
  const bytes = Buffer.from(path, 'utf8')
  if (bytes.length > MNTPATHLEN) throw new RangeError('export path longer than MNTPATHLEN')
  const r = await rpc.call(MOUNTPROC3.MNT, (w) => w.opaque(bytes))
  const result = decode('MNT', r, (r) => {
    const status = r.u32()
    if (status !== 0) return status
    const fh = readFh3(r)
    const count = r.u32()
    if (count > 64) throw new XdrError('too many auth flavors')
    const flavors = Array.from({ length: count }, () => r.u32())
    return { fh, flavors }
  })
  if (typeof result === 'number') throw new NfsStatusError('MNT', result)
  // An empty list is treated as AUTH_SYS-compatible (older servers omit it).
  if (
    result.flavors.length > 0 &&
    !result.flavors.includes(AUTH_SYS) &&
    !result.flavors.includes(AUTH_NONE)
  )
    throw new RpcError(
      'rejected',
      'forbidden',
      `The export requires a security flavor this client does not speak (${result.flavors.join(', ')}); only AUTH_SYS is supported`,
    )
  return result
}

/**
 * MOUNTPROC3_UMNT (RFC 1813 §5.2.3): tells the server the client stopped using `path`.
 * Advisory: the server's mount list is informational, handles stay valid.
 *
 * @example
 * ```ts
 * await umnt(mountRpc, '/srv/nfs/templates')
 * ```
 */
export async function umnt(rpc: RpcClient, path: string): Promise<void> {
  await rpc.call(MOUNTPROC3.UMNT, (w) => w.string(path))
}
