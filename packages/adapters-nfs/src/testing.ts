/**
 * Test harness of `@pstorage/adapters-nfs`: starts the real server the driver is tested
 * against, nfs-ganesha with its VFS FSAL exporting a fresh temp directory on loopback.
 * Needs root (the VFS FSAL opens files by handle) and the Debian packages `nfs-ganesha`,
 * `nfs-ganesha-vfs` and `rpcbind`.
 *
 * @example
 * ```ts
 * import { startGanesha } from '@pstorage/adapters-nfs/testing'
 * const g = await startGanesha()
 * const driver = createNfsDriver({ server: g.server, export: g.export, port: g.port, mountPort: g.mountPort })
 * await g.stop()
 * ```
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  ganeshaConfig,
  hint,
  logProblems,
  NO_VFS_FSAL,
  PORT_TAKEN,
} from './harness/ganesha-config.js'
import { answers, ensureRpcbind, findBinary, freePort } from './harness/host.js'
import { MOUNT_PROGRAM, MOUNT_V3, NFS_PROGRAM, NFS_V3 } from './nfs3/constants.js'
import { mnt } from './nfs3/mount3.js'
import { RpcClient } from './rpc/rpc-client.js'

/** Options of {@link startGanesha}. */
export interface GaneshaOptions {
  /** How long to wait for the server to answer. @default 30000 */
  readonly startTimeoutMs?: number
  /** ganesha's log level (`NIV_EVENT`, `NIV_DEBUG`…). @default 'NIV_EVENT' */
  readonly logLevel?: string
}

/** A running ganesha, as {@link startGanesha} returns it. */
export interface GaneshaServer {
  /** Always loopback. */
  readonly server: '127.0.0.1'
  /** The export path to MNT (the same string as `dir`: server and test share the host). */
  readonly export: string
  /** NFS TCP port. */
  readonly port: number
  /** MOUNT TCP port. */
  readonly mountPort: number
  /** The exported directory on the host, to check what the driver did behind its back. */
  readonly dir: string
  /** ganesha's log, for failure messages. */
  readonly logFile: string
  /** ganesha's process id (benchmarks read its CPU time). */
  readonly pid: number
  /** Stops ganesha (SIGTERM, then SIGKILL) and removes its temp files. Idempotent. */
  stop(): Promise<void>
}

/** Ready once MOUNT serves the export and NFS answers NULL. */
async function ready(g: { dir: string; port: number; mountPort: number }): Promise<boolean> {
  const m = new RpcClient({
    host: '127.0.0.1',
    port: g.mountPort,
    program: MOUNT_PROGRAM,
    version: MOUNT_V3,
    label: 'MOUNT',
    timeoutMs: 2000,
    credential: { machineName: 'pstorage-test', uid: 0, gid: 0, gids: [] },
  })
  try {
    await mnt(m, g.dir)
    return await answers(g.port, NFS_PROGRAM, NFS_V3)
  } catch {
    return false
  } finally {
    await m.close()
  }
}

async function startOnce(
  binary: string,
  options: GaneshaOptions,
): Promise<GaneshaServer | { retry: string }> {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'pstorage-ganesha-')))
  const dir = join(base, 'export')
  const recovery = join(base, 'recovery')
  await mkdir(dir)
  await mkdir(recovery)
  const [port, mountPort] = [await freePort(), await freePort()]
  const conf = join(base, 'ganesha.conf')
  const logFile = join(base, 'ganesha.log')
  await writeFile(conf, ganeshaConfig(dir, recovery, port, mountPort))
  const args = ['-F', '-f', conf, '-L', logFile, '-p', join(base, 'ganesha.pid')]
  args.push('-N', options.logLevel ?? 'NIV_EVENT')
  const child: ChildProcess = spawn(binary, args, { stdio: 'ignore' })
  let exited = false
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true
      resolve()
    })
    child.once('error', () => {
      exited = true
      resolve()
    })
  })
  // Never leave a ganesha behind if the test process dies first.
  const reap = () => child.kill('SIGKILL')
  process.once('exit', reap)
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      process.removeListener('exit', reap)
      if (!exited) {
        child.kill('SIGTERM')
        const killed = await Promise.race([exit.then(() => true), sleep(10_000, false)])
        if (!killed) {
          child.kill('SIGKILL')
          await exit
        }
      }
      await rm(base, { recursive: true, force: true })
    })()
    return stopping
  }
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000)
  while (Date.now() < deadline) {
    const log = await logProblems(logFile)
    // Without its FSAL ganesha keeps running with no export: fail now, not at the deadline.
    if (exited || NO_VFS_FSAL.test(log)) {
      await stop()
      if (PORT_TAKEN.test(log)) return { retry: log }
      const what = exited ? 'exited during startup' : 'cannot export the directory'
      throw new Error(`ganesha.nfsd ${what}${hint(log)}:\n${log}`)
    }
    if (await ready({ dir, port, mountPort }))
      return Object.freeze({
        server: '127.0.0.1',
        export: dir,
        port,
        mountPort,
        dir,
        logFile,
        pid: child.pid!,
        stop,
      })
    await sleep(100)
  }
  const log = await logProblems(logFile)
  await stop()
  throw new Error(`ganesha.nfsd did not answer within the start timeout${hint(log)}:\n${log}`)
}

/**
 * Starts nfs-ganesha (VFS FSAL) exporting a fresh temp directory over NFSv3/TCP on
 * 127.0.0.1, with free ports for NFS and MOUNT, its own config, log, pid file and
 * recovery directory under one temp directory, and waits until MNT of the export works.
 *
 * rpcbind: ganesha refuses to start unless it can register with a portmapper on port 111,
 * so one is started (`rpcbind -w`) if none answers, and left running (a host service).
 * Several ganeshas can run at once (their ports differ), but they share rpcbind: the last
 * one started owns the NFS and MOUNT registrations, and stopping one removes them. Tests
 * should therefore pass `port`/`mountPort` explicitly, and run one ganesha per test file
 * with a subdirectory per test (MNT of a subdirectory of the export works).
 *
 * Fails with a message naming the Debian package when a binary is missing; never skips.
 *
 * @example
 * ```ts
 * const g = await startGanesha()
 * await writeFile(join(g.dir, 'hello.txt'), 'hi') // seen by the driver at once
 * await g.stop()
 * ```
 */
export async function startGanesha(options: GaneshaOptions = {}): Promise<GaneshaServer> {
  if (process.getuid?.() !== 0)
    throw new Error('nfs-ganesha (VFS FSAL) must run as root: run the NFS tests as root')
  const binary = await findBinary('ganesha.nfsd', 'nfs-ganesha')
  await ensureRpcbind()
  let last = ''
  for (let attempt = 0; attempt < 3; attempt++) {
    const started = await startOnce(binary, options)
    if (!('retry' in started)) return started
    last = started.retry // a free port was taken between probing and binding: try others
  }
  throw new Error(`ganesha.nfsd could not bind its ports:\n${last}`)
}
