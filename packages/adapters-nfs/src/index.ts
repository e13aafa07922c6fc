import { type BackendDriver, backendError } from '@pstorage/core'
import { DRIVER_NAME } from './driver-name.js'
import { createMountDriver } from './mount/mount-driver.js'
import {
  type NfsDriverOptions,
  type NfsMountModeOptions,
  type NfsUserspaceOptions,
  resolveUserspaceOptions,
} from './options.js'
import { createUserspaceDriver } from './userspace/userspace-driver.js'

export {
  createNfsBackendType,
  type NfsBackendTypeOptions,
  nfsBackendType,
} from './backend-type.js'
export { DRIVER_NAME } from './driver-name.js'
export {
  type CommandResult,
  type CommandRunner,
  type ExecFileRunnerOptions,
  execFileRunner,
} from './mount/command-runner.js'
export {
  buildMountCommand,
  buildUnmountCommand,
  MOUNT_OPTION_NAMES,
  type MountCommandInput,
} from './mount/mount-command.js'
export { NfsStatusError } from './nfs3/nfs-status-error.js'
export type { NfsDriverOptions, NfsMountModeOptions, NfsUserspaceOptions } from './options.js'
export { RpcError, type RpcFailure } from './rpc/rpc-error.js'

/**
 * An NFS backend behind core's `BackendDriver` port.
 *
 * - `mode: 'userspace'` (default): this process speaks NFSv3 over ONC RPC/TCP (portmapper,
 *   MOUNT, NFS; RFC 1813, 5531, 1833). No mount, no root, no kernel module: works in
 *   containers. Connects lazily on first use.
 * - `mode: 'mount'`: `mount -t nfs` through a command runner on first use, then core's
 *   local driver on the mount point; `umount` on `close`. Needs a kernel NFS client and
 *   the right to mount.
 *
 * Options are validated here: a bad one is a `bad_request` listing every problem.
 *
 * @example
 * ```ts
 * const driver = createNfsDriver({ server: 'nas.lan', export: '/srv/templates' })
 * const { items } = await driver.list('/isos')
 * await driver.close()
 * ```
 */
export function createNfsDriver(options: NfsDriverOptions): BackendDriver {
  if (typeof options !== 'object' || options === null)
    throw backendError(DRIVER_NAME, 'bad_request', 'Invalid NFS backend config: options required')
  const mode = options.mode ?? 'userspace'
  if (mode === 'userspace')
    return createUserspaceDriver(resolveUserspaceOptions(options as NfsUserspaceOptions))
  if (mode === 'mount') return createMountDriver(options as NfsMountModeOptions)
  throw backendError(
    DRIVER_NAME,
    'bad_request',
    "Invalid NFS backend config: mode must be 'userspace' or 'mount'",
  )
}
