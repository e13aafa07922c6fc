import type { RpcClient } from '../rpc/rpc-client.js'
import { RpcError } from '../rpc/rpc-error.js'
import { XdrError, type XdrReader, type XdrWriter } from '../rpc/xdr.js'
import { CREATE_MODE, NFS3_VERFSIZE, NFSPROC3 } from './constants.js'
import { NfsStatusError } from './nfs-status-error.js'
import {
  type CreateHow,
  type DirEntryPlus,
  type Fattr3,
  type FsInfo3,
  type FsStat3,
  type NfsObject,
  type Read3Result,
  type ReaddirPlus3Result,
  readFattr3,
  readFh3,
  readPostOpAttr,
  readPostOpFh3,
  readWccData,
  type Sattr3,
  type Write3Result,
  writeDirOpArgs,
  writeSattr3,
} from './nfs3-types.js'

type Proc = keyof typeof NFSPROC3
// Procedures safe to send twice (RFC 1813 §4.1's "idempotent" list; READDIRPLUS, FSSTAT,
// FSINFO, COMMIT are too). CREATE/MKDIR/REMOVE/RMDIR/RENAME/LINK are not: after a lost
// connection their outcome is unknown, and a retry could report EXIST or NOENT wrongly.
const IDEMPOTENT: ReadonlySet<Proc> = new Set<Proc>([
  'NULL',
  'GETATTR',
  'LOOKUP',
  'ACCESS',
  'READ',
  'WRITE',
  'READDIRPLUS',
  'FSSTAT',
  'FSINFO',
  'COMMIT',
])
/** The largest name accepted in a listing (servers' NAME_MAX is 255; allow slack). */
const MAX_NAME_BYTES = 4096
const ZERO_VERF = Buffer.alloc(NFS3_VERFSIZE)

/**
 * NFSv3 procedures (RFC 1813 §3.3) over an {@link RpcClient}. Each method sends one call
 * and decodes its result; a status other than NFS3_OK is an {@link NfsStatusError}.
 * Idempotent procedures are resent once if the connection dropped under them.
 *
 * @example
 * ```ts
 * const nfs = new Nfs3Client(rpc)
 * const { fh } = await nfs.lookup(rootFh, Buffer.from('isos'))
 * ```
 */
export class Nfs3Client {
  readonly #rpc: RpcClient

  constructor(rpc: RpcClient) {
    this.#rpc = rpc
  }

