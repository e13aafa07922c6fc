import type { CommandRunner, PortalAddress, TargetDriver, TargetState } from '@pstorage/core'
import { createGuard, portalCovers } from './driver-kit.js'
import { createHost } from './host.js'
import { createLioHost, DATA_LUN, DRIVER_NAME, SAVECONFIG_PATHS } from './targetcli-host.js'
import { chapRequired, findTarget, lioStates, tpgOf } from './targetcli-state.js'
import {
  type CheckedLun,
  checkCreateLun,
  checkDeleteLun,
  checkDirectory,
  checkInitiator,
  checkIqnOnly,
  checkSetChap,
} from './validate.js'

export { DRIVER_NAME, SAVECONFIG_PATHS }

/** Options of {@link createTargetcliDriver}. */
export interface TargetcliDriverOptions {
  /** Where `targetcli` runs: the target host (`createSshCommandRunner`). */
  readonly runner: CommandRunner
  /** Absolute directory of the backing files on the target host. */
  readonly backingDir: string
  /**
   * The file `targetcli saveconfig` writes and LIO restores at boot.
   * @default the first of {@link SAVECONFIG_PATHS} that exists
   */
  readonly saveconfigPath?: string
}

/**
 * The `TargetDriver` of LIO, the Linux kernel target, driven with `targetcli` (targetcli-fb)
 * on the target host, following iscsi.md: a fileio backstore (write-through,
 * `write_back=false`) per LUN, a target with TPG 1, LUN 0, one portal (the default
 * `0.0.0.0:3260` portal is disabled), one ACL per initiator with LUN 0 mapped, CHAP through
 * `set auth` on each ACL with `authentication=1 generate_node_acls=0`, and `saveconfig` after
 * every change.
 *
 * Decisions:
 * - State is read from saveconfig.json, never from `targetcli ls` (a human tree that
 *   truncates names). Each change starts with `saveconfig`, so the file mirrors the running
 *   configuration, and ends by reading it back to check the change landed: targetcli exits 0
 *   on some failures (an unknown path is only logged).
 * - CHAP secrets reach targetcli on stdin, never on its command line (security.md,
 *   defence 4). The target's credentials are also set on TPG 1 (`set auth`), the record from
 *   which an initiator allowed later gets them.
 * - A target is PStorage's when its LUN's fileio backstore lies in `backingDir`; CHAP and ACL
 *   calls on another target are a `conflict`.
 * - Needs a host with LIO (configfs and `target_core_mod`); not runnable in containers
 *   without them.
 *
 * @example
 * ```ts
 * const driver = createTargetcliDriver({
 *   runner: createSshCommandRunner({ host, username: 'pstorage', privateKey, sudo: true }),
 *   backingDir: '/srv/pstorage/luns',
 * })
 * ```
 */
