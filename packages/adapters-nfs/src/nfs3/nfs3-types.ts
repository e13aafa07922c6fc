import type { XdrReader, XdrWriter } from '../rpc/xdr.js'
import { NFS3_FHSIZE } from './constants.js'

/** `nfstime3` (RFC 1813 §2.5). */
export interface NfsTime {
  readonly seconds: number
  readonly nseconds: number
}

/** `fattr3` (RFC 1813 §2.5): the attributes of a file system object. */
export interface Fattr3 {
  /** An `FTYPE3` value. */
  readonly type: number
  readonly mode: number
  readonly nlink: number
  readonly uid: number
  readonly gid: number
  readonly size: number
  /** Bytes allocated on disk. */
  readonly used: number
  readonly fsid: bigint
  readonly fileid: bigint
  readonly atime: NfsTime
  readonly mtime: NfsTime
  readonly ctime: NfsTime
}

/** Attributes to set (`sattr3`, RFC 1813 §2.5); absent fields are left unchanged. */
export interface Sattr3 {
  readonly mode?: number
  readonly uid?: number
  readonly gid?: number
  readonly size?: number
  /** `'server'` sets the server's current time. */
  readonly atime?: NfsTime | 'server'
  readonly mtime?: NfsTime | 'server'
}

function readTime(r: XdrReader): NfsTime {
  return { seconds: r.u32(), nseconds: r.u32() }
}

/**
 * Decodes a `fattr3`.
 *
 * @example
 * ```ts
 * const attrs = readFattr3(reader)
 * ```
 */
export function readFattr3(r: XdrReader): Fattr3 {
  const type = r.u32()
  const mode = r.u32()
  const nlink = r.u32()
  const uid = r.u32()
  const gid = r.u32()
  const size = r.u64Number()
  const used = r.u64Number()
  r.skip(8) // rdev: specdata3
  const fsid = r.u64()
  const fileid = r.u64()
  return { type, mode, nlink, uid, gid, size, used, fsid, fileid, ...readTimes(r) }
}

function readTimes(r: XdrReader): Pick<Fattr3, 'atime' | 'mtime' | 'ctime'> {
  return { atime: readTime(r), mtime: readTime(r), ctime: readTime(r) }
}

/**
 * Decodes a `post_op_attr`: attributes the server may or may not return.
 *
 * @example
 * ```ts
 * const attrs = readPostOpAttr(reader) ?? (await nfs.getattr(fh))
 * ```
 */
export function readPostOpAttr(r: XdrReader): Fattr3 | undefined {
  return r.bool() ? readFattr3(r) : undefined
}

/**
 * Skips a `wcc_data` (pre_op_attr + post_op_attr, RFC 1813 §2.6), returning the after
 * attributes.
 *
 * @example
 * ```ts
 * const after = readWccData(reader)
 * ```
 */
export function readWccData(r: XdrReader): Fattr3 | undefined {
  if (r.bool()) r.skip(8 + 8 + 8) // wcc_attr: size, mtime, ctime
  return readPostOpAttr(r)
}

/**
 * Decodes an `nfs_fh3` into a copy (a view would pin the whole reply buffer).
 *
 * @example
 * ```ts
 * const fh = readFh3(reader)
 * ```
 */
export function readFh3(r: XdrReader): Buffer {
  return Buffer.from(r.opaque(NFS3_FHSIZE))
}

/**
 * Decodes a `post_op_fh3`.
 *
 * @example
 * ```ts
 * const fh = readPostOpFh3(reader) ?? (await nfs.lookup(dir, name)).fh
 * ```
 */
export function readPostOpFh3(r: XdrReader): Buffer | undefined {
  return r.bool() ? readFh3(r) : undefined
}

function writeSetTime(w: XdrWriter, time: NfsTime | 'server' | undefined): void {
  // time_how: DONT_CHANGE = 0, SET_TO_SERVER_TIME = 1, SET_TO_CLIENT_TIME = 2
  if (time === undefined) w.u32(0)
  else if (time === 'server') w.u32(1)
  else w.u32(2).u32(time.seconds).u32(time.nseconds)
}

/**
 * Encodes a `sattr3`.
 *
 * @example
 * ```ts
 * writeSattr3(w, { mode: 0o644 })
 * ```
 */
export function writeSattr3(w: XdrWriter, s: Sattr3): void {
  for (const value of [s.mode, s.uid, s.gid]) {
    w.bool(value !== undefined)
    if (value !== undefined) w.u32(value)
  }
  w.bool(s.size !== undefined)
  if (s.size !== undefined) w.u64(s.size)
  writeSetTime(w, s.atime)
  writeSetTime(w, s.mtime)
}

/**
 * Encodes `diropargs3`: a directory handle and a name (raw bytes, as NFS names are).
 *
 * @example
 * ```ts
 * writeDirOpArgs(w, dirFh, Buffer.from('a.txt'))
 * ```
 */
export function writeDirOpArgs(w: XdrWriter, dir: Uint8Array, name: Uint8Array): void {
  w.opaque(dir).opaque(name)
}

/**
 * The `modified_at` of an `nfstime3`, as RFC 3339 UTC.
 *
 * @example
 * ```ts
 * isoTime({ seconds: 0, nseconds: 5e8 }) // '1970-01-01T00:00:00.500Z'
 * ```
 */
export function isoTime(t: NfsTime): string {
  return new Date(t.seconds * 1000 + Math.floor(t.nseconds / 1e6)).toISOString()
}

/** The answer of LOOKUP, CREATE and MKDIR: a handle and, usually, its attributes. */
export interface NfsObject {
  readonly fh: Buffer
  readonly attrs?: Fattr3 | undefined
}

/** The answer of READ (RFC 1813 §3.3.6). */
export interface Read3Result {
  /** A view of the reply: valid as long as it is referenced. */
  readonly data: Buffer
  readonly eof: boolean
}

/** The answer of WRITE (RFC 1813 §3.3.7). */
export interface Write3Result {
  readonly count: number
  /** The `STABLE_HOW` the server actually applied. */
  readonly committed: number
  /** The write verifier: changes when the server restarts (unstable data may be lost). */
  readonly verf: Buffer
}

/** One `entryplus3` of READDIRPLUS (RFC 1813 §3.3.17). */
export interface DirEntryPlus {
  /** Raw name bytes (NFS names are opaque; most servers store UTF-8). */
  readonly name: Buffer
  readonly cookie: bigint
  readonly attrs?: Fattr3 | undefined
  readonly fh?: Buffer | undefined
}

/** One reply of READDIRPLUS. */
export interface ReaddirPlus3Result {
  readonly entries: DirEntryPlus[]
  readonly cookieverf: Buffer
  readonly eof: boolean
}

/** The answer of FSSTAT (RFC 1813 §3.3.18), sizes in bytes. */
export interface FsStat3 {
  readonly tbytes: number
  readonly fbytes: number
  readonly abytes: number
  readonly tfiles: number
  readonly ffiles: number
  readonly afiles: number
}

/** The answer of FSINFO (RFC 1813 §3.3.19). */
export interface FsInfo3 {
  readonly rtmax: number
  readonly rtpref: number
  readonly wtmax: number
  readonly wtpref: number
  readonly dtpref: number
  readonly maxfilesize: number
}

/** How CREATE treats an existing name (RFC 1813 §3.3.8). */
export type CreateHow =
  | { readonly mode: 'unchecked' | 'guarded'; readonly attrs: Sattr3 }
  | { readonly mode: 'exclusive'; readonly verf: Uint8Array }
