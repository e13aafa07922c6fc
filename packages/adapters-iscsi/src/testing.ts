/**
 * Test harness of `@pstorage/adapters-iscsi`: a real target host on loopback, the one the
 * tgt driver is tested against: `sshd` (Debian `openssh-server`) on a free port with
 * throwaway keys, and `tgtd` (Debian `tgt`) with its own control socket and portal port, so
 * parallel test files never share one. Needs root (tgtd and sshd do).
 *
 * @example
 * ```ts
 * import { startTargetHost } from '@pstorage/adapters-iscsi/testing'
 * const host = await startTargetHost()
 * const runner = createSshCommandRunner({ ...host.ssh })
 * const driver = createTgtDriver({ runner, backingDir: host.backingDir,
 *   controlPort: host.controlPort, configDir: host.configDir })
 * await host.stop()
 * ```
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createHash, randomInt } from 'node:crypto'
import { constants } from 'node:fs'
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Options of {@link startTargetHost}. */
export interface StartTargetHostOptions {
  /** Programs to use; each defaults to its Debian location. */
  readonly binaries?: {
    readonly sshd?: string
    readonly sshKeygen?: string
    readonly tgtd?: string
    readonly tgtadm?: string
  }
  /** How long each daemon may take to answer. @default 15000 */
  readonly startTimeoutMs?: number
}

/** A running target host; see {@link startTargetHost}. */
export interface TargetHost {
  /** Options for `createSshCommandRunner`: root on loopback, key auth, pinned host key. */
  readonly ssh: {
    readonly host: '127.0.0.1'
    readonly port: number
    readonly username: 'root'
    readonly privateKey: string
    readonly hostKeyFingerprint: string
  }
  /** The iSCSI portal port tgtd listens on (127.0.0.1). */
  readonly tgtdPort: number
  /** tgtd's control port: pass it as the driver's `controlPort` (tgtadm `--control-port`). */
  readonly controlPort: number
  /** Environment-free form of the same: the argv prefix reaching this tgtd. */
  readonly tgtadm: readonly string[]
  /** The backing directory (empty at start). */
  readonly backingDir: string
  /** Where the tgt driver should write its config files (stands in for /etc/tgt/conf.d). */
  readonly configDir: string
  /** Kills tgtd and starts a fresh one on the same ports: a reboot, minus the disk. */
  restartTgtd(): Promise<void>
  /** Stops sshd and tgtd and deletes every file; idempotent. */
  stop(): Promise<void>
}

const PACKAGES = {
  sshd: ['/usr/sbin/sshd', 'openssh-server'],
  sshKeygen: ['/usr/bin/ssh-keygen', 'openssh-client'],
  tgtd: ['/usr/sbin/tgtd', 'tgt'],
  tgtadm: ['/usr/sbin/tgtadm', 'tgt'],
} as const

/** tgtd keeps its control socket and lock here (tgt's `TGT_IPC_DIR`). */
const TGT_IPC_DIR = '/var/run/tgtd'

