import { type ErrorCode, PStorageError } from '@pstorage/core'
import { DRIVER_NAME } from '../driver-name.js'
import { NFS3_STATUS } from './constants.js'

/**
 * The error code of an `nfsstat3` (RFC 1813 §2.6) or `mountstat3` (§5.1.5) value, when the
 * failure is read without more context. The driver refines a few by operation (a LOOKUP
 * through a file, `NOTDIR`, is `not_found` for the API).
 *
 * @example
 * ```ts
 * codeOfNfsStatus(2)  // 'not_found' (NFS3ERR_NOENT)
 * codeOfNfsStatus(17) // 'conflict' (NFS3ERR_EXIST)
 * ```
 */
export function codeOfNfsStatus(status: number): ErrorCode {
  switch (status) {
    case 2: // NOENT
    case 6: // NXIO
    case 19: // NODEV
    case 70: // STALE: the object was removed under us
      return 'not_found'
    case 1: // PERM
    case 13: // ACCES
    case 30: // ROFS
      return 'forbidden'
    case 17: // EXIST
    case 31: // MLINK
    case 66: // NOTEMPTY
    case 10002: // NOT_SYNC
      return 'conflict'
    case 18: // XDEV
    case 20: // NOTDIR
    case 21: // ISDIR
    case 22: // INVAL
    case 63: // NAMETOOLONG
    case 71: // REMOTE
    case 10007: // BADTYPE
      return 'bad_request'
    case 27: // FBIG
      return 'payload_too_large'
    case 28: // NOSPC
    case 69: // DQUOT
      return 'insufficient_capacity'
    case 10004: // NOTSUPP
      return 'not_applicable'
    case 10001: // BADHANDLE
    case 10008: // JUKEBOX: "try again later"
      return 'service_unavailable'
    default: // IO, SERVERFAULT, TOOSMALL, BAD_COOKIE and unknown values
      return 'internal_error'
  }
}

/**
 * The symbolic name of an `nfsstat3` value (`NFS3ERR_NOENT`), or `nfsstat3 <n>`.
 *
 * @example
 * ```ts
 * nfsStatusName(66) // 'NFS3ERR_NOTEMPTY'
 * ```
 */
export function nfsStatusName(status: number): string {
  return NFS3_STATUS[status] ?? `nfsstat3 ${status}`
}

/**
 * A procedure answered with a status other than `NFS3_OK` (or `MNT3_OK`). The message
 * names the procedure and status only; the driver rewraps it with the API path.
 *
 * @example
 * ```ts
 * if (error instanceof NfsStatusError && error.nfsStatus === NFS3ERR.NOENT) return undefined
 * ```
 */
export class NfsStatusError extends PStorageError {
  /** The `nfsstat3` value (`status` is the HTTP status, as on every `PStorageError`). */
  readonly nfsStatus: number
  /** Its symbolic name, `NFS3ERR_NOENT`. */
  readonly nfsStatusName: string
  /** `LOOKUP`, `MNT`… */
  readonly procedure: string

  constructor(procedure: string, status: number) {
    super(
      codeOfNfsStatus(status),
      `[pstorage] [${DRIVER_NAME}] ${procedure} failed: ${nfsStatusName(status)}`,
      { details: { nfs_status: nfsStatusName(status) } },
    )
    this.name = 'NfsStatusError'
    this.nfsStatus = status
    this.nfsStatusName = nfsStatusName(status)
    this.procedure = procedure
  }
}

/**
 * True if `error` is an {@link NfsStatusError} with one of `statuses`.
 *
 * @example
 * ```ts
 * const missing = await lookup().catch((e) => { if (hasNfsStatus(e, NFS3ERR.NOENT)) return undefined; throw e })
 * ```
 */
export function hasNfsStatus(error: unknown, ...statuses: number[]): boolean {
  return error instanceof NfsStatusError && statuses.includes(error.nfsStatus)
}
