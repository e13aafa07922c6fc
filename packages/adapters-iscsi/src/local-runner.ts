import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import type { CommandResult, CommandRunner } from '@pstorage/core'
import {
  checkArgv,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_MAX_OUTPUT_BYTES,
  iscsiError,
  OutputBuffer,
  positiveInt,
} from './runner-kit.js'

/** Options of {@link createLocalCommandRunner}. */
export interface LocalCommandRunnerOptions {
  /** Run commands as `sudo -n -- argv…`. @default false */
  readonly sudo?: boolean
  /** Default time one command may run; then it is killed (SIGKILL). @default 60000 */
  readonly commandTimeoutMs?: number
  /** Cap of each of stdout and stderr; more kills the command. @default 8 MiB */
  readonly maxOutputBytes?: number
}

const SCOPE = 'local'

/**
 * A {@link CommandRunner} on this machine: `child_process.spawn` of argv with no shell in
 * between, so nothing is ever parsed. A missing program answers code 127, as a shell would.
 * For a PStorage server that is itself the target host.
 *
 * @example
 * ```ts
 * const runner = createLocalCommandRunner({ sudo: true })
 * const driver = createTgtDriver({ runner, backingDir: '/srv/luns' })
 * ```
 */
export function createLocalCommandRunner(options: LocalCommandRunnerOptions = {}): CommandRunner {
  const defaultTimeout = positiveInt(
    SCOPE,
    'commandTimeoutMs',
    options.commandTimeoutMs,
    DEFAULT_COMMAND_TIMEOUT_MS,
  )
  const maxOutput = positiveInt(
    SCOPE,
    'maxOutputBytes',
    options.maxOutputBytes,
    DEFAULT_MAX_OUTPUT_BYTES,
  )
  let closed = false
  const children = new Set<ReturnType<typeof spawn>>()

  return {
    target: 'local',
    async run(argv, opts = {}) {
      checkArgv(SCOPE, argv)
      const timeoutMs = positiveInt(SCOPE, 'timeoutMs', opts.timeoutMs, defaultTimeout)
      if (closed) throw iscsiError(SCOPE, 'service_unavailable', 'The local runner is closed')
      const full =
        options.sudo === true && opts.sudo !== false ? ['sudo', '-n', '--', ...argv] : [...argv]
      const program = full[0]!
      return new Promise<CommandResult>((resolve, reject) => {
        const child = spawn(program, full.slice(1), {
          shell: false,
          stdio: ['pipe', 'pipe', 'pipe'],
          env: { ...process.env, LC_ALL: 'C' },
        })
        children.add(child)
        const stdout = new OutputBuffer(maxOutput)
        const stderr = new OutputBuffer(maxOutput)
        let failure: Error | undefined
        const kill = (error: Error) => {
          failure ??= error
          child.kill('SIGKILL')
        }
        const timer = setTimeout(
          () =>
            kill(
              iscsiError(
                SCOPE,
                'service_unavailable',
                `${argv[0]} timed out after ${timeoutMs} ms`,
                {
                  details: { timeoutMs },
                },
              ),
            ),
          timeoutMs,
        )
        const over = () =>
          kill(iscsiError(SCOPE, 'internal_error', `${argv[0]} wrote over ${maxOutput} bytes`))
        child.stdout.on('data', (c: Buffer) => stdout.push(c) || over())
        child.stderr.on('data', (c: Buffer) => stderr.push(c) || over())
        // A command that exits without reading its input must not fail the run (EPIPE).
        child.stdin.on('error', () => undefined)
        child.on('error', (e: NodeJS.ErrnoException) => {
          clearTimeout(timer)
          children.delete(child)
          if (e.code === 'ENOENT')
            resolve({ code: 127, stdout: '', stderr: `${program}: command not found\n` })
          else
            reject(iscsiError(SCOPE, 'service_unavailable', `Cannot run ${program}`, { cause: e }))
        })
        child.on('close', (code, signal) => {
          clearTimeout(timer)
          children.delete(child)
          if (failure) return reject(failure)
          const n = signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 0)
          resolve({ code: n, stdout: stdout.text(), stderr: stderr.text() })
        })
        child.stdin.end(opts.stdin ?? '')
      })
    },
    async close() {
      closed = true
      for (const child of children) child.kill('SIGKILL')
    },
  }
}
