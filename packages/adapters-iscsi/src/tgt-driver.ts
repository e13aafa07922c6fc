import type { CommandRunner, TargetDriver } from '@pstorage/core'
import { createGuard, portalCovers } from './driver-kit.js'
import { createHost } from './host.js'
import { iscsiError } from './runner-kit.js'
import { type Chap, createTgtHost, DRIVER_NAME } from './tgt-host.js'
import { parseTgtAccounts } from './tgt-show.js'
import {
  checkCreateLun,
  checkDeleteLun,
  checkDirectory,
  checkInitiator,
  checkIqnOnly,
  checkSetChap,
} from './validate.js'

export { DRIVER_NAME }

/** Options of {@link createTgtDriver}. */
export interface TgtDriverOptions {
  /** Where `tgtadm` runs: the target host (`createSshCommandRunner`). */
  readonly runner: CommandRunner
  /** Absolute directory of the backing files on the target host. */
  readonly backingDir: string
  /** tgt's low-level driver. @default 'iscsi' */
  readonly lld?: 'iscsi'
  /** tgtd's management port (`tgtd -C N`, `tgtadm --control-port=N`), 0..32767. @default tgtd's 0 */
  readonly controlPort?: number
  /** Where the per-target config files go; tgt's `targets.conf` includes it. @default '/etc/tgt/conf.d' */
  readonly configDir?: string
}

/** tgtadm's data LUN: LUN 0 is the target's controller (iscsi.md, tgtadm sequence). */
const DATA_LUN = 1

/**
 * The `TargetDriver` of tgt (Linux SCSI target framework, `tgtd`), driven with `tgtadm` on
 * the target host: one target per LUN with the data on LUN 1, initiator ACLs bound by name,
 * one-way CHAP through tgt's host-wide accounts. tgt keeps its configuration in memory, so
 * every change is also written to `<configDir>/pstorage-<iqn>.conf`, which `tgt-admin -e`
 * (tgt's boot unit) replays.
 *
 * Decisions:
 * - tids are allocated as max+1 under the driver's mutex; a tid taken meanwhile by another
 *   client is retried with the next one.
 * - A target is PStorage's when its data LUN lies in `backingDir`; CHAP and ACL calls on
 *   another target are a `conflict`, so its admin-written config is never duplicated.
 * - tgt cannot show CHAP secrets back: rewriting a target's file carries the secret over
 *   from the file itself (the one place it is kept, so several PStorage nodes agree); a
 *   secret set outside PStorage is a `conflict` until `setChap` sets it again.
 * - `tgtadm --password=` puts the secret on the host's command line (visible in `ps` there
 *   for the command's duration); tgtadm has no other way (security.md, defence 4).
 *
 * @example
 * ```ts
 * const driver = createTgtDriver({
 *   runner: createSshCommandRunner({ host, username: 'pstorage', privateKey, sudo: true }),
 *   backingDir: '/srv/pstorage/luns',
 * })
 * ```
 */