  async #call<T>(proc: Proc, encode: (w: XdrWriter) => void, ok: (r: XdrReader) => T): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let r: XdrReader
      try {
        r = await this.#rpc.call(NFSPROC3[proc], encode)
      } catch (error) {
        const lost = error instanceof RpcError && error.failure === 'disconnected'
        if (lost && attempt === 1 && IDEMPOTENT.has(proc)) continue
        throw error
      }
      let status: number
      try {
        status = r.u32()
        if (status === 0) return ok(r)
      } catch (error) {
        if (!(error instanceof XdrError)) throw error
        throw new RpcError('protocol', 'service_unavailable', `Malformed ${proc} reply`, error)
      }
      throw new NfsStatusError(proc, status)
    }
  }

  /** NULL: a round trip that does nothing (§3.3.0). */
  async null(): Promise<void> {
    await this.#call(
      'NULL',
      () => undefined,
      () => undefined,
    )
  }

  /** GETATTR (§3.3.1). */
  getattr(fh: Uint8Array): Promise<Fattr3> {
    return this.#call('GETATTR', (w) => w.opaque(fh), readFattr3)
  }

  /** SETATTR without a ctime guard (§3.3.2): truncation, mode. */
  async setattr(fh: Uint8Array, attrs: Sattr3): Promise<Fattr3 | undefined> {
    return this.#call(
      'SETATTR',
      (w) => {
        w.opaque(fh)
        writeSattr3(w, attrs)
        w.bool(false) // sattrguard3: no check
      },
      readWccData,
    )
  }

  /** LOOKUP of one name in a directory (§3.3.3); never follows a symlink. */
  lookup(dir: Uint8Array, name: Uint8Array): Promise<NfsObject> {
    return this.#call(
      'LOOKUP',
      (w) => writeDirOpArgs(w, dir, name),
      (r) => ({ fh: readFh3(r), attrs: readPostOpAttr(r) }),
    )
  }

  /** ACCESS (§3.3.4): which of the `ACCESS3` bits asked the server grants. */
  access(fh: Uint8Array, bits: number): Promise<number> {
    return this.#call(
      'ACCESS',
      (w) => w.opaque(fh).u32(bits),
      (r) => {
        readPostOpAttr(r)
        return r.u32()
      },
    )
  }

  /** READ of up to `count` bytes at `offset` (§3.3.6); may return fewer. */
  read(fh: Uint8Array, offset: number, count: number): Promise<Read3Result> {
    return this.#call(
      'READ',
      (w) => w.opaque(fh).u64(offset).u32(count),
      (r) => {
        readPostOpAttr(r)
        const got = r.u32()
        const eof = r.bool()
        const data = r.opaque(count)
        if (data.length !== got) throw new XdrError('READ count disagrees with its data')
        return { data, eof }
      },
    )
  }

  /** WRITE of `data` at `offset` (§3.3.7); `data` is sent by reference, not copied. */
  write(fh: Uint8Array, offset: number, data: Uint8Array, stable: number): Promise<Write3Result> {
    return this.#call(
      'WRITE',
      (w) => w.opaque(fh).u64(offset).u32(data.length).u32(stable).opaqueRef(data),
      (r) => {
        readWccData(r)
        const count = r.u32()
        const committed = r.u32()
        const verf = Buffer.from(r.fixedOpaque(NFS3_VERFSIZE))
        return { count, committed, verf }
      },
    )
  }

  /** CREATE of a regular file (§3.3.8). */
  create(dir: Uint8Array, name: Uint8Array, how: CreateHow): Promise<NfsObject | undefined> {
    return this.#call(
      'CREATE',
      (w) => {
        writeDirOpArgs(w, dir, name)
        if (how.mode === 'exclusive') w.u32(CREATE_MODE.EXCLUSIVE).fixedOpaque(how.verf)
        else {
          w.u32(how.mode === 'guarded' ? CREATE_MODE.GUARDED : CREATE_MODE.UNCHECKED)
          writeSattr3(w, how.attrs)
        }
      },
      readNewObject,
    )
  }

  /** MKDIR (§3.3.9); `NFS3ERR_EXIST` if the name is taken. */
  mkdir(dir: Uint8Array, name: Uint8Array, attrs: Sattr3): Promise<NfsObject | undefined> {
    return this.#call(
      'MKDIR',
      (w) => {
        writeDirOpArgs(w, dir, name)
        writeSattr3(w, attrs)
      },
      readNewObject,
    )
  }

  /** REMOVE of a non-directory (§3.3.12); a symlink is removed itself. */
  async remove(dir: Uint8Array, name: Uint8Array): Promise<void> {
    await this.#call('REMOVE', (w) => writeDirOpArgs(w, dir, name), readWccData)
  }

  /** RMDIR of an empty directory (§3.3.13). */
  async rmdir(dir: Uint8Array, name: Uint8Array): Promise<void> {
    await this.#call('RMDIR', (w) => writeDirOpArgs(w, dir, name), readWccData)
  }

  /** RENAME (§3.3.14): atomic, replaces a compatible target. */
  async rename(
    fromDir: Uint8Array,
    fromName: Uint8Array,
    toDir: Uint8Array,
    toName: Uint8Array,
  ): Promise<void> {
    await this.#call(
      'RENAME',
      (w) => {
        writeDirOpArgs(w, fromDir, fromName)
        writeDirOpArgs(w, toDir, toName)
      },
      () => undefined,
    )
  }

  /** LINK (§3.3.15): a new name for `fh`; `NFS3ERR_EXIST` if taken (atomic no-clobber). */
  async link(fh: Uint8Array, dir: Uint8Array, name: Uint8Array): Promise<void> {
    await this.#call(
      'LINK',
      (w) => {
        w.opaque(fh)
        writeDirOpArgs(w, dir, name)
      },
      () => undefined,
    )
  }

  /** One batch of READDIRPLUS (§3.3.17) after `cookie`; `.` and `..` are included. */
  readdirplus(
    dir: Uint8Array,
    cookie: bigint,
    cookieverf: Uint8Array,
    dircount: number,
    maxcount: number,
  ): Promise<ReaddirPlus3Result> {
    return this.#call(
      'READDIRPLUS',
      (w) =>
        w
          .opaque(dir)
          .u64(cookie)
          .fixedOpaque(cookie === 0n ? ZERO_VERF : cookieverf)
          .u32(dircount)
          .u32(maxcount),
      (r) => {
        readPostOpAttr(r)
        const verf = Buffer.from(r.fixedOpaque(NFS3_VERFSIZE))
        const entries: DirEntryPlus[] = []
        while (r.bool()) {
          r.u64() // fileid
          const name = Buffer.from(r.opaque(MAX_NAME_BYTES))
          const next = r.u64()
          entries.push({ name, cookie: next, attrs: readPostOpAttr(r), fh: readPostOpFh3(r) })
        }
        return { entries, cookieverf: verf, eof: r.bool() }
      },
    )
  }

  /** FSSTAT (§3.3.18). */
  fsstat(fh: Uint8Array): Promise<FsStat3> {
    return this.#call(
      'FSSTAT',
      (w) => w.opaque(fh),
      (r) => {
        readPostOpAttr(r)
        const [tbytes, fbytes, abytes, tfiles, ffiles, afiles] = Array.from({ length: 6 }, () =>
          r.u64Number(),
        ) as [number, number, number, number, number, number]
        return { tbytes, fbytes, abytes, tfiles, ffiles, afiles }
      },
    )
  }

  /** FSINFO (§3.3.19): transfer sizes and limits. */
  fsinfo(fh: Uint8Array): Promise<FsInfo3> {
    return this.#call(
      'FSINFO',
      (w) => w.opaque(fh),
      (r) => {
        readPostOpAttr(r)
        const rtmax = r.u32()
        const rtpref = r.u32()
        r.u32() // rtmult
        const wtmax = r.u32()
        const wtpref = r.u32()
        r.u32() // wtmult
        const dtpref = r.u32()
        const maxfilesize = Number(r.u64())
        return { rtmax, rtpref, wtmax, wtpref, dtpref, maxfilesize }
      },
    )
  }

  /** COMMIT (§3.3.21) of `count` bytes at `offset` (0, 0: the whole file); the verifier. */
  commit(fh: Uint8Array, offset = 0, count = 0): Promise<Buffer> {
    return this.#call(
      'COMMIT',
      (w) => w.opaque(fh).u64(offset).u32(count),
      (r) => {
        readWccData(r)
        return Buffer.from(r.fixedOpaque(NFS3_VERFSIZE))
      },
    )
  }
}

/** The OK body of CREATE and MKDIR: post_op_fh3, post_op_attr, wcc_data. */
function readNewObject(r: XdrReader): NfsObject | undefined {
  const fh = readPostOpFh3(r)
  const attrs = readPostOpAttr(r)
  readWccData(r)
  return fh ? { fh, attrs } : undefined
}
