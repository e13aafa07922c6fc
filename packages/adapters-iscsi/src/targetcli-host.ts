import type { ErrorCode, TargetState } from '@pstorage/core'
import { portalCovers } from './driver-kit.js'
import type { Host } from './host.js'
import { iscsiError } from './runner-kit.js'
import {
  findTarget,
  type LioConfig,
  type LioTarget,
  type LioTpg,
  lioStates,
  parseSaveconfig,
  storageObjectOf,
  tpgOf,
} from './targetcli-state.js'
import { backingFileOf, type CheckedLun } from './validate.js'

/** The `name` of targetcli drivers. */
export const DRIVER_NAME = 'targetcli'

/** Where targetcli saves: upstream/RHEL first, then Debian/Ubuntu (iscsi.md, "Persist"). */
export const SAVECONFIG_PATHS = [
  '/etc/target/saveconfig.json',
  '/etc/rtslib-fb-target/saveconfig.json',
] as const

/** LIO's data LUN: TPG LUN 0, mapped as LUN 0 for each ACL (iscsi.md, targetcli sequence). */
export const DATA_LUN = 0

/** What {@link createLioHost} needs: the host and the driver's validated settings. */
export interface LioHostOptions {
  readonly host: Host
  readonly backingDir: string
  /** Known saveconfig.json path, else found among {@link SAVECONFIG_PATHS}. */
  readonly saveconfigPath: string | undefined
}

/**
 * The targetcli driver's view of one LIO host: `targetcli` invocations (argv, or a session
 * on stdin for secrets), the saved configuration read back from saveconfig.json, and the
 * checks its operations share. No method takes the driver's mutex: the operations do.
 */
export function createLioHost(options: LioHostOptions) {
  const { host, backingDir } = options
  let savePath = options.saveconfigPath
  let prefsSet = false
  const runner = host.runner

  const error = (code: ErrorCode, detail: string) => iscsiError(DRIVER_NAME, code, detail)
  const targetcli = (...args: string[]) => host.run(['targetcli', ...args])
  /** Commands whose parameters include secrets, as one targetcli session on stdin. */
  const script = (lines: readonly string[]) =>
    host.run(['targetcli'], { stdin: `${[...lines, 'saveconfig', 'exit'].join('\n')}\n` })

  async function saveconfigFile(): Promise<string | null> {
    if (savePath) return savePath
    const sizes = await host.sizes(SAVECONFIG_PATHS)
    const found = SAVECONFIG_PATHS.find((p) => sizes.get(p) !== null)
    if (found) savePath = found
    return found ?? null
  }

  /** The saved configuration; an empty one on a host that never saved. */
  async function read(): Promise<LioConfig> {
    const path = await saveconfigFile()
    if (path === null) return { storageObjects: [], targets: [] }
    const text = await host.read(path.slice(0, path.lastIndexOf('/')) || '/', path)
    if (text === null) return { storageObjects: [], targets: [] }
    try {
      return parseSaveconfig(text)
    } catch {
      // The parser's message may quote the file, which holds CHAP passwords.
      throw error('internal_error', `${path} on ${runner.target} is not valid JSON`)
    }
  }

  /** Saves the running configuration, then reads it: the state a change is planned on. */
  async function sync(): Promise<LioConfig> {
    if (!prefsSet) {
      // Without it every new target gets a 0.0.0.0:3260 portal that clashes with a
      // specific-address one (targetcli-fb #46).
      await targetcli('set', 'global', 'auto_add_default_portal=false')
      prefsSet = true
    }
    await targetcli('saveconfig')
    return read()
  }

  const path = (iqn: string, ...rest: string[]) => [`/iscsi/${iqn}/tpg1`, ...rest].join('/')

  /** The fileio backstore behind a target's data LUN. */
  function backstoreOf(config: LioConfig, target: LioTarget) {
    const tpg = tpgOf(target)
    const link = tpg?.luns.find(([index]) => index === DATA_LUN)?.[1] ?? tpg?.luns[0]?.[1]
    return link ? storageObjectOf(config, link) : undefined
  }
  const servedBy = (config: LioConfig, dev: string) =>
    config.targets.filter((t) => backstoreOf(config, t)?.dev === dev)

  /** The target to change, which must exist and be PStorage's; with its TPG. */
  function ownTarget(config: LioConfig, iqn: string): { target: LioTarget; tpg: LioTpg } {
    const target = findTarget(config, iqn)
    if (!target) throw error('not_found', `Target ${iqn} not found`)
    const so = backstoreOf(config, target)
    const tpg = tpgOf(target)
    if (!tpg || so?.plugin !== 'fileio' || !so.dev || backingFileOf(so.dev, backingDir) === null)
      throw error('conflict', `Target ${iqn} is not managed by PStorage (no LUN in backingDir)`)
    return { target, tpg }
  }

  /** Why `config` does not hold the LUN `lun` as createLun leaves it, or null. */
  function lunMismatch(config: LioConfig, lun: CheckedLun): string | null {
    const target = findTarget(config, lun.iqn)
    const tpg = target && tpgOf(target)
    if (!target || !tpg) return 'the target is missing'
    const so = backstoreOf(config, target)
    if (so?.plugin !== 'fileio' || so.name !== lun.name || so.dev !== lun.backingPath)
      return 'the LUN does not serve the backstore'
    if (!tpg.portals.some((p) => portalCovers(p, lun.portal))) return 'the portal is missing'
    if (String(tpg.attributes.generate_node_acls ?? '') === '1') return 'demo mode is on'
    return null
  }

  /** Reads the saved configuration back and checks a change landed in it. */
  async function verified(
    check: (config: LioConfig) => string | null,
    what: string,
  ): Promise<LioConfig> {
    const config = await read()
    const problem = check(config)
    if (problem) throw error('internal_error', `targetcli did not ${what}: ${problem}`)
    return config
  }

  function stateOf(config: LioConfig, iqn: string): TargetState {
    const state = lioStates(config, backingDir).find((t) => t.iqn === iqn)
    if (!state) throw error('internal_error', `Target ${iqn} vanished after its creation`)
    return state
  }

  return {
    error,
    targetcli,
    script,
    path,
    read,
    sync,
    saveconfigFile,
    backstoreOf,
    servedBy,
    ownTarget,
    lunMismatch,
    verified,
    stateOf,
  }
}
