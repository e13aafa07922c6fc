import { PStorageError } from '../errors.js'

/** LUN names: lowercase, digits, `_` and `-`, 1–64 characters (security.md, defence 1). */
export const LUN_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/

/**
 * Backing file names: a LUN-name stem and an optional short extension (`vol1.img`). No `/`,
 * no leading dot, so never `.`, `..` or a hidden file: the file stays inside the backing
 * directory whatever the driver joins it to.
 */
export const BACKING_FILE_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}(\.[a-z0-9]{1,8})?$/

function refuse(field: string, rule: string): PStorageError {
  return new PStorageError('bad_request', `${field} must match ${rule}`, { details: { field } })
}

/**
 * Checks a LUN name against {@link LUN_NAME_PATTERN}; throws `bad_request` without echoing
 * the value.
 *
 * @example
 * ```ts
 * assertLunName('vol-1')     // ok
 * assertLunName("a'; rm -rf") // throws bad_request
 * ```
 */
export function assertLunName(input: unknown, field = 'name'): asserts input is string {
  if (typeof input !== 'string' || !LUN_NAME_PATTERN.test(input))
    throw refuse(field, '^[a-z0-9][a-z0-9_-]{0,63}$')
}

/**
 * Checks a backing file name against {@link BACKING_FILE_PATTERN}: a bare name the driver
 * places in its backing directory, never a path.
 *
 * @example
 * ```ts
 * assertBackingFileName('vol1.img')        // ok
 * assertBackingFileName('../../etc/passwd') // throws bad_request
 * ```
 */
export function assertBackingFileName(
  input: unknown,
  field = 'backingFile',
): asserts input is string {
  if (typeof input !== 'string' || !BACKING_FILE_PATTERN.test(input))
    throw refuse(field, '^[a-z0-9][a-z0-9_-]{0,63}(\\.[a-z0-9]{1,8})?$ (a file name, not a path)')
}
