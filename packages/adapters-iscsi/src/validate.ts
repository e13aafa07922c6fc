import { isIP } from 'node:net'
import {
  assertBackingFileName,
  assertChapSecret,
  assertChapUser,
  assertLunName,
  type CreateLunInput,
  type InitiatorInput,
  normalizeIqn,
  type PortalAddress,
  PStorageError,
  type SetChapInput,
} from '@pstorage/core'

/** Largest LUN the drivers create: 64 TiB (LIO fileio and tgt handle more; a typo does not). */
export const MAX_LUN_BYTES = 64 * 2 ** 40

/**
 * Characters of a backing directory: the driver writes it into tgt config files and
 * targetcli parameters, whose grammars leave no room for spaces, quotes or `=`.
 */
const DIR = /^(\/[A-Za-z0-9._+-]+)+$/

function bad(field: string, detail: string): PStorageError {
  return new PStorageError('bad_request', `${field} ${detail}`, { details: { field } })
}

/**
 * Checks a driver's backing directory: absolute, normalised (no `.`/`..` segments, no
 * trailing `/`), letters, digits and `. _ + -` only, and not `/` itself.
 */
export function checkDirectory(input: unknown, field: string): string {
  if (typeof input !== 'string' || input.length > 1024 || !DIR.test(input))
    throw bad(field, "must be an absolute path of letters, digits and '._+-' segments")
  if (input.split('/').some((segment) => segment === '.' || segment === '..'))
    throw bad(field, "must not contain '.' or '..' segments")
  return input
}

/** Checks a portal: an IP address (never a host name: the target binds it) and a TCP port. */
export function checkPortal(input: unknown): PortalAddress {
  const p = input as Partial<PortalAddress> | null
  if (typeof p !== 'object' || p === null) throw bad('portal', 'is required')
  if (typeof p.address !== 'string' || isIP(p.address) === 0)
    throw bad('portal.address', 'must be an IPv4 or IPv6 address')
  if (!Number.isInteger(p.port) || (p.port as number) < 1 || (p.port as number) > 65_535)
    throw bad('portal.port', 'must be an integer in 1..65535')
  return { address: p.address.toLowerCase(), port: p.port as number }
}

/** Checks a LUN size: a positive multiple of 512 bytes, at most {@link MAX_LUN_BYTES}. */
export function checkSize(input: unknown): number {
  if (
    typeof input !== 'number' ||
    !Number.isSafeInteger(input) ||
    input <= 0 ||
    input % 512 !== 0 ||
    input > MAX_LUN_BYTES
  )
    throw bad('sizeBytes', 'must be a positive multiple of 512, at most 64 TiB')
  return input
}

/** A validated {@link CreateLunInput} with the IQN lowercased and the backing path derived. */
export interface CheckedLun {
  readonly name: string
  readonly iqn: string
  readonly sizeBytes: number
  readonly backingFile: string
  readonly backingPath: string
  readonly portal: PortalAddress
}

/** Validates everything `createLun` gets, before any command (security.md, defence 1). */
export function checkCreateLun(input: CreateLunInput, backingDir: string): CheckedLun {
  if (typeof input !== 'object' || input === null) throw bad('input', 'is required')
  assertLunName(input.name)
  const iqn = normalizeIqn(input.iqn)
  const sizeBytes = checkSize(input.sizeBytes)
  assertBackingFileName(input.backingFile)
  const portal = checkPortal(input.portal)
  return {
    name: input.name,
    iqn,
    sizeBytes,
    backingFile: input.backingFile,
    backingPath: `${backingDir}/${input.backingFile}`,
    portal,
  }
}

/** Validates a `deleteLun` input; returns the IQN lowercased and the backing path. */
export function checkDeleteLun(
  input: { readonly iqn: string; readonly backingFile: string },
  backingDir: string,
) {
  if (typeof input !== 'object' || input === null) throw bad('input', 'is required')
  const iqn = normalizeIqn(input.iqn)
  assertBackingFileName(input.backingFile)
  return { iqn, backingFile: input.backingFile, backingPath: `${backingDir}/${input.backingFile}` }
}

/** Validates a `setChap` input. */
export function checkSetChap(input: SetChapInput) {
  if (typeof input !== 'object' || input === null) throw bad('input', 'is required')
  const iqn = normalizeIqn(input.iqn)
  assertChapUser(input.userid)
  assertChapSecret(input.secret)
  return { iqn, userid: input.userid, secret: input.secret }
}

/** Validates an `allowInitiator`/`denyInitiator` input; both names lowercased. */
export function checkInitiator(input: InitiatorInput) {
  if (typeof input !== 'object' || input === null) throw bad('input', 'is required')
  return {
    iqn: normalizeIqn(input.iqn),
    initiatorIqn: normalizeIqn(input.initiatorIqn, 'initiatorIqn'),
  }
}

/** Validates the IQN-only input of `clearChap`. */
export function checkIqnOnly(input: { readonly iqn: string }): string {
  if (typeof input !== 'object' || input === null) throw bad('input', 'is required')
  return normalizeIqn(input.iqn)
}

/** The bare file name of `path` when it lies directly in `dir` and is a valid name. */
export function backingFileOf(path: string, dir: string): string | null {
  if (!path.startsWith(`${dir}/`)) return null
  const name = path.slice(dir.length + 1)
  try {
    assertBackingFileName(name)
    return name
  } catch {
    return null
  }
}
