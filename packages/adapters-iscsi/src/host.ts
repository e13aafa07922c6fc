import type { CommandResult, CommandRunner, CommandRunOptions, ErrorCode } from '@pstorage/core'
import { iscsiError, redactArgv, stderrExcerpt } from './runner-kit.js'

/** What {@link Host.stat} found at a path (lstat semantics: a symlink is `other`). */
export type FileInfo =
  | { readonly kind: 'missing' }
  | { readonly kind: 'file'; readonly size: number }
  | { readonly kind: 'other' }

/** Debian packages to name when a tool is missing on the host. */
const PACKAGES: Record<string, string> = {
  tgtadm: 'tgt',
  targetcli: 'targetcli-fb',
  sudo: 'sudo',
  timeout: 'coreutils',
}

const S_IFMT = 0o170000
const S_IFREG = 0o100000
const S_IFDIR = 0o040000

/**
 * The file and process operations the drivers need on a target host, each one command
 * through the runner: argv only, every path already validated by the caller. Failures
 * become `PStorageError`s carrying the redacted command, its exit code and a stderr excerpt.
 */
export interface Host {
  readonly runner: CommandRunner
  /** Runs a command; a non-zero exit becomes an error unless `allow` lists it. */
  run(
    argv: readonly string[],
    options?: CommandRunOptions & { readonly allow?: readonly number[] },
  ): Promise<CommandResult>
  /** The error for a command that failed, for callers that inspect the result first. */
  failure(argv: readonly string[], result: CommandResult, code?: ErrorCode): Error
  /** lstat of `path` in the existing directory `dir` (locale-independent, one command). */
  stat(dir: string, path: string): Promise<FileInfo>
  /** lstat of many paths: the size of each regular file, `null` for anything else. */
  sizes(paths: readonly string[]): Promise<Map<string, number | null>>
  /** Creates `path` as a sparse file of `size` bytes (`truncate`: no data is written). */
  createSparse(path: string, size: number): Promise<void>
  /** Removes `path` (a symlink itself, never its target); a missing file is fine. */
  remove(path: string): Promise<void>
  /** True if `path` is a directory (symlinks followed, as tgt and LIO would). */
  isDirectory(path: string): Promise<boolean>
  /** Free and total bytes of the file system holding `dir` (POSIX `df -Pk`). */
  space(dir: string): Promise<{ freeBytes: number; totalBytes: number }>
  /**
   * The space of the backing directory, for a driver's `probe`: `service_unavailable` if
   * the directory is missing on the host.
   */
  backingSpace(dir: string): Promise<{ freeBytes: number; totalBytes: number }>
  /** The content of `path`, or `null` if it does not exist in `dir`. */
  read(dir: string, path: string): Promise<string | null>
  /** Writes `content` to `path` atomically (temp file + rename), mode 0600. */
  write(path: string, content: string): Promise<void>
}

