import { constants } from 'node:os'
import {
  type CommandResult,
  type CommandRunner,
  type CommandRunOptions,
  createSemaphore,
  isPStorageError,
  type PStorageError,
} from '@pstorage/core'
import ssh2 from 'ssh2'
import { quoteArg } from './quote.js'
import {
  checkArgv,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_MAX_OUTPUT_BYTES,
  iscsiError,
  OutputBuffer,
  positiveInt,
} from './runner-kit.js'
import { fingerprintOf, normalizeFingerprint } from './ssh-fingerprint.js'

type Client = InstanceType<typeof ssh2.Client>

/** Options of {@link createSshCommandRunner}. */
export interface SshCommandRunnerOptions {
  /** Host name or address of the target host. */
  readonly host: string
  /** @default 22 */
  readonly port?: number
  readonly username: string
  /** OpenSSH or PEM private key (preferred over `password`). */
  readonly privateKey?: string | Buffer
  /** Passphrase of an encrypted `privateKey`. */
  readonly passphrase?: string
  readonly password?: string
  /**
   * The pinned host key, `SHA256:…` as OpenSSH prints it. A different key refuses the
   * connection, naming the key seen. Unset: any key is accepted (trust on first use) and
   * {@link SshCommandRunner.seenFingerprint} shows it so an operator can pin it.
   */
  readonly hostKeyFingerprint?: string
  /** Run commands as `sudo -n -- argv…` (non-interactive: a password prompt fails). @default false */
  readonly sudo?: boolean
  /** Time allowed for TCP connect, handshake and authentication. @default 10000 */
  readonly readyTimeoutMs?: number
  /** Default time one command may run. @default 60000 */
  readonly commandTimeoutMs?: number
  /** SSH-level keepalive interval; 0 disables. @default 15000 */
  readonly keepaliveIntervalMs?: number
  /** Unanswered keepalives before the connection counts as dropped. @default 3 */
  readonly keepaliveCountMax?: number
  /** Cap of each of stdout and stderr; more kills the command. @default 8 MiB */
  readonly maxOutputBytes?: number
  /** Commands in flight on the one connection (OpenSSH allows 10 sessions). @default 4 */
  readonly maxConcurrentCommands?: number
  /**
   * Runs before every connection attempt, the first and each one after a drop: where the
   * caller re-checks the host against its address policy (security.md, API7: "re-resolve per
   * connect"). A rejection fails the command with that error.
   */
  readonly beforeConnect?: () => Promise<void>
  /**
   * Also bound the command on the host with coreutils `timeout -k 5 <s>`, so a hung tool is
   * killed there and not only abandoned by PStorage. @default true
   */
  readonly remoteTimeout?: boolean
}

/** A {@link CommandRunner} over one reused SSH connection; see {@link createSshCommandRunner}. */
export interface SshCommandRunner extends CommandRunner {
  /** The host key fingerprint seen at the last handshake (also after a mismatch). */
  readonly seenFingerprint: string | undefined
  /** Connects now (runs connect lazily otherwise); for the connection test. */
  connect(): Promise<void>
}

const SCOPE = 'ssh'

function signalCode(signal: string | undefined): number {
  const n = signal ? constants.signals[`SIG${signal}` as keyof typeof constants.signals] : undefined
  return 128 + (n ?? 0)
}

/**
 * A {@link CommandRunner} executing argv on a remote host over SSH (`ssh2`): one connection,
 * opened on first use and reopened after a drop, carrying one exec channel per command.
 * The remote login shell receives argv single-quoted (`shellQuote`), so it must be a POSIX
 * shell. Output is capped, every command has a timeout (enforced locally and, by default,
 * with `timeout` on the host), and errors never carry the password, key or command line.
 *
 * @example
 * ```ts
 * const runner = createSshCommandRunner({
 *   host: '192.0.2.10', username: 'pstorage', privateKey,
 *   hostKeyFingerprint: 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s', sudo: true,
 * })
 * const { stdout } = await runner.run(['tgtadm', '--version'], { sudo: false })
 * ```
 */
