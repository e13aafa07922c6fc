import { XdrError, XdrReader, XdrWriter } from './xdr.js'

// RFC 5531 §9: msg_type, reply_stat, accept_stat, reject_stat and auth_flavor values.
const CALL = 0
const REPLY = 1
const RPC_VERSION = 2
const MSG_ACCEPTED = 0
const MSG_DENIED = 1
/** `AUTH_NONE` (RFC 5531 §8.1). */
export const AUTH_NONE = 0
/** `AUTH_SYS`, formerly AUTH_UNIX (RFC 5531 appendix A). */
export const AUTH_SYS = 1
/** `opaque_auth` bodies are at most 400 bytes (RFC 5531 §8.2). */
const MAX_AUTH_BYTES = 400

/** The accept_stat values of an accepted reply that is not SUCCESS (RFC 5531 §9). */
export const ACCEPT_STAT: Readonly<Record<number, string>> = Object.freeze({
  1: 'PROG_UNAVAIL',
  2: 'PROG_MISMATCH',
  3: 'PROC_UNAVAIL',
  4: 'GARBAGE_ARGS',
  5: 'SYSTEM_ERR',
})

/** auth_stat values of a denied reply (RFC 5531 §9). */
export const AUTH_STAT: Readonly<Record<number, string>> = Object.freeze({
  1: 'AUTH_BADCRED',
  2: 'AUTH_REJECTEDCRED',
  3: 'AUTH_BADVERF',
  4: 'AUTH_REJECTEDVERF',
  5: 'AUTH_TOOWEAK',
  6: 'AUTH_INVALIDRESP',
  7: 'AUTH_FAILED',
})

/**
 * AUTH_SYS credentials (RFC 5531 appendix A). The server trusts them as sent: they are an
 * identity claim, not a secret, which is why NFS servers gate them by client address.
 *
 * @example
 * ```ts
 * const cred: AuthSysCredential = { machineName: 'pstorage', uid: 0, gid: 0, gids: [] }
 * ```
 */
export interface AuthSysCredential {
  /** At most 255 bytes. */
  readonly machineName: string
  readonly uid: number
  readonly gid: number
  /** Supplementary groups, at most 16. */
  readonly gids: readonly number[]
}

/** The header of one call (RFC 5531 §9, `call_body`). */
export interface RpcCallHeader {
  readonly xid: number
  readonly program: number
  readonly version: number
  readonly procedure: number
  /** `undefined` sends AUTH_NONE. */
  readonly credential?: AuthSysCredential | undefined
}

/**
 * Encodes the header of an RPC call into `w`; the procedure's arguments follow it.
 *
 * @example
 * ```ts
 * const w = new XdrWriter()
 * encodeCallHeader(w, { xid: 1, program: 100003, version: 3, procedure: 0 })
 * ```
 */
export function encodeCallHeader(w: XdrWriter, call: RpcCallHeader): XdrWriter {
  w.u32(call.xid).u32(CALL).u32(RPC_VERSION)
  w.u32(call.program).u32(call.version).u32(call.procedure)
  if (call.credential) {
    const c = call.credential
    const body = new XdrWriter()
    // The stamp is arbitrary (RFC 5531 appendix A); seconds keep it readable in captures.
    body.u32(Math.floor(Date.now() / 1000) >>> 0).string(c.machineName)
    body.u32(c.uid).u32(c.gid).u32(c.gids.length)
    for (const g of c.gids) body.u32(g)
    const bytes = body.toBuffer()
    if (bytes.length > MAX_AUTH_BYTES) throw new RangeError('AUTH_SYS credential too large')
    w.u32(AUTH_SYS).opaque(bytes)
  } else w.u32(AUTH_NONE).opaque(new Uint8Array(0))
  return w.u32(AUTH_NONE).opaque(new Uint8Array(0)) // verifier
}

/** A decoded reply: results to decode, or why the server did not run the call. */
export type RpcReply =
  | { readonly xid: number; readonly ok: true; readonly results: XdrReader }
  | {
      readonly xid: number
      readonly ok: false
      readonly kind: 'accept' | 'auth' | 'rpc_mismatch'
      /** e.g. `PROG_UNAVAIL`, `AUTH_TOOWEAK`, `RPC_MISMATCH`. */
      readonly reason: string
    }

/**
 * Decodes an RPC reply up to its results (RFC 5531 §9, `reply_body`). Returns `undefined`
 * for a CALL (a server-to-client callback, which this client does not serve); throws
 * {@link XdrError} for anything malformed.
 *
 * @example
 * ```ts
 * const reply = decodeReply(record)
 * if (reply?.ok) const status = reply.results.u32()
 * ```
 */
export function decodeReply(record: Uint8Array): RpcReply | undefined {
  const r = new XdrReader(record)
  const xid = r.u32()
  const type = r.u32()
  if (type === CALL) return undefined
  if (type !== REPLY) throw new XdrError(`invalid msg_type ${type}`)
  const stat = r.u32()
  if (stat === MSG_ACCEPTED) {
    r.u32() // verifier flavor
    r.opaque(MAX_AUTH_BYTES)
    const accept = r.u32()
    if (accept === 0) return { xid, ok: true, results: r }
    const name = ACCEPT_STAT[accept]
    if (!name) throw new XdrError(`invalid accept_stat ${accept}`)
    const range = accept === 2 ? ` (server supports versions ${r.u32()}..${r.u32()})` : ''
    return { xid, ok: false, kind: 'accept', reason: `${name}${range}` }
  }
  if (stat !== MSG_DENIED) throw new XdrError(`invalid reply_stat ${stat}`)
  const reject = r.u32()
  if (reject === 0)
    return { xid, ok: false, kind: 'rpc_mismatch', reason: `RPC_MISMATCH (${r.u32()}..${r.u32()})` }
  if (reject !== 1) throw new XdrError(`invalid reject_stat ${reject}`)
  const auth = r.u32()
  return { xid, ok: false, kind: 'auth', reason: AUTH_STAT[auth] ?? `auth_stat ${auth}` }
}
