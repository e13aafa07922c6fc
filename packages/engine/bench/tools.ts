/**
 * Process helpers of the engine benchmark: installing missing Debian tools, running
 * commands (optionally under `/usr/bin/time -v` for the peak RSS of the process doing the
 * work), `du`, SHA-256 of files and the versions of the tools compared.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** What a finished command printed. */
export interface RunOutput {
  readonly stdout: string
  readonly stderr: string
}

/** A command measured as a whole process: wall time and its own peak resident memory. */
export interface Measured extends RunOutput {
  readonly seconds: number
  /** "Maximum resident set size" of `/usr/bin/time -v`, in bytes. */
  readonly peakRssBytes: number
  /** "Percent of CPU this job got" (200 = two cores busy for the whole run). */
  readonly cpuPercent: number
}

/** Options of {@link run}. */
export interface RunOptions {
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
}

/**
 * Arguments that run one of the benchmark's `.ts` files in a child `node`, with the resolve
 * hook of ts-resolve.ts (its imports use `.js` specifiers) and optional node flags.
 *
 * @example
 * ```ts
 * await measure(process.execPath, nodeArgs(fileURLToPath(import.meta.url), [json]))
 * ```
 */
export function nodeArgs(script: string, args: readonly string[], flags: readonly string[] = []) {
  const resolver = fileURLToPath(new URL('./ts-resolve.ts', import.meta.url))
  return [...flags, '--import', resolver, script, ...args]
}

/** True if `command` is on PATH (or is an executable path). */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v "${command}"`], { stdio: 'ignore' }).status === 0
}

/**
 * Installs the Debian packages of the commands that are missing (`command -v`), with
 * `apt-get update` then `apt-get install -y`, so a fresh machine can run the benchmark.
 *
 * @example
 * ```ts
 * await ensureCommands({ restic: 'restic', borg: 'borgbackup' }, console.error)
 * ```
 */
export async function ensureCommands(
  wanted: Readonly<Record<string, string>>,
  log: (line: string) => void,
): Promise<void> {
  const missing = [
    ...new Set(
      Object.entries(wanted)
        .filter(([command]) => !hasCommand(command))
        .map(([, pkg]) => pkg),
    ),
  ]
  if (missing.length === 0) return
  if (process.getuid?.() !== 0)
    throw new Error(`missing Debian packages ${missing.join(' ')}: install them (needs root)`)
  log(`installing ${missing.join(' ')} with apt-get`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  await run('apt-get', ['update', '-qq'], { env })
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env })
  const still = Object.keys(wanted).filter((command) => !hasCommand(command))
  if (still.length > 0) throw new Error(`still missing after apt-get: ${still.join(' ')}`)
}

/**
 * Runs a command to completion; rejects with its stderr if it exits non-zero.
 *
 * @example
 * ```ts
 * const { stdout } = await run('du', ['-s', '-B1', dir])
 * ```
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}) {
  return new Promise<RunOutput>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    child.once('error', reject)
    child.once('close', (code, signal) => {
      const result = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }
      if (code === 0) resolve(result)
      else {
        const tail = result.stderr.trim().split('\n').slice(-15).join('\n')
        reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal}):\n${tail}`))
      }
    })
  })
}

/**
 * Runs a command under `/usr/bin/time -v` and returns its wall time (measured here, around
 * the whole process) and its peak RSS as `time` reports it.
 *
 * @example
 * ```ts
 * const { seconds, peakRssBytes } = await measure('restic', ['backup', ...files], { env })
 * ```
 */
export async function measure(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'pstorage-bench-time-'))
  const report = join(dir, 'time.txt')
  try {
    const started = process.hrtime.bigint()
    const output = await run('/usr/bin/time', ['-v', '-o', report, command, ...args], options)
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const text = readFileSync(report, 'utf8')
    const kib = /Maximum resident set size \(kbytes\): (\d+)/.exec(text)
    if (!kib?.[1]) throw new Error(`/usr/bin/time reported no peak RSS for ${command}`)
    const cpu = Number(/Percent of CPU this job got: (\d+)%/.exec(text)?.[1] ?? Number.NaN)
    return { ...output, seconds, peakRssBytes: Number(kib[1]) * 1024, cpuPercent: cpu }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Bytes a directory or file occupies on disk (`du -s -B1`: allocated blocks, not sizes). */
export async function duBytes(path: string): Promise<number> {
  const { stdout } = await run('du', ['-s', '-B1', path])
  return Number(stdout.split('\t')[0])
}

/** SHA-256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) hash.update(chunk)
  return hash.digest('hex')
}

/** First line of a command's version output, or `'unknown'`. */
function versionOf(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' })
  const text = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim()
  return text.split('\n')[0]?.trim() || 'unknown'
}

/** Versions of everything the figures depend on, for the report. */
export function toolVersions(): Record<string, string> {
  return {
    node: process.version,
    restic: versionOf('restic', ['version']),
    borg: versionOf('borg', ['--version']),
    debootstrap: versionOf('debootstrap', ['--version']),
    mke2fs: versionOf('mke2fs', ['-V']),
    kernel: versionOf('uname', ['-r']),
  }
}
