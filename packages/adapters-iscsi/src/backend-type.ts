import type {
  BackendContext,
  BackendTypeHandler,
  ConnectionTestResult,
  IscsiBackendConfig,
  TargetDriver,
} from '@pstorage/core'
import { createSshCommandRunner, type SshCommandRunner } from './ssh-runner.js'
import { createTargetcliDriver, type TargetcliDriverOptions } from './targetcli-driver.js'
import { createTgtDriver, type TgtDriverOptions } from './tgt-driver.js'
import { checkDirectory } from './validate.js'

/**
 * Driver settings beyond the stored `iscsi` config; they win over its `tgt_control_port` and
 * `tgt_config_dir`.
 */
export interface TargetDriverOverrides {
  /** tgt: `controlPort`, `configDir`. */
  readonly tgt?: Partial<Pick<TgtDriverOptions, 'controlPort' | 'configDir'>>
  /** targetcli: `saveconfigPath`. */
  readonly targetcli?: Partial<Pick<TargetcliDriverOptions, 'saveconfigPath'>>
}

/** A driver opened from a stored config, with the SSH runner it owns. */
export interface OpenedTargetDriver {
  readonly driver: TargetDriver
  readonly runner: SshCommandRunner
}

/**
 * Opens the target driver an `iscsi` backend config describes: an SSH runner (pinned host
 * key, sudo as configured) and the tgt or targetcli driver over it. Closing the driver
 * closes the runner. With `ctx`, every connection (reconnections included) first passes
 * `ctx.guard`, the server's address policy.
 *
 * @example
 * ```ts
 * const { driver } = openTargetDriver(config)
 * await driver.createLun({ name, iqn, sizeBytes, backingFile, portal })
 * ```
 */
export function openTargetDriver(
  config: IscsiBackendConfig,
  overrides: TargetDriverOverrides = {},
  ctx?: BackendContext,
): OpenedTargetDriver {
  const runner = createSshCommandRunner({
    ...(ctx ? { beforeConnect: () => ctx.guard.check(config.host) } : {}),
    host: config.host,
    port: config.ssh_port,
    username: config.username,
    ...(config.private_key !== undefined ? { privateKey: config.private_key } : {}),
    ...(config.password !== undefined ? { password: config.password } : {}),
    ...(config.host_key_fingerprint !== undefined
      ? { hostKeyFingerprint: config.host_key_fingerprint }
      : {}),
    sudo: config.use_sudo,
  })
  // Host-specific tgt settings a config may carry (read loosely: older configs lack them).
  const extra = config as { tgt_control_port?: number; tgt_config_dir?: string }
  const tgt = {
    ...(extra.tgt_control_port !== undefined ? { controlPort: extra.tgt_control_port } : {}),
    ...(extra.tgt_config_dir !== undefined ? { configDir: extra.tgt_config_dir } : {}),
    ...overrides.tgt,
  }
  const driver =
    config.target_manager === 'tgt'
      ? createTgtDriver({ runner, backingDir: config.backing_dir, ...tgt })
      : createTargetcliDriver({ runner, backingDir: config.backing_dir, ...overrides.targetcli })
  return { driver, runner }
}

const GiB = 1024 ** 3

async function test(
  config: IscsiBackendConfig,
  ctx: BackendContext,
  overrides: TargetDriverOverrides,
): Promise<ConnectionTestResult> {
  const started = performance.now()
  const latency = () => Math.round((performance.now() - started) * 1000) / 1000
  let opened: OpenedTargetDriver | undefined
  try {
    opened = openTargetDriver(config, overrides, ctx)
    await opened.runner.connect()
    const probe = await opened.driver.probe()
    return {
      ok: true,
      latency_ms: latency(),
      message:
        `Connected: ${probe.manager} ${probe.version}, ` +
        `${(probe.freeBytes / GiB).toFixed(1)} GiB free in ${probe.backingDir}`,
      details: {
        host_key_fingerprint: opened.runner.seenFingerprint,
        host_key_pinned: config.host_key_fingerprint !== undefined,
        manager: probe.manager,
        version: probe.version,
        backing_dir: probe.backingDir,
        free_bytes: probe.freeBytes,
        total_bytes: probe.totalBytes,
      },
    }
  } catch (e) {
    const seen = opened?.runner.seenFingerprint
    return {
      ok: false,
      latency_ms: latency(),
      message: e instanceof Error ? e.message : 'The connection test failed',
      ...(seen ? { details: { host_key_fingerprint: seen } } : {}),
    }
  } finally {
    await opened?.driver.close().catch(() => undefined)
  }
}

/**
 * The `iscsi` backend type for `createPStorage({ backendTypes })`. `openTarget` gives the
 * LUN service its `TargetDriver` (tgt or targetcli over SSH, every connection checked against
 * the address policy); the connection test logs in, runs the driver's harmless probe (tool
 * version, free space of the backing directory) and reports it with the host key fingerprint
 * it saw, so an operator can pin it.
 * `overrides` sets what the stored config does not hold (a non-default tgtd control port).
 *
 * @example
 * ```ts
 * const pstorage = await createPStorage({ backendTypes: { iscsi: createIscsiBackendType() } })
 * ```
 */
export function createIscsiBackendType(
  overrides: TargetDriverOverrides = {},
): BackendTypeHandler<'iscsi'> {
  return Object.freeze({
    async validate(config: IscsiBackendConfig, ctx: BackendContext) {
      checkDirectory(config.backing_dir, 'backing_dir')
      await ctx.guard.check(config.host)
    },
    test: (config: IscsiBackendConfig, ctx: BackendContext) => test(config, ctx, overrides),
    async openTarget(config: IscsiBackendConfig, ctx: BackendContext) {
      await ctx.guard.check(config.host)
      return openTargetDriver(config, overrides, ctx).driver
    },
  })
}

/** {@link createIscsiBackendType} with the hosts' default tgt and targetcli settings. */
export const iscsiBackendType: BackendTypeHandler<'iscsi'> = createIscsiBackendType()
