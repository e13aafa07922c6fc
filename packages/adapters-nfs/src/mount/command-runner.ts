import { execFile } from 'node:child_process'

/** What a command printed and how it ended. */
export interface CommandResult {
  /** Exit code; non-zero (or -1 when it could not run) is a failure. */
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs a command given as an argv array, never a shell string, so no value can be read as
 * shell syntax. Declares only what the mount mode uses: inject one that runs over SSH,
 * through sudo, or records commands in tests.
 *
 * @example
 * ```ts
 * const runner: CommandRunner = { run: async (argv) => ({ code: 0, stdout: argv.join(' '), stderr: '' }) }
 * ```
 */
export interface CommandRunner {
  run(argv: readonly string[]): Promise<CommandResult>
}

/** Options of {@link execFileRunner}. */
export interface ExecFileRunnerOptions {
  /** Kill the command after this long. @default 60000 */
  readonly timeoutMs?: number
}

/**
 * A {@link CommandRunner} on `child_process.execFile` (no shell), with a timeout and a
 * 1 MiB cap on captured output. It never rejects: a missing binary is `code: -1`.
 *
 * @example
 * ```ts
 * const { code, stderr } = await execFileRunner().run(['mount', '-t', 'nfs', ...])
 * ```
 */
export function execFileRunner(options: ExecFileRunnerOptions = {}): CommandRunner {
  const timeout = options.timeoutMs ?? 60_000
  return Object.freeze({
    run(argv: readonly string[]): Promise<CommandResult> {
      const [file, ...args] = argv
      if (file === undefined) return Promise.resolve({ code: -1, stdout: '', stderr: 'empty argv' })
      return new Promise((resolve) => {
        execFile(
          file,
          args,
          { timeout, maxBuffer: 1024 * 1024, encoding: 'utf8', shell: false },
          (error, stdout, stderr) => {
            const raw = (error as { code?: unknown } | null)?.code
            const code = error === null ? 0 : typeof raw === 'number' ? raw : -1
            resolve({ code, stdout, stderr: stderr || (error?.message ?? '') })
          },
        )
      })
    },
  })
}
