import type { CommandRunner } from '@pstorage/core'
import { redactArgv } from './runner-kit.js'

/** One command seen by {@link withCommandAudit}. */
export interface CommandAuditEntry {
  /** `CommandRunner.target`: where it ran. */
  readonly target: string
  /** argv with secret values replaced by `***` (`redactArgv`); stdin is never recorded. */
  readonly argv: readonly string[]
  /** Whether it asked for root. */
  readonly sudo: boolean
  /** Exit status, absent when the command could not run. */
  readonly code?: number
  /** The error code when the command could not run (`service_unavailable`…). */
  readonly error?: string
  readonly durationMs: number
}

/**
 * Wraps a runner so every command is reported after it ends: the remote-command fields of
 * the audit log (security.md, "Audit log fields": host, redacted command, exit code,
 * duration). The wrapped runner behaves exactly like `runner`.
 *
 * @example
 * ```ts
 * const runner = withCommandAudit(ssh, (entry) => audit.record('iscsi.command', entry))
 * ```
 */
export function withCommandAudit(
  runner: CommandRunner,
  onCommand: (entry: CommandAuditEntry) => void,
): CommandRunner {
  return {
    get target() {
      return runner.target
    },
    async run(argv, options) {
      const started = performance.now()
      const base = { target: runner.target, argv: redactArgv(argv), sudo: options?.sudo !== false }
      const durationMs = () => Math.round((performance.now() - started) * 1000) / 1000
      try {
        const result = await runner.run(argv, options)
        onCommand({ ...base, code: result.code, durationMs: durationMs() })
        return result
      } catch (e) {
        const code = (e as { code?: unknown }).code
        onCommand({
          ...base,
          error: typeof code === 'string' ? code : 'error',
          durationMs: durationMs(),
        })
        throw e
      }
    },
    close: () => runner.close(),
  }
}
