/**
 * The iSCSI target drivers of PStorage: tgt (`tgtadm`) and targetcli (LIO), managing LUNs on
 * a Linux target host through a `CommandRunner`, normally SSH.
 *
 * @example
 * ```ts
 * import { createSshCommandRunner, createTgtDriver } from '@pstorage/adapters-iscsi'
 * const runner = createSshCommandRunner({ host, username: 'pstorage', privateKey, sudo: true })
 * const driver = createTgtDriver({ runner, backingDir: '/srv/pstorage/luns' })
 * ```
 */

export {
  createIscsiBackendType,
  iscsiBackendType,
  type OpenedTargetDriver,
  openTargetDriver,
  type TargetDriverOverrides,
} from './backend-type.js'
export { type CommandAuditEntry, withCommandAudit } from './command-audit.js'
export { createLocalCommandRunner, type LocalCommandRunnerOptions } from './local-runner.js'
export { quoteArg, shellQuote } from './quote.js'
export { redactArgv } from './runner-kit.js'
export { fingerprintOf } from './ssh-fingerprint.js'
export {
  createSshCommandRunner,
  type SshCommandRunner,
  type SshCommandRunnerOptions,
} from './ssh-runner.js'
export {
  createTargetcliDriver,
  DRIVER_NAME as TARGETCLI_DRIVER_NAME,
  SAVECONFIG_PATHS,
  type TargetcliDriverOptions,
} from './targetcli-driver.js'
export { parseSaveconfig } from './targetcli-state.js'
export { DENY_ALL_ADDRESS, renderTgtConfig } from './tgt-config.js'
export {
  createTgtDriver,
  DRIVER_NAME as TGT_DRIVER_NAME,
  type TgtDriverOptions,
} from './tgt-driver.js'
export { parseTgtPortals, parseTgtTargets, type TgtLun, type TgtTarget } from './tgt-show.js'
export { MAX_LUN_BYTES } from './validate.js'