async function executable(kind: keyof typeof PACKAGES, path: string | undefined) {
  const [fallback, pkg] = PACKAGES[kind]
  const file = path ?? fallback
  try {
    await access(file, constants.X_OK)
  } catch {
    throw new Error(
      `${file} is missing: the iSCSI driver tests need it (Debian/Ubuntu: apt-get install ${pkg})`,
    )
  }
  return file
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (typeof address !== 'object' || address === null) throw new Error('no free port')
  return address.port
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Resolves once `port` answers with an SSH banner. */
async function sshAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.setTimeout(1000)
    socket.once('data', (d) => {
      socket.destroy()
      resolve(d.toString().startsWith('SSH-2.0-'))
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

async function waitFor(
  child: ChildProcess,
  ready: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}): ${log()}`)
    if (await ready()) return
    await sleep(100)
  }
  throw new Error(`${what} did not start within ${timeoutMs} ms: ${log()}`)
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill(signal)
  await Promise.race([exited, sleep(5000)])
}

/** The OpenSSH fingerprint of a `.pub` line (`ssh-ed25519 AAAA… comment`). */
function fingerprintOfPub(pub: string): string {
  const blob = Buffer.from(pub.trim().split(/\s+/)[1] ?? '', 'base64')
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

/**
 * Starts sshd and tgtd on loopback for a test file. A missing program is an error naming
 * its Debian package, never a skip: these tests exist to run against the real daemons.
 */
export async function startTargetHost(options: StartTargetHostOptions = {}): Promise<TargetHost> {
  const b = options.binaries ?? {}
  const sshd = await executable('sshd', b.sshd)
  const sshKeygen = await executable('sshKeygen', b.sshKeygen)
  const tgtd = await executable('tgtd', b.tgtd)
  const tgtadmBin = await executable('tgtadm', b.tgtadm)
  const timeoutMs = options.startTimeoutMs ?? 15_000

  const dir = await mkdtemp(join(tmpdir(), 'pstorage-target-host-'))
  const backingDir = join(dir, 'luns')
  const configDir = join(dir, 'conf.d')
  await mkdir(backingDir)
  await mkdir(configDir)
  let sshdChild: ChildProcess | undefined
  let tgtdChild: ChildProcess | undefined
  let sshdLog = ''
  let tgtdLog = ''
  let controlPort = 0
  let stopped = false

  async function stop() {
    if (stopped) return
    stopped = true
    await stopChild(sshdChild, 'SIGTERM')
    // tgtd ignores SIGTERM while targets exist; nothing on disk needs a clean shutdown.
    await stopChild(tgtdChild, 'SIGKILL')
    if (controlPort > 0)
      for (const f of [`socket.${controlPort}`, `socket.${controlPort}.lock`])
        await rm(join(TGT_IPC_DIR, f), { force: true })
    await rm(dir, { recursive: true, force: true })
  }

  try {
    // sshd: a throwaway host key and client key, root by key only, no PAM.
    const hostKey = join(dir, 'ssh_host_ed25519_key')
    const clientKey = join(dir, 'id_ed25519')
    for (const key of [hostKey, clientKey])
      await run(sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'pstorage-test', '-f', key])
    await writeFile(join(dir, 'authorized_keys'), await readFile(`${clientKey}.pub`, 'utf8'))
    const sshPort = await freePort()
    const config = join(dir, 'sshd_config')
    await writeFile(
      config,
      [
        `Port ${sshPort}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'MaxSessions 16',
        'LogLevel ERROR',
        '',
      ].join('\n'),
    )
    // sshd's privilege separation directory; Debian creates it at boot, containers may not.
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 })
    sshdChild = spawn(sshd, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] })
    sshdChild.stderr?.on('data', (d) => {
      sshdLog = `${sshdLog}${d}`.slice(-4000)
    })
    await waitFor(
      sshdChild,
      () => sshAnswers(sshPort),
      timeoutMs,
      'sshd',
      () => sshdLog,
    )

    // tgtd: a portal port and a control port of its own. Control ports are socket names
    // under /var/run/tgtd, 0..32767; a taken one makes tgtd exit at once (flock), so retry.
    const tgtdPort = await freePort()
    const startTgtd = async () => {
      for (let attempt = 0; ; attempt++) {
        const port = controlPort > 0 ? controlPort : randomInt(1024, 32_768)
        tgtdLog = ''
        const child = spawn(
          tgtd,
          ['-f', '-C', String(port), '--iscsi', `portal=127.0.0.1:${tgtdPort}`],
          {
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        )
        child.stderr?.on('data', (d) => {
          tgtdLog = `${tgtdLog}${d}`.slice(-4000)
        })
        try {
          await waitFor(
            child,
            async () => {
              const out = await run(
                tgtadmBin,
                ['-C', String(port), '--mode', 'portal', '--op', 'show'],
                {
                  timeout: 2000,
                },
              ).catch(() => undefined)
              // The portal proves the answer came from this tgtd, not a neighbour's.
              return out?.stdout.includes(`127.0.0.1:${tgtdPort}`) === true
            },
            timeoutMs,
            'tgtd',
            () => tgtdLog,
          )
          controlPort = port
          tgtdChild = child
          return
        } catch (e) {
          await stopChild(child, 'SIGKILL')
          if (attempt >= 5) throw e
        }
      }
    }
    await startTgtd()

    const privateKey = await readFile(clientKey, 'utf8')
    const hostKeyFingerprint = fingerprintOfPub(await readFile(`${hostKey}.pub`, 'utf8'))
    return {
      ssh: { host: '127.0.0.1', port: sshPort, username: 'root', privateKey, hostKeyFingerprint },
      tgtdPort,
      get controlPort() {
        return controlPort
      },
      get tgtadm() {
        return [tgtadmBin, `--control-port=${controlPort}`]
      },
      backingDir,
      configDir,
      async restartTgtd() {
        await stopChild(tgtdChild, 'SIGKILL')
        await rm(join(TGT_IPC_DIR, `socket.${controlPort}`), { force: true })
        await startTgtd()
      },
      stop,
    }
  } catch (e) {
    await stop()
    throw e
  }
}