export function createSshCommandRunner(options: SshCommandRunnerOptions): SshCommandRunner {
  const { host, username, privateKey, passphrase, password } = options
  if (typeof host !== 'string' || host.length === 0 || host.length > 253)
    throw iscsiError(SCOPE, 'bad_request', 'host is required')
  if (typeof username !== 'string' || username.length === 0)
    throw iscsiError(SCOPE, 'bad_request', 'username is required')
  if (privateKey === undefined && password === undefined)
    throw iscsiError(SCOPE, 'bad_request', 'a privateKey or a password is required')
  const port = positiveInt(SCOPE, 'port', options.port, 22)
  if (port > 65_535) throw iscsiError(SCOPE, 'bad_request', 'port must be 1..65535')
  const pinned =
    options.hostKeyFingerprint === undefined
      ? undefined
      : normalizeFingerprint(options.hostKeyFingerprint)
  const readyTimeout = positiveInt(SCOPE, 'readyTimeoutMs', options.readyTimeoutMs, 10_000)
  const defaultTimeout = positiveInt(
    SCOPE,
    'commandTimeoutMs',
    options.commandTimeoutMs,
    DEFAULT_COMMAND_TIMEOUT_MS,
  )
  const keepaliveInterval = options.keepaliveIntervalMs ?? 15_000
  const keepaliveCountMax = positiveInt(SCOPE, 'keepaliveCountMax', options.keepaliveCountMax, 3)
  if (!Number.isSafeInteger(keepaliveInterval) || keepaliveInterval < 0)
    throw iscsiError(SCOPE, 'bad_request', 'keepaliveIntervalMs must be a non-negative integer')
  const maxOutput = positiveInt(
    SCOPE,
    'maxOutputBytes',
    options.maxOutputBytes,
    DEFAULT_MAX_OUTPUT_BYTES,
  )
  const channels = createSemaphore({
    max: positiveInt(SCOPE, 'maxConcurrentCommands', options.maxConcurrentCommands, 4),
  })
  const sudo = options.sudo === true
  const remoteTimeout = options.remoteTimeout !== false
  const target = `ssh://${username}@${host.includes(':') ? `[${host}]` : host}:${port}`
  const where = `${host}:${port}`

  let closed = false
  let seenFingerprint: string | undefined
  let current: Promise<Client> | null = null
  /** Rejecters of the commands running on each connection, failed if it drops. */
  const inflight = new Map<Client, Set<(e: PStorageError) => void>>()

  const clientOf = new WeakMap<Promise<Client>, Client>()

  const unavailable = (detail: string, cause?: unknown, details?: Record<string, unknown>) =>
    iscsiError(SCOPE, 'service_unavailable', detail, { cause, ...(details ? { details } : {}) })

  function open(): Promise<Client> {
    return new Promise<Client>((resolve, reject) => {
      const client = new ssh2.Client()
      let ready = false
      let mismatch: string | undefined
      const fail = (error: PStorageError) => {
        if (ready) return
        ready = true
        reject(error)
        client.end()
      }
      client.on('ready', () => {
        if (ready) return
        ready = true
        inflight.set(client, new Set())
        resolve(client)
      })
      client.on('error', (err: Error & { level?: string }) => {
        if (mismatch !== undefined)
          return fail(
            unavailable(
              `Host key of ${where} does not match the pinned fingerprint: expected ${pinned}, saw ${mismatch}`,
              err,
              { expected: pinned, seen: mismatch },
            ),
          )
        if (err.level === 'client-authentication')
          return fail(unavailable(`SSH authentication as ${username} on ${where} failed`, err))
        if (err.level === 'client-timeout')
          return fail(unavailable(`SSH connection to ${where} timed out`, err))
        fail(unavailable(`Cannot connect to ${where} over SSH`, err))
      })
      client.on('close', () => {
        fail(unavailable(`SSH connection to ${where} closed during the handshake`))
        const pending = inflight.get(client)
        inflight.delete(client)
        for (const r of pending ?? []) r(unavailable(`SSH connection to ${where} was lost`))
        if (current && clientOf.get(current) === client) current = null
      })
      try {
        client.connect({
          host,
          port,
          username,
          ...(privateKey !== undefined ? { privateKey } : {}),
          ...(passphrase !== undefined ? { passphrase } : {}),
          ...(password !== undefined ? { password } : {}),
          readyTimeout,
          keepaliveInterval,
          keepaliveCountMax,
          hostVerifier: (key: Buffer): boolean => {
            seenFingerprint = fingerprintOf(key)
            if (pinned !== undefined && seenFingerprint !== pinned) {
              mismatch = seenFingerprint
              return false
            }
            return true
          },
        })
      } catch (cause) {
        // ssh2 throws synchronously on a key it cannot parse.
        fail(iscsiError(SCOPE, 'bad_request', 'The SSH private key cannot be used', { cause }))
      }
    })
  }

  function connection(): Promise<Client> {
    if (closed) return Promise.reject(unavailable('The SSH runner is closed'))
    if (!current) {
      const p = options.beforeConnect ? options.beforeConnect().then(open) : open()
      current = p
      p.then(
        (c) => clientOf.set(p, c),
        () => {
          if (current === p) current = null
        },
      )
    }
    return current
  }

  function exec(
    client: Client,
    argv: readonly string[],
    opts: CommandRunOptions,
    timeoutMs: number,
  ): Promise<CommandResult> {
    const prefix: string[] = []
    if (remoteTimeout) prefix.push('timeout', '-k', '5', String(Math.ceil(timeoutMs / 1000)))
    if (sudo && opts.sudo !== false) prefix.push('sudo', '-n', '--')
    const command = [...prefix, ...argv].map(quoteArg).join(' ')
    const program = argv[0]
    return new Promise<CommandResult>((resolve, reject) => {
      const pending = inflight.get(client)
      let done = false
      let timer: NodeJS.Timeout | undefined
      const settle = (fn: () => void) => {
        if (done) return
        done = true
        if (timer) clearTimeout(timer)
        pending?.delete(onDrop)
        fn()
      }
      const onDrop = (e: PStorageError) => settle(() => reject(e))
      pending?.add(onDrop)
      client.exec(command, (err, stream) => {
        if (err) {
          settle(() => reject(unavailable(`Cannot start ${program} on ${where}`, err)))
          return
        }
        const stdout = new OutputBuffer(maxOutput)
        const stderr = new OutputBuffer(maxOutput)
        let code: number | null = null
        let signal: string | undefined
        const kill = (error: PStorageError) => {
          settle(() => reject(error))
          stream.close()
        }
        timer = setTimeout(
          () =>
            kill(
              unavailable(`${program} on ${where} timed out after ${timeoutMs} ms`, undefined, {
                timeoutMs,
              }),
            ),
          timeoutMs,
        )
        const over = () =>
          kill(
            iscsiError(
              SCOPE,
              'internal_error',
              `${program} on ${where} wrote over ${maxOutput} bytes`,
            ),
          )
        stream.on('data', (chunk: Buffer) => {
          if (!stdout.push(chunk)) over()
        })
        stream.stderr.on('data', (chunk: Buffer) => {
          if (!stderr.push(chunk)) over()
        })
        stream.on('exit', (exitCode: number | null, exitSignal?: string) => {
          code = exitCode
          signal = exitSignal
        })
        stream.on('error', (e: Error) =>
          settle(() => reject(unavailable(`${program} on ${where} failed`, e))),
        )
        stream.on('close', () => {
          if (code === null && signal === undefined)
            settle(() => reject(unavailable(`${program} on ${where} ended without a status`)))
          else
            settle(() =>
              resolve({
                code: code ?? signalCode(signal),
                stdout: stdout.text(),
                stderr: stderr.text(),
              }),
            )
        })
        stream.end(opts.stdin ?? '')
      })
    })
  }

  return {
    target,
    get seenFingerprint() {
      return seenFingerprint
    },
    async connect() {
      await connection()
    },
    async run(argv, opts = {}) {
      checkArgv(SCOPE, argv)
      const timeoutMs = positiveInt(SCOPE, 'timeoutMs', opts.timeoutMs, defaultTimeout)
      if (closed) throw unavailable('The SSH runner is closed')
      return channels.run(async () => {
        const client = await connection()
        try {
          return await exec(client, argv, opts, timeoutMs)
        } catch (e) {
          if (isPStorageError(e)) throw e
          throw unavailable(`Cannot run ${argv[0]} on ${where}`, e)
        }
      })
    },
    async close() {
      if (closed) return
      closed = true
      const c = current
      current = null
      if (c)
        await c.then(
          (client) => client.end(),
          () => undefined,
        )
    },
  }
}