export function createTargetcliDriver(options: TargetcliDriverOptions): TargetDriver {
  const { runner } = options
  const backingDir = checkDirectory(options.backingDir, 'backingDir')
  const saveconfigPath =
    options.saveconfigPath === undefined
      ? undefined
      : checkDirectory(options.saveconfigPath, 'saveconfigPath')
  const host = createHost(runner, DRIVER_NAME)
  const guard = createGuard(DRIVER_NAME)

  const lio = createLioHost({ host, backingDir, saveconfigPath })
  const { error, targetcli, script, path, backstoreOf, servedBy, read, sync, verified } = lio

  async function createLun(lun: CheckedLun): Promise<TargetState> {
    const config = await sync()
    const target = findTarget(config, lun.iqn)
    const named = config.storageObjects.find((s) => s.plugin === 'fileio' && s.name === lun.name)
    const onFile = config.storageObjects.find((s) => s.dev === lun.backingPath)
    if (target) {
      const so = backstoreOf(config, target)
      if (so && (so.dev !== lun.backingPath || so.name !== lun.name))
        throw error('conflict', `Target ${lun.iqn} exists with another backstore`)
    }
    if (named && named.dev !== lun.backingPath)
      throw error('conflict', `Backstore ${lun.name} exists for another file`)
    if (onFile && (onFile.plugin !== 'fileio' || onFile.name !== lun.name))
      throw error('conflict', `Backing file ${lun.backingFile} is used by another backstore`)
    if (servedBy(config, lun.backingPath).some((t) => t.wwn !== lun.iqn))
      throw error('conflict', `Backing file ${lun.backingFile} is served by another target`)
    if (named?.size != null && named.size !== lun.sizeBytes)
      throw error('conflict', `Backstore ${lun.name} has another size (${named.size} bytes)`)
    const file = await host.stat(backingDir, lun.backingPath)
    if (file.kind === 'other')
      throw error('conflict', `${lun.backingFile} exists and is not a regular file`)
    if (file.kind === 'file' && file.size !== lun.sizeBytes)
      throw error('conflict', `${lun.backingFile} exists with another size (${file.size} bytes)`)
    if (named && file.kind === 'missing')
      throw error('conflict', `Backstore ${lun.name} serves ${lun.backingFile}, which is missing`)
    if (file.kind === 'file' && lio.lunMismatch(config, lun) === null)
      return lio.stateOf(config, lun.iqn)

    const undo: (() => Promise<unknown>)[] = []
    try {
      if (file.kind === 'missing') {
        await host.createSparse(lun.backingPath, lun.sizeBytes)
        undo.push(() => host.remove(lun.backingPath))
      }
      if (!named) {
        await targetcli(
          '/backstores/fileio',
          'create',
          `name=${lun.name}`,
          `file_or_dev=${lun.backingPath}`,
          `size=${lun.sizeBytes}`,
          'write_back=false',
        )
        undo.push(() => targetcli('/backstores/fileio', 'delete', `name=${lun.name}`))
      }
      let tpg = target && tpgOf(target)
      if (!target) {
        await targetcli('/iscsi', 'create', `wwn=${lun.iqn}`)
        undo.push(() => targetcli('/iscsi', 'delete', `wwn=${lun.iqn}`))
        // No initiator until allowInitiator, no CHAP until setChap (iscsi.md).
        await targetcli(
          path(lun.iqn),
          'set',
          'attribute',
          'authentication=0',
          'generate_node_acls=0',
        )
        tpg = undefined
      } else if (tpg && String(tpg.attributes.generate_node_acls ?? '') === '1') {
        await targetcli(path(lun.iqn), 'set', 'attribute', 'generate_node_acls=0')
      }
      if (!target || !backstoreOf(config, target))
        await targetcli(
          path(lun.iqn, 'luns'),
          'create',
          `storage_object=/backstores/fileio/${lun.name}`,
          `lun=${DATA_LUN}`,
          'add_mapped_luns=true',
        )
      const portals: readonly PortalAddress[] = tpg?.portals ?? []
      if (!portals.some((p) => portalCovers(p, lun.portal)))
        await targetcli(
          path(lun.iqn, 'portals'),
          'create',
          `ip_address=${lun.portal.address}`,
          `ip_port=${lun.portal.port}`,
        )
      await targetcli('saveconfig')
      const saved = await verified((c) => lio.lunMismatch(c, lun), 'create the LUN')
      return lio.stateOf(saved, lun.iqn)
    } catch (e) {
      for (const step of undo.reverse()) await step().catch(() => undefined)
      if (undo.length > 0) await targetcli('saveconfig').catch(() => undefined)
      throw e
    }
  }

  const driver: TargetDriver = {
    name: DRIVER_NAME,

    async probe() {
      guard.live()
      const result = await host.run(['targetcli', 'version'])
      const version = /version\s+(\S+)/.exec(`${result.stdout}\n${result.stderr}`)?.[1]
      if (!version) throw host.failure(['targetcli', 'version'], result)
      const space = await host.backingSpace(backingDir)
      return { manager: DRIVER_NAME, version, backingDir, ...space }
    },

    async createLun(input) {
      guard.live()
      const lun = checkCreateLun(input, backingDir)
      return guard.exclusive(() => createLun(lun))
    },

    async deleteLun(input) {
      guard.live()
      const { iqn, backingFile, backingPath } = checkDeleteLun(input, backingDir)
      await guard.exclusive(async () => {
        const config = await sync()
        const target = findTarget(config, iqn)
        const so = target && backstoreOf(config, target)
        if (so && so.dev !== backingPath)
          throw error('conflict', `Target ${iqn} is not served from ${backingFile}`)
        if (servedBy(config, backingPath).some((t) => t.wwn !== iqn))
          throw error('conflict', `Backing file ${backingFile} is served by another target`)
        const onFile = config.storageObjects.find(
          (s) => s.plugin === 'fileio' && s.dev === backingPath,
        )
        if (target) await targetcli('/iscsi', 'delete', `wwn=${iqn}`)
        if (onFile) await targetcli('/backstores/fileio', 'delete', `name=${onFile.name}`)
        if (target || onFile) {
          await targetcli('saveconfig')
          await verified(
            (c) =>
              findTarget(c, iqn)
                ? 'the target is still there'
                : c.storageObjects.some((s) => s.dev === backingPath)
                  ? 'the backstore is still there'
                  : null,
            'delete the LUN',
          )
        }
        await host.remove(backingPath)
      })
    },

    async setChap(input) {
      guard.live()
      const { iqn, userid, secret } = checkSetChap(input)
      await guard.exclusive(async () => {
        const config = await sync()
        const { tpg } = lio.ownTarget(config, iqn)
        const taken = config.targets.some(
          (t) =>
            t.wwn !== iqn &&
            t.tpgs.some((g) => g.userid === userid || g.acls.some((a) => a.userid === userid)),
        )
        if (taken) throw error('conflict', `CHAP user ${userid} is bound to another target`)
        const auth = `userid=${userid} password=${secret}`
        await script([
          `${path(iqn)} set auth ${auth}`,
          ...tpg.acls.map((a) => `${path(iqn, 'acls', a.nodeWwn)} set auth ${auth}`),
          `${path(iqn)} set attribute authentication=1 generate_node_acls=0`,
        ])
        await verified((c) => {
          const g = findTarget(c, iqn) && tpgOf(findTarget(c, iqn)!)
          if (!g || !chapRequired(g)) return 'authentication is off'
          // The TPG's own record is best effort (kernels without TPG auth ignore it); what
          // LIO checks at login with generate_node_acls=0 is each ACL's credentials.
          return g.acls.every((x) => x.userid === userid && x.password === secret)
            ? null
            : 'the credentials differ'
        }, 'set CHAP')
      })
    },

    async clearChap(input) {
      guard.live()
      const iqn = checkIqnOnly(input)
      await guard.exclusive(async () => {
        const config = await sync()
        const { tpg } = lio.ownTarget(config, iqn)
        const withCreds = [tpg, ...tpg.acls].filter((x) => x.userid || x.password)
        if (!chapRequired(tpg) && withCreds.length === 0) return
        await script([
          `${path(iqn)} set attribute authentication=0`,
          ...(tpg.userid || tpg.password ? [`${path(iqn)} set auth userid= password=`] : []),
          ...tpg.acls
            .filter((a) => a.userid || a.password)
            .map((a) => `${path(iqn, 'acls', a.nodeWwn)} set auth userid= password=`),
        ])
        await verified((c) => {
          const g = findTarget(c, iqn) && tpgOf(findTarget(c, iqn)!)
          if (!g) return 'the target is missing'
          if (chapRequired(g)) return 'authentication is still on'
          return [g, ...g.acls].some((x) => x.userid) ? 'credentials remain' : null
        }, 'clear CHAP')
      })
    },

    async allowInitiator(input) {
      guard.live()
      const { iqn, initiatorIqn } = checkInitiator(input)
      await guard.exclusive(async () => {
        const config = await sync()
        const { tpg } = lio.ownTarget(config, iqn)
        if (tpg.acls.some((a) => a.nodeWwn === initiatorIqn)) return
        await targetcli(path(iqn, 'acls'), 'create', `wwn=${initiatorIqn}`, 'add_mapped_luns=true')
        // The target's credentials: its TPG record, else those of an existing ACL.
        const source = [tpg, ...tpg.acls].find((x) => x.userid && x.password)
        const chap =
          chapRequired(tpg) && source
            ? { userid: source.userid!, password: source.password! }
            : null
        if (chap)
          await script([
            `${path(iqn, 'acls', initiatorIqn)} set auth userid=${chap.userid} password=${chap.password}`,
          ])
        else await targetcli('saveconfig')
        await verified((c) => {
          const g = findTarget(c, iqn) && tpgOf(findTarget(c, iqn)!)
          const acl = g?.acls.find((a) => a.nodeWwn === initiatorIqn)
          if (!acl) return 'the ACL is missing'
          if (!acl.mappedLuns.some(([, tpgLun]) => tpgLun === DATA_LUN))
            return 'LUN 0 is not mapped'
          return chap && (acl.userid !== chap.userid || acl.password !== chap.password)
            ? 'the ACL lacks the CHAP credentials'
            : null
        }, 'allow the initiator')
      })
    },

    async denyInitiator(input) {
      guard.live()
      const { iqn, initiatorIqn } = checkInitiator(input)
      await guard.exclusive(async () => {
        const config = await sync()
        const { tpg } = lio.ownTarget(config, iqn)
        if (!tpg.acls.some((a) => a.nodeWwn === initiatorIqn)) return
        await targetcli(path(iqn, 'acls'), 'delete', `wwn=${initiatorIqn}`)
        await targetcli('saveconfig')
        await verified((c) => {
          const g = findTarget(c, iqn) && tpgOf(findTarget(c, iqn)!)
          return g?.acls.some((a) => a.nodeWwn === initiatorIqn) ? 'the ACL is still there' : null
        }, 'deny the initiator')
      })
    },

    async list() {
      guard.live()
      return lioStates(await read(), backingDir)
    },

    async save() {
      await guard.exclusive(async () => {
        await targetcli('saveconfig')
        if ((await lio.saveconfigFile()) === null)
          throw error('internal_error', `targetcli saveconfig wrote no file on ${runner.target}`)
      })
    },

    async close() {
      if (guard.close()) await runner.close()
    },
  }
  return driver
}
