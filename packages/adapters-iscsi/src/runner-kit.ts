import { type ErrorCode, PStorageError } from '@pstorage/core'

/** Default time a command may run. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 60_000
/** Default cap of each of stdout and stderr (security.md, API10: hostile output is bounded). */
export const DEFAULT_MAX_OUTPUT_BYTES = 8 * 1024 * 1024

/** A `PStorageError` worded `[pstorage] [<scope>] detail`, keeping the native error. */
export function iscsiError(
  scope: string,
  code: ErrorCode,
  detail: string,
  options: { cause?: unknown; details?: Record<string, unknown> } = {},
): PStorageError {
  return new PStorageError(code, `[pstorage] [${scope}] ${detail}`, options)
}

/** Refuses what no runner can execute faithfully: no program, non-strings, NUL bytes. */
export function checkArgv(scope: string, argv: readonly string[]): void {
  if (!Array.isArray(argv) || argv.length === 0 || argv[0] === '')
    throw iscsiError(scope, 'bad_request', 'argv must name a program')
  for (const arg of argv)
    if (typeof arg !== 'string' || arg.includes('\0'))
      throw iscsiError(scope, 'bad_request', 'argv elements must be strings without NUL')
}

/** A positive integer option, or `fallback` when absent. */
export function positiveInt(
  scope: string,
  name: string,
  value: number | undefined,
  fallback: number,
) {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v <= 0)
    throw iscsiError(scope, 'bad_request', `${name} must be a positive integer`)
  return v
}

const SECRET_ARG = /^(--?)?(password|secret|mutual_password|passphrase)=/i

/**
 * argv fit for logs and error details: values of `password=`, `--password=`, `secret=`…
 * (tgtadm and targetcli spellings) become `***`.
 *
 * @example
 * ```ts
 * redactArgv(['tgtadm', '--user=u', '--password=Abc123Def456']) // [..., '--password=***']
 * ```
 */
export function redactArgv(argv: readonly string[]): string[] {
  return argv.map((arg) => {
    const m = SECRET_ARG.exec(arg)
    return m ? `${m[0]}***` : arg
  })
}

/** Collects one output stream up to `max` bytes; `push` answers false once over the cap. */
export class OutputBuffer {
  readonly #chunks: Buffer[] = []
  #bytes = 0
  readonly #max: number

  constructor(max: number) {
    this.#max = max
  }

  push(chunk: Buffer | string): boolean {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    this.#bytes += b.length
    if (this.#bytes > this.#max) return false
    this.#chunks.push(b)
    return true
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8')
  }
}

/** The first lines of a stderr, for error details: bounded, control characters removed. */
export function stderrExcerpt(stderr: string, maxChars = 500): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  const clean = stderr.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').trim()
  return clean.length > maxChars ? `${clean.slice(0, maxChars)}…` : clean
}
