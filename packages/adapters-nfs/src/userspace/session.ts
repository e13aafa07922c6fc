import { type ConnectionTestResult, PStorageError } from '@pstorage/core'
import { DRIVER_NAME } from '../driver-name.js'
import {
  ACCESS3,
  MOUNT_PROGRAM,
  MOUNT_V3,
  NFS_PROGRAM,
  NFS_V3,
  NFS3ERR,
} from '../nfs3/constants.js'
import { mnt, umnt } from '../nfs3/mount3.js'
import { hasNfsStatus, NfsStatusError } from '../nfs3/nfs-status-error.js'
import { Nfs3Client } from '../nfs3/nfs3-client.js'
import type { ResolvedUserspaceOptions } from '../options.js'
import { getPort } from '../rpc/portmap.js'
import { RpcClient } from '../rpc/rpc-client.js'

/** A mounted export: the NFS client, the root handle and the negotiated transfer sizes. */
export interface NfsSession {
  readonly nfs: Nfs3Client
  /** Root file handle of the export (MNT). */
  readonly root: Buffer
  /** Bytes per READ/WRITE: the option, lowered to the server's rtmax/wtmax. */
  readonly ioSize: number
  /** `maxcount` of READDIRPLUS. */
  readonly dirBytes: number
  readonly nfsPort: number
  readonly mountPort: number
  /** UMNT (best effort) and closes the connection. Idempotent. */
  close(): Promise<void>
}

const MiB = 1024 * 1024

/**
 * The MNT failure as the API sees it: `service_unavailable` (the backend, not the caller's
 * request, is misconfigured), never naming the export path (a server path). Servers answer
 * ACCES for a path they do not export to this client (knfsd, ganesha), NOENT for a missing
 * directory below an export.
 */
function mountError(error: unknown): unknown {
  if (!(error instanceof NfsStatusError)) return error
  const detail = hasNfsStatus(error, NFS3ERR.ACCES, NFS3ERR.PERM)
    ? 'The server does not export this path to this client, or refused access'
    : hasNfsStatus(error, NFS3ERR.NOENT, NFS3ERR.NOTDIR)
      ? 'The server does not export this path: no such directory'
      : 'Mounting the export failed'
  return new PStorageError(
    'service_unavailable',
    `[pstorage] [${DRIVER_NAME}] ${detail} (${error.procedure}: ${error.nfsStatusName})`,
    { cause: error },
  )
}

/** The address check to run before each connection, if any. */
function beforeConnect(o: ResolvedUserspaceOptions): (() => Promise<void>) | undefined {
  const check = o.checkHost
  return check && (() => check(o.server))
}

function rpcOptions(o: ResolvedUserspaceOptions, port: number) {
  return {
    host: o.server,
    port,
    credential: o.credential,
    timeoutMs: o.timeoutMs,
    privilegedPort: o.privilegedPort,
    maxRecordBytes: o.ioSize + MiB, // a full READ plus headroom for attributes
    beforeConnect: beforeConnect(o),
  }
}

/**
 * Mounts the export (RFC 1813 §5): ports from the portmapper unless given (RFC 1833),
 * MNT for the root handle on a short-lived MOUNT connection, then FSINFO on the NFS
 * connection to size transfers.
 *
 * @example
 * ```ts
 * const s = await openSession(resolveUserspaceOptions({ server, export: '/srv/nfs' }))
 * await s.nfs.getattr(s.root)
 * ```
 */
export async function openSession(o: ResolvedUserspaceOptions): Promise<NfsSession> {
  const ask = (program: number, version: number, label: string) =>
    getPort(o.server, program, version, {
      timeoutMs: o.timeoutMs,
      portmapPort: o.portmapPort,
      label,
      beforeConnect: beforeConnect(o),
    })
  const [nfsPort, mountPort] = await Promise.all([
    o.port ?? ask(NFS_PROGRAM, NFS_V3, 'NFS'),
    o.mountPort ?? ask(MOUNT_PROGRAM, MOUNT_V3, 'MOUNT'),
  ])
  const mountRpc = new RpcClient({
    ...rpcOptions(o, mountPort),
    program: MOUNT_PROGRAM,
    version: MOUNT_V3,
    label: 'MOUNT',
  })
  let root: Buffer
  try {
    root = (await mnt(mountRpc, o.export).catch((e) => Promise.reject(mountError(e)))).fh
  } finally {
    await mountRpc.close()
  }
  const rpc = new RpcClient({
    ...rpcOptions(o, nfsPort),
    program: NFS_PROGRAM,
    version: NFS_V3,
    label: 'NFS',
  })
  const nfs = new Nfs3Client(rpc)
  try {
    const info = await nfs.fsinfo(root)
    // rtmax/wtmax of 0 would be a broken server: fall back to the classic 32 KiB.
    const limit = Math.min(info.rtmax || 32 * 1024, info.wtmax || 32 * 1024)
    const ioSize = Math.max(4096, Math.min(o.ioSize, limit))
    let closing: Promise<void> | undefined
    return Object.freeze({
      nfs,
      root,
      ioSize,
      dirBytes: Math.max(8192, Math.min(ioSize, 256 * 1024)),
      nfsPort,
      mountPort,
      close() {
        closing ??= (async () => {
          await rpc.close()
          const m = new RpcClient({
            ...rpcOptions(o, mountPort),
            timeoutMs: Math.min(o.timeoutMs, 5000),
            program: MOUNT_PROGRAM,
            version: MOUNT_V3,
            label: 'MOUNT',
          })
          // UMNT only updates the server's advisory mount list: never fail a close on it.
          await umnt(m, o.export).catch(() => undefined)
          await m.close()
        })()
        return closing
      },
    })
  } catch (error) {
    await rpc.close()
    throw error
  }
}

/**
 * The connection test: a fresh session (portmapper, MNT, FSINFO), then FSSTAT and ACCESS
 * on the root, timed. Never throws for connectivity: `ok: false` and what failed, worded
 * without the export path.
 *
 * @example
 * ```ts
 * const { ok, latency_ms, message } = await probe(options)
 * ```
 */
export async function probe(o: ResolvedUserspaceOptions): Promise<ConnectionTestResult> {
  const started = performance.now()
  const latency = () => Math.round((performance.now() - started) * 1000) / 1000
  let s: NfsSession | undefined
  try {
    s = await openSession(o)
    const fs = await s.nfs.fsstat(s.root)
    const bits = ACCESS3.READ | ACCESS3.LOOKUP | ACCESS3.MODIFY | ACCESS3.EXTEND
    const writable = ((await s.nfs.access(s.root, bits)) & (ACCESS3.MODIFY | ACCESS3.EXTEND)) !== 0
    return {
      ok: true,
      latency_ms: latency(),
      message: writable ? 'Connected' : 'Connected (read-only for this client)',
      details: {
        total_bytes: fs.tbytes,
        free_bytes: fs.abytes,
        writable,
        nfs_port: s.nfsPort,
        mount_port: s.mountPort,
        io_size: s.ioSize,
      },
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    return {
      ok: false,
      latency_ms: latency(),
      message: message.replace(/^\[pstorage\] \[nfs\] /, ''),
    }
  } finally {
    await s?.close()
  }
}
