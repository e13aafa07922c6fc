import { PStorageError } from '../errors.js'

/** Longest iSCSI name in bytes of UTF-8 (RFC 3720 §3.2.6.1; LIO `ISCSI_IQN_LEN` 224 with NUL). */
export const ISCSI_NAME_MAX_BYTES = 223

const LABEL = '[a-z0-9]([a-z0-9-]*[a-z0-9])?'
/**
 * `iqn.YYYY-MM.reversed.domain[:anything]` in the ASCII subset of RFC 3722's stringprep
 * profile (iscsi.md, "Suggested validator"): month 01–12, at least two domain labels, no
 * underscores (rtslib-fb refuses them), colons allowed after the first.
 */
const IQN = new RegExp(`^iqn\\.\\d{4}-(0[1-9]|1[0-2])\\.${LABEL}(\\.${LABEL})+(:[a-z0-9.:-]+)?$`)
/** `eui.` + 16 hex digits: an EUI-64 (RFC 3720 §3.2.6.3.2). */
const EUI = /^eui\.[0-9a-f]{16}$/
/** The naming authority part of {@link generateIqn}: labels as in the IQN, reversed order. */
const AUTHORITY = new RegExp(`^${LABEL}(\\.${LABEL})+$`)

/** Why {@link checkIscsiName} refused a name. */
export type IscsiNameProblem = 'not_a_string' | 'too_long' | 'malformed'

/**
 * Checks an iSCSI name (`iqn.` or `eui.` form), lowercasing it first since names are
 * case-insensitive (RFC 3722 §6); returns the stored form or the problem.
 *
 * @example
 * ```ts
 * checkIscsiName('IQN.2025-01.com.Example:vol1') // { ok: true, name: 'iqn.2025-01.com.example:vol1' }
 * checkIscsiName('iqn.2025-13.com.example:x')    // { ok: false, problem: 'malformed' }
 * ```
 */
export function checkIscsiName(
  input: unknown,
): { ok: true; name: string } | { ok: false; problem: IscsiNameProblem } {
  if (typeof input !== 'string') return { ok: false, problem: 'not_a_string' }
  // Checked before lowercasing: some characters grow when case-mapped, and the bound keeps
  // the regular expressions' work small on hostile input.
  if (Buffer.byteLength(input, 'utf8') > ISCSI_NAME_MAX_BYTES)
    return { ok: false, problem: 'too_long' }
  const name = input.toLowerCase()
  if (!IQN.test(name) && !EUI.test(name)) return { ok: false, problem: 'malformed' }
  return { ok: true, name }
}

/**
 * The stored (lowercase) form of an iSCSI name, or a `bad_request` naming `field` but not
 * echoing the value (it may be hostile: control characters, shell syntax).
 *
 * @example
 * ```ts
 * normalizeIqn('iqn.2025-01.com.example:VOL1') // 'iqn.2025-01.com.example:vol1'
 * normalizeIqn('initiator', 'initiatorIqn')    // throws bad_request
 * ```
 */
export function normalizeIqn(input: unknown, field = 'iqn'): string {
  const checked = checkIscsiName(input)
  if (checked.ok) return checked.name
  const reason =
    checked.problem === 'too_long'
      ? `is longer than ${ISCSI_NAME_MAX_BYTES} bytes`
      : checked.problem === 'not_a_string'
        ? 'must be a string'
        : 'must be an iqn.YYYY-MM.reversed.domain[:name] or eui.<16 hex> iSCSI name'
  throw new PStorageError('bad_request', `${field} ${reason} (RFC 3720 §3.2.6)`, {
    details: { field, reason: checked.problem },
  })
}

/** True if `input` is a valid iSCSI name (any case). */
export function isIscsiName(input: unknown): boolean {
  return checkIscsiName(input).ok
}

/** Options of {@link generateIqn}. */
export interface GenerateIqnOptions {
  /** When the naming authority held its domain: gives the `YYYY-MM` (UTC) of the IQN. */
  readonly createdAt: Date
  /**
   * The naming authority as it reads in the IQN, i.e. already reversed: `com.example` for
   * example.com. @default 'local.pstorage'
   */
  readonly domain?: string
  /** The unique part after `:`; lowercased, `_` becomes `-` (rtslib refuses underscores). */
  readonly name: string
}

/**
 * Builds `iqn.<yyyy-mm>.<domain>:<name>` (RFC 3720 §3.2.6.3.1) and validates it; a name
 * that cannot fit (characters, 223 bytes) is a `bad_request`. Distinct names give distinct
 * IQNs except `a_b`/`a-b`, which the caller's uniqueness check must cover.
 *
 * @example
 * ```ts
 * generateIqn({ createdAt: new Date('2025-01-15T00:00:00Z'), name: 'vol_1' })
 * // 'iqn.2025-01.local.pstorage:vol-1'
 * ```
 */
export function generateIqn(options: GenerateIqnOptions): string {
  const { createdAt, domain = 'local.pstorage', name } = options
  if (!(createdAt instanceof Date) || Number.isNaN(createdAt.getTime()))
    throw new PStorageError('bad_request', 'createdAt must be a valid date')
  const year = createdAt.getUTCFullYear()
  if (year < 1000 || year > 9999)
    throw new PStorageError('bad_request', 'createdAt must fall in years 1000..9999')
  const authority = typeof domain === 'string' ? domain.toLowerCase() : ''
  if (authority.length > ISCSI_NAME_MAX_BYTES || !AUTHORITY.test(authority))
    throw new PStorageError('bad_request', 'domain must be a reversed DNS name (com.example)', {
      details: { field: 'domain' },
    })
  if (typeof name !== 'string' || name.length === 0 || name.length > ISCSI_NAME_MAX_BYTES)
    throw new PStorageError('bad_request', 'name must be a non-empty string', {
      details: { field: 'name' },
    })
  const month = String(createdAt.getUTCMonth() + 1).padStart(2, '0')
  const iqn = `iqn.${year}-${month}.${authority}:${name.toLowerCase().replaceAll('_', '-')}`
  return normalizeIqn(iqn, 'name')
}