/** Creates the {@link Host} of a driver; `scope` words its errors (`tgt`, `targetcli`). */
export function createHost(runner: CommandRunner, scope: string): Host {
  function failure(argv: readonly string[], result: CommandResult, code?: ErrorCode): Error {
    const program = argv[0] ?? ''
    const details = {
      command: redactArgv(argv).join(' '),
      exit_code: result.code,
      stderr: stderrExcerpt(result.stderr || result.stdout),
    }
    if (result.code === 127)
      return iscsiError(
        scope,
        'service_unavailable',
        `${program} is not installed on ${runner.target}` +
          (PACKAGES[program] ? ` (Debian package ${PACKAGES[program]})` : ''),
        { details },
      )
    if (
      /sudo: a (password|terminal) is required|is not allowed to (execute|run sudo)/.test(
        result.stderr,
      )
    )
      return iscsiError(
        scope,
        'service_unavailable',
        `sudo refused ${program} on ${runner.target}: grant it NOPASSWD (see the README)`,
        { details },
      )
    const first = details.stderr.split('\n')[0] ?? ''
    return iscsiError(
      scope,
      code ?? 'internal_error',
      `${program} failed on ${runner.target} (exit ${result.code})${first ? `: ${first}` : ''}`,
      { details },
    )
  }

  async function run(
    argv: readonly string[],
    options: CommandRunOptions & { readonly allow?: readonly number[] } = {},
  ): Promise<CommandResult> {
    const { allow = [], ...runOptions } = options
    const result = await runner.run(argv, runOptions)
    if (result.code !== 0 && !allow.includes(result.code)) throw failure(argv, result)
    return result
  }

  async function sizes(paths: readonly string[]): Promise<Map<string, number | null>> {
    const found = new Map<string, number | null>(paths.map((p) => [p, null]))
    if (paths.length === 0) return found
    // `%n` echoes each path as given; a missing one only prints to stderr (exit 1).
    const result = await run(['stat', '--printf=%f\\t%s\\t%n\\n', '--', ...paths], {
      allow: [1],
    })
    for (const line of result.stdout.split('\n')) {
      const [mode, size, ...rest] = line.split('\t')
      const path = rest.join('\t')
      if (!found.has(path) || mode === undefined || size === undefined) continue
      const isFile = (Number.parseInt(mode, 16) & S_IFMT) === S_IFREG
      found.set(path, isFile && /^\d+$/.test(size) ? Number(size) : null)
    }
    return found
  }

  async function stat(dir: string, path: string): Promise<FileInfo> {
    // The directory goes first: its line proves stat ran, so a missing line for `path` means
    // "no such file" without parsing a localised error message.
    const argv = ['stat', '--printf=%f\\t%s\\t%n\\n', '--', dir, path]
    const result = await run(argv, { allow: [1] })
    const lines = result.stdout.split('\n').filter(Boolean)
    if (!lines.some((l) => l.endsWith(`\t${dir}`)))
      throw failure(argv, result, 'service_unavailable')
    const line = lines.find((l) => l.endsWith(`\t${path}`))
    if (!line) return { kind: 'missing' }
    const [mode, size] = line.split('\t')
    if ((Number.parseInt(mode ?? '', 16) & S_IFMT) !== S_IFREG) return { kind: 'other' }
    return { kind: 'file', size: Number(size) }
  }

  const host: Host = {
    runner,
    run,
    failure,
    stat,
    sizes,
    async createSparse(path, size) {
      await run(['truncate', `--size=${size}`, '--', path])
    },
    async remove(path) {
      await run(['rm', '-f', '--', path])
    },
    async isDirectory(path) {
      const result = await run(['stat', '-L', '--printf=%f', '--', path], { allow: [1] })
      return result.code === 0 && (Number.parseInt(result.stdout, 16) & S_IFMT) === S_IFDIR
    },
    async space(dir) {
      const result = await run(['df', '-Pk', '--', dir], { sudo: false })
      const last = result.stdout.trim().split('\n').at(-1) ?? ''
      // Filesystem and mount point may hold spaces; the numbers before "NN%" may not.
      const m = /\s(\d+)\s+(\d+)\s+(\d+)\s+\d+%\s/.exec(` ${last} `)
      if (!m) throw failure(['df', '-Pk', '--', dir], result)
      return { totalBytes: Number(m[1]) * 1024, freeBytes: Number(m[3]) * 1024 }
    },
    async backingSpace(dir) {
      if (!(await host.isDirectory(dir))) {
        throw iscsiError(
          scope,
          'service_unavailable',
          `The backing directory ${dir} is missing on ${runner.target}`,
        )
      }
      return host.space(dir)
    },
    async read(dir, path) {
      const result = await run(['cat', '--', path], { allow: [1] })
      if (result.code === 0) return result.stdout
      if ((await stat(dir, path)).kind === 'missing') return null
      throw failure(['cat', '--', path], result)
    },
    async write(path, content) {
      const temp = `${path}.pstorage-tmp`
      await run(['install', '-m', '600', '-T', '/dev/stdin', temp], { stdin: content })
      await run(['mv', '-f', '-T', '--', temp, path])
    },
  }
  return host
}
