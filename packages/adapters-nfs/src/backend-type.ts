import { mkdir } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import {
  type BackendConfigs,
  type BackendContext,
  type BackendDriver,
  type BackendTypeHandler,
  backendError,
} from '@pstorage/core'
import { DRIVER_NAME } from './driver-name.js'
import type { CommandRunner } from './mount/command-runner.js'
import { createMountDriver } from './mount/mount-driver.js'
import { type NfsMountModeOptions, resolveUserspaceOptions } from './options.js'
import { createUserspaceDriver } from './userspace/userspace-driver.js'

/** Options of {@link createNfsBackendType}: what the host decides, not the stored config. */
export interface NfsBackendTypeOptions {
  /**
   * Directory under which each `mount`-mode backend gets `<backend id>` as its mount point
   * (created if missing). Without it, `mount` mode is refused (`not_applicable`): mounting
   * is a host decision, never a config's.
   * @default undefined
   */
  readonly mountRoot?: string
  /** Runs `mount`/`umount` in mount mode. @default execFileRunner() */
  readonly runner?: CommandRunner
  /** Connect and per-call deadline of userspace drivers. @default 30000 */
  readonly timeoutMs?: number
}

type NfsConfig = BackendConfigs['nfs']

/**
 * The handler of the `nfs` backend type for `createPStorage({ backendTypes: { nfs } })`:
 * turns a stored config (`server`, `export`, `mode`, `port`, `mount_options`) into a
 * driver. Every TCP connection (and the mount) first runs `ctx.guard.check(server)`, so
 * the private-address policy holds at each reconnect, not only when the config was saved.
 *
 * @example
 * ```ts
 * const pstorage = await createPStorage({ backendTypes: { nfs: createNfsBackendType({ mountRoot: '/run/pstorage/nfs' }) } })
 * ```
 */
export function createNfsBackendType(
  options: NfsBackendTypeOptions = {},
): BackendTypeHandler<'nfs'> {
  const { mountRoot, runner, timeoutMs } = options
  if (mountRoot !== undefined && !isAbsolute(mountRoot))
    throw backendError(DRIVER_NAME, 'bad_request', 'mountRoot must be an absolute path')

  function mountOptions(config: NfsConfig, ctx: BackendContext): NfsMountModeOptions {
    if (mountRoot === undefined)
      throw backendError(
        DRIVER_NAME,
        'not_applicable',
        'NFS mount mode is not enabled on this server (no mount root configured); use userspace mode',
      )
    if (!/^[A-Za-z0-9-]{1,64}$/.test(ctx.id))
      throw backendError(DRIVER_NAME, 'bad_request', 'Invalid backend id for a mount point')
    return {
      mode: 'mount',
      server: config.server,
      export: config.export,
      mountPoint: join(mountRoot, ctx.id),
      mountOptions: config.mount_options ?? [],
      checkHost: (host) => ctx.guard.check(host),
      ...(runner ? { runner } : {}),
    }
  }

  function userspaceDriver(config: NfsConfig, ctx: BackendContext): BackendDriver {
    return createUserspaceDriver(
      resolveUserspaceOptions({
        server: config.server,
        export: config.export,
        ...(config.port === undefined ? {} : { port: config.port }),
        ...(config.mount_port === undefined ? {} : { mountPort: config.mount_port }),
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        checkHost: (host) => ctx.guard.check(host),
      }),
    )
  }

  return Object.freeze({
    async validate(config: NfsConfig, ctx: BackendContext) {
      // Builds (and so validates) the driver without connecting: both modes are lazy.
      const driver =
        config.mode === 'mount'
          ? createMountDriver(mountOptions(config, ctx))
          : userspaceDriver(config, ctx)
      await driver.close()
    },
    async open(config: NfsConfig, ctx: BackendContext) {
      if (config.mode !== 'mount') return userspaceDriver(config, ctx)
      const o = mountOptions(config, ctx)
      const driver = createMountDriver(o)
      await mkdir(o.mountPoint, { recursive: true, mode: 0o700 })
      return driver
    },
  })
}

/**
 * The `nfs` backend type with host defaults: userspace mode only (mount mode needs
 * {@link createNfsBackendType}'s `mountRoot`).
 *
 * @example
 * ```ts
 * const pstorage = await createPStorage({ backendTypes: { nfs: nfsBackendType } })
 * ```
 */
export const nfsBackendType: BackendTypeHandler<'nfs'> = createNfsBackendType()
