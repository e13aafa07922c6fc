import { PStorageError } from '@pstorage/core'

/**
 * One argument as a POSIX shell word: wrapped in single quotes, inside which the shell gives
 * no character a meaning (POSIX.1-2017 XCU §2.2.2); each `'` becomes `'\''` (close, escaped
 * quote, reopen). NUL cannot travel in a C string, so it is refused rather than truncated.
 *
 * @example
 * ```ts
 * quoteArg("it's") // 'it'\''s'
 * ```
 */
export function quoteArg(arg: string): string {
  if (typeof arg !== 'string')
    throw new PStorageError('bad_request', '[pstorage] [shell] arguments must be strings')
  if (arg.includes('\0'))
    throw new PStorageError('bad_request', '[pstorage] [shell] arguments cannot contain NUL')
  return `'${arg.replaceAll("'", "'\\''")}'`
}

/**
 * Turns argv into the one command line an SSH server hands to the login shell, so that a
 * POSIX shell (`sh`, `bash`, `dash`, `zsh`, `ksh`) runs exactly `argv`: every element is
 * single-quoted, always, whatever it contains (security.md, "Command injection over SSH",
 * defence 2). Only the SSH runner uses it; drivers pass argv arrays. Not for csh or fish,
 * whose quoting differs.
 *
 * @example
 * ```ts
 * shellQuote(['printf', '%s\n', '$(id)']) // `'printf' '%s\n' '$(id)'`
 * ```
 */
export function shellQuote(argv: readonly string[]): string {
  if (!Array.isArray(argv) || argv.length === 0)
    throw new PStorageError('bad_request', '[pstorage] [shell] argv must not be empty')
  return argv.map(quoteArg).join(' ')
}
