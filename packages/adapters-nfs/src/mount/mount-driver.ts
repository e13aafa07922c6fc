import {
  type BackendDriver,
  backendError,
  createLocalDriver,
  normalizeBackendPath,
  normalizeDeletePaths,
} from '@pstorage/core'
import { DRIVER_NAME } from '../driver-name.js'
import {
  assertNoProblems,
  canonicalPath,
  checkHostProblem,
  intProblem,
  type NfsMountModeOptions,
  unknownOptionProblem,
} from '../options.js'
import { type CommandRunner, execFileRunner } from './command-runner.js'
import { buildMountCommand, buildUnmountCommand } from './mount-command.js'

/** The last line of a command's stderr, for a `cause` (never sent to clients). */
function failure(argv: readonly string[], code: number, stderr: string): Error {
  const last = stderr.trim().split('\n').at(-1)?.slice(0, 500) ?? ''
  return new Error(`${argv[0]} exited with ${code}: ${last}`)
}

/**
 * The `mount` mode: mounts `server:/export` on `mountPoint` with the kernel NFS client on
 * first use (`mount -t nfs`, through `runner`), serves it with core's local driver (so its
 * symlink, temp-file and atomic-write rules apply unchanged), and unmounts on `close` if it
 * mounted. Needs a kernel NFS client and the right to mount (root or CAP_SYS_ADMIN). The
 * command line is validated when the driver is created, so a bad option fails fast.
 *
 * @example
 * ```ts
 * const driver = createMountDriver({ mode: 'mount', server: 'nas', export: '/srv/iso', mountPoint: '/mnt/iso' })
 * ```
 */
export function createMountDriver(options: NfsMountModeOptions): BackendDriver {
  const mountArgv = buildMountCommand(options)
  const umountArgv = buildUnmountCommand(options.mountPoint)
  assertNoProblems([
    unknownOptionProblem(options),
    checkHostProblem(options.checkHost),
    intProblem('statsMaxEntries', options.statsMaxEntries, 1, 100_000_000),
    options.runner === undefined || typeof options.runner?.run === 'function'
      ? undefined
      : 'runner must have a run(argv) method',
  ])
  const runner: CommandRunner = options.runner ?? execFileRunner()
  const root = canonicalPath(options.mountPoint)
  const statsMaxEntries = options.statsMaxEntries ?? 100_000
  let closed = false
  let mounting: Promise<BackendDriver> | undefined
  let mounted = false

  function live(): void {
    if (closed) throw backendError(DRIVER_NAME, 'service_unavailable', 'The driver is closed')
  }

  async function doMount(): Promise<BackendDriver> {
    await options.checkHost?.(options.server)
    const result = await runner.run(mountArgv)
    if (result.code !== 0)
      throw backendError(DRIVER_NAME, 'service_unavailable', 'Mounting the NFS export failed', {
        cause: failure(mountArgv, result.code, result.stderr),
      })
    mounted = true
    return createLocalDriver({ root, statsMaxEntries })
  }

  /** The local driver over the mount, mounting once; a failed mount is retried next call. */
  function local(): Promise<BackendDriver> {
    live()
    if (!mounting) {
      const attempt = doMount()
      mounting = attempt
      attempt.catch(() => {
        if (mounting === attempt) mounting = undefined
      })
    }
    return mounting
  }

  /** Validates `path` before mounting, so a refused path touches nothing. */
  const checked = (path: string) => {
    live()
    normalizeBackendPath(path)
  }

  const driver: BackendDriver = {
    name: DRIVER_NAME,
    capabilities: Object.freeze({ write: true, rangeRead: true, move: true, stats: true }),

    async test() {
      live()
      const started = performance.now()
      try {
        const result = await (await local()).test()
        return { ...result, details: { ...result.details, mode: 'mount' } }
      } catch (error) {
        const message = error instanceof Error ? error.message : 'Mounting failed'
        return {
          ok: false,
          latency_ms: Math.round(performance.now() - started),
          message: message.replace(/^\[pstorage\] \[[a-z]+\] /, ''),
        }
      }
    },
    async list(path, o) {
      checked(path)
      return (await local()).list(path, o)
    },
    async stat(path) {
      checked(path)
      return (await local()).stat(path)
    },
    async read(path, o) {
      checked(path)
      return (await local()).read(path, o)
    },
    async write(path, source, o) {
      checked(path)
      return (await local()).write!(path, source, o)
    },
    async mkdir(path) {
      checked(path)
      return (await local()).mkdir!(path)
    },
    async delete(paths) {
      live()
      normalizeDeletePaths(paths)
      return (await local()).delete!(paths)
    },
    async move(from, to, o) {
      checked(from)
      checked(to)
      return (await local()).move!(from, to, o)
    },
    async stats() {
      live()
      return (await local()).stats!()
    },
    async close() {
      if (closed) return
      closed = true
      const pending = mounting
      mounting = undefined
      const inner = await pending?.catch(() => undefined)
      await inner?.close()
      if (!mounted) return
      mounted = false
      const result = await runner.run(umountArgv)
      if (result.code !== 0)
        throw backendError(DRIVER_NAME, 'service_unavailable', 'Unmounting the NFS export failed', {
          cause: failure(umountArgv, result.code, result.stderr),
        })
    },
  }
  return Object.freeze(driver)
}