export function createTgtDriver(options: TgtDriverOptions): TargetDriver {
  const { runner } = options
  const backingDir = checkDirectory(options.backingDir, 'backingDir')
  const configDir = checkDirectory(options.configDir ?? '/etc/tgt/conf.d', 'configDir')
  const lld = options.lld ?? 'iscsi'
  if (lld !== 'iscsi') throw iscsiError(DRIVER_NAME, 'bad_request', "lld must be 'iscsi'")
  const { controlPort } = options
  if (
    controlPort !== undefined &&
    (!Number.isInteger(controlPort) || controlPort < 0 || controlPort > 32_767)
  )
    throw iscsiError(DRIVER_NAME, 'bad_request', 'controlPort must be an integer in 0..32767')
  const host = createHost(runner, DRIVER_NAME)
  const guard = createGuard(DRIVER_NAME)

  const tgt = createTgtHost({ host, backingDir, configDir, lld, controlPort })
  const { tgtadm, error, dataLuns, usesAccount, showTargets, show, confPath } = tgt

  const driver: TargetDriver = {
    name: DRIVER_NAME,

    async probe() {
      guard.live()
      const version = (await host.run(['tgtadm', '--version'])).stdout.trim()
      await host.run(tgtadm(['--op=show', '--mode=system'])).catch((cause) => {
        throw iscsiError(
          DRIVER_NAME,
          'service_unavailable',
          `tgtd is not answering on ${runner.target}`,
          { cause },
        )
      })
      const space = await host.backingSpace(backingDir)
      return { manager: DRIVER_NAME, version, backingDir, ...space }
    },

    async createLun(input) {
      guard.live()
      const lun = checkCreateLun(input, backingDir)
      return guard.exclusive(async () => {
        const { targets, portals } = await show()
        const existing = targets.find((t) => t.iqn === lun.iqn)
        const served = existing ? dataLuns(existing) : []
        if (served.some((l) => l.backingPath !== lun.backingPath))
          throw error('conflict', `Target ${lun.iqn} exists with another backing file`)
        if (
          targets.some(
            (t) => t.iqn !== lun.iqn && dataLuns(t).some((l) => l.backingPath === lun.backingPath),
          )
        )
          throw error('conflict', `Backing file ${lun.backingFile} is served by another target`)
        const file = await host.stat(backingDir, lun.backingPath)
        if (file.kind === 'other')
          throw error('conflict', `${lun.backingFile} exists and is not a regular file`)
        if (file.kind === 'file' && file.size !== lun.sizeBytes)
          throw error(
            'conflict',
            `${lun.backingFile} exists with another size (${file.size} bytes)`,
            {
              size_bytes: file.size,
            },
          )
        if (served.length > 0 && file.kind === 'missing')
          throw error('conflict', `Target ${lun.iqn} serves ${lun.backingFile}, which is missing`)
        const covered = portals.some((p) => portalCovers(p, lun.portal))
        if (existing && served.length > 0 && file.kind === 'file' && covered)
          return tgt.stateOf(lun.iqn)

        const chap = existing ? await tgt.chapOf(existing) : null
        const undo: (() => Promise<unknown>)[] = []
        try {
          if (file.kind === 'missing') {
            await host.createSparse(lun.backingPath, lun.sizeBytes)
            undo.push(() => host.remove(lun.backingPath))
          }
          let tid = existing?.tid
          if (tid === undefined) {
            const created = await tgt.newTarget(lun.iqn, targets)
            tid = created
            undo.push(() =>
              host.run(tgtadm(['--op=delete', '--force', '--mode=target', `--tid=${created}`])),
            )
          }
          if (served.length === 0)
            await host.run(
              tgtadm([
                '--op=new',
                '--mode=logicalunit',
                `--tid=${tid}`,
                `--lun=${DATA_LUN}`,
                `--backing-store=${lun.backingPath}`,
              ]),
            )
          await tgt.ensurePortal(lun.portal, portals)
          await tgt.persist(lun.iqn, chap)
        } catch (e) {
          for (const step of undo.reverse()) await step().catch(() => undefined)
          throw e
        }
        return tgt.stateOf(lun.iqn)
      })
    },

    async deleteLun(input) {
      guard.live()
      const { iqn, backingFile, backingPath } = checkDeleteLun(input, backingDir)
      await guard.exclusive(async () => {
        const targets = await showTargets()
        const t = targets.find((x) => x.iqn === iqn)
        if (t && dataLuns(t).some((l) => l.backingPath !== backingPath))
          throw error('conflict', `Target ${iqn} is not served from ${backingFile}`)
        if (
          targets.some(
            (x) => x.iqn !== iqn && dataLuns(x).some((l) => l.backingPath === backingPath),
          )
        )
          throw error('conflict', `Backing file ${backingFile} is served by another target`)
        if (t) {
          // --force: tgt refuses to delete a target with sessions otherwise.
          await host.run(tgtadm(['--op=delete', '--force', '--mode=target', `--tid=${t.tid}`]))
          const rest = targets.filter((x) => x.tid !== t.tid)
          for (const user of new Set([...t.accounts, ...t.outgoingAccounts]))
            if (!rest.some((x) => usesAccount(x, user)))
              await host.run(tgtadm(['--op=delete', '--mode=account', `--user=${user}`]))
        }
        await host.remove(confPath(iqn))
        await host.remove(backingPath)
      })
    },

    async setChap(input) {
      guard.live()
      const { iqn, userid, secret } = checkSetChap(input)
      await guard.exclusive(async () => {
        const targets = await showTargets()
        const t = tgt.ownTarget(targets, iqn)
        if (targets.some((x) => x.tid !== t.tid && usesAccount(x, userid)))
          throw error('conflict', `CHAP user ${userid} is bound to another target`)
        for (const user of t.accounts) if (user !== userid) await tgt.dropAccount(targets, t, user)
        const accounts = parseTgtAccounts(
          (await host.run(tgtadm(['--op=show', '--mode=account']))).stdout,
        )
        // tgt cannot change a password: the account is recreated (sessions are unaffected,
        // CHAP runs at login only).
        if (accounts.includes(userid))
          await host.run(tgtadm(['--op=delete', '--mode=account', `--user=${userid}`]))
        await host.run(
          tgtadm(['--op=new', '--mode=account', `--user=${userid}`, `--password=${secret}`]),
        )
        await host.run(
          tgtadm(['--op=bind', '--mode=account', `--tid=${t.tid}`, `--user=${userid}`]),
        )
        await tgt.persist(iqn, { userid, secret })
      })
    },

    async clearChap(input) {
      guard.live()
      const iqn = checkIqnOnly(input)
      await guard.exclusive(async () => {
        const targets = await showTargets()
        const t = tgt.ownTarget(targets, iqn)
        if (t.accounts.length === 0) return
        for (const user of t.accounts) await tgt.dropAccount(targets, t, user)
        await tgt.persist(iqn, null)
      })
    },

    async allowInitiator(input) {
      guard.live()
      const { iqn, initiatorIqn } = checkInitiator(input)
      await guard.exclusive(async () => {
        const t = tgt.ownTarget(await showTargets(), iqn)
        if (t.acls.some((a) => a.toLowerCase() === initiatorIqn)) return
        const chap = await tgt.chapOf(t)
        await host.run(
          tgtadm([
            '--op=bind',
            '--mode=target',
            `--tid=${t.tid}`,
            `--initiator-name=${initiatorIqn}`,
          ]),
        )
        await tgt.persist(iqn, chap)
      })
    },

    async denyInitiator(input) {
      guard.live()
      const { iqn, initiatorIqn } = checkInitiator(input)
      await guard.exclusive(async () => {
        const t = tgt.ownTarget(await showTargets(), iqn)
        const bound = t.acls.find((a) => a.toLowerCase() === initiatorIqn)
        if (bound === undefined) return
        const chap = await tgt.chapOf(t)
        await host.run(
          tgtadm(['--op=unbind', '--mode=target', `--tid=${t.tid}`, `--initiator-name=${bound}`]),
        )
        await tgt.persist(iqn, chap)
      })
    },

    async list() {
      guard.live()
      return tgt.states()
    },

    async save() {
      await guard.exclusive(async () => {
        const targets = await showTargets()
        const unknown: string[] = []
        for (const t of targets.filter(tgt.managed)) {
          let chap: Chap
          try {
            chap = await tgt.chapOf(t)
          } catch {
            unknown.push(t.iqn)
            continue
          }
          await tgt.persist(t.iqn, chap)
        }
        if (unknown.length > 0)
          throw error(
            'conflict',
            `CHAP secrets unknown to PStorage, set CHAP again: ${unknown.join(', ')}`,
            { iqns: unknown },
          )
      })
    },

    async close() {
      if (guard.close()) await runner.close()
    },
  }
  return driver
}
