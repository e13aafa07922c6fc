import { type ErrorCode, isIscsiName, type PortalAddress, type TargetState } from '@pstorage/core'
import { byPortal, portalCovers, sortTargets } from './driver-kit.js'
import type { Host } from './host.js'
import { iscsiError } from './runner-kit.js'
import {
  configFileName,
  DENY_ALL_ADDRESS,
  parseIncomingUser,
  renderTgtConfig,
} from './tgt-config.js'
import { parseTgtPortals, parseTgtTargets, type TgtTarget } from './tgt-show.js'
import { backingFileOf } from './validate.js'

/** The `name` of tgt drivers. */
export const DRIVER_NAME = 'tgt'

const TID_RETRIES = 5

/** One-way CHAP credentials as a config file keeps them. */
export type Chap = { userid: string; secret: string } | null

/** What {@link createTgtHost} needs: the host and the driver's validated settings. */
export interface TgtHostOptions {
  readonly host: Host
  readonly backingDir: string
  readonly configDir: string
  readonly lld: string
  readonly controlPort: number | undefined
}

/**
 * The tgt driver's view of one tgtd: `tgtadm` argv, state reads (`--op show` parsed into
 * {@link TgtTarget}s and the port's `TargetState`s) and the steps its operations share
 * (tid allocation, portals, accounts, config files). No method takes the driver's mutex:
 * the driver's operations do.
 */
export function createTgtHost(options: TgtHostOptions) {
  const { host, backingDir, configDir, lld, controlPort } = options

  const error = (code: ErrorCode, detail: string, details?: object) =>
    iscsiError(DRIVER_NAME, code, detail, details ? { details: { ...details } } : {})

  function tgtadm(args: readonly string[]) {
    const control = controlPort === undefined ? [] : [`--control-port=${controlPort}`]
    return ['tgtadm', ...control, `--lld=${lld}`, ...args]
  }

  async function showTargets(): Promise<TgtTarget[]> {
    return parseTgtTargets((await host.run(tgtadm(['--op=show', '--mode=target']))).stdout)
  }

  async function show() {
    const [targets, portals] = await Promise.all([
      showTargets(),
      host.run(tgtadm(['--op=show', '--mode=portal'])),
    ])
    return { targets, portals: parseTgtPortals(portals.stdout).sort(byPortal) }
  }

  const dataLuns = (t: TgtTarget) =>
    t.luns.filter((l) => l.type !== 'controller' && l.backingPath !== null)
  const managed = (t: TgtTarget) =>
    dataLuns(t).some((l) => backingFileOf(l.backingPath!, backingDir) !== null)
  const usesAccount = (t: TgtTarget, user: string) =>
    t.accounts.includes(user) || t.outgoingAccounts.includes(user)
  const confPath = (iqn: string) => `${configDir}/${configFileName(iqn)}`

  function toState(
    t: TgtTarget,
    portals: readonly PortalAddress[],
    sizes: Map<string, number | null>,
  ): TargetState {
    const names = t.acls.filter((a) => isIscsiName(a)).map((a) => a.toLowerCase())
    return {
      iqn: t.iqn,
      name: null,
      luns: dataLuns(t).map((l) => ({
        lun: l.lun,
        backingPath: l.backingPath!,
        backingFile: backingFileOf(l.backingPath!, backingDir),
        sizeBytes: sizes.get(l.backingPath!) ?? null,
      })),
      portals: [...portals],
      initiators: [...new Set(names)].sort(),
      initiatorAddresses: t.acls.filter((a) => !isIscsiName(a) && a !== DENY_ALL_ADDRESS),
      chapUser: [...t.accounts].sort()[0] ?? null,
    }
  }

  async function states(): Promise<TargetState[]> {
    const { targets, portals } = await show()
    const paths = targets.flatMap((t) => dataLuns(t).map((l) => l.backingPath!))
    // Paths with control characters cannot be matched in stat's line output: left unknown.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the test
    const sizes = await host.sizes([...new Set(paths)].filter((p) => !/[\u0000-\u001f]/.test(p)))
    return sortTargets(targets.map((t) => toState(t, portals, sizes)))
  }

  async function stateOf(iqn: string): Promise<TargetState> {
    const found = (await states()).find((t) => t.iqn === iqn)
    if (!found) throw error('internal_error', `Target ${iqn} vanished after its creation`)
    return found
  }

  /** The target to change, which must exist and be PStorage's. */
  function ownTarget(targets: readonly TgtTarget[], iqn: string): TgtTarget {
    const t = targets.find((x) => x.iqn === iqn)
    if (!t) throw error('not_found', `Target ${iqn} not found`)
    if (!managed(t))
      throw error('conflict', `Target ${iqn} is not managed by PStorage (no LUN in backingDir)`)
    return t
  }

  /** The CHAP credentials to write into `t`'s config file, found before changing anything. */
  async function chapOf(t: TgtTarget): Promise<Chap> {
    const userid = [...t.accounts].sort()[0]
    if (userid === undefined) return null
    const text = await host.read(configDir, confPath(t.iqn)).catch(() => null)
    const saved = text === null ? null : parseIncomingUser(text)
    if (saved?.userid === userid) return saved
    throw error(
      'conflict',
      `The CHAP secret of ${t.iqn} is unknown to PStorage (set outside it): set CHAP again`,
    )
  }

  /** Writes the config file of `iqn` from the host's current state. */
  async function persist(iqn: string, chap: Chap): Promise<void> {
    const targets = await showTargets()
    const t = targets.find((x) => x.iqn === iqn)
    if (!t) {
      await host.remove(confPath(iqn))
      return
    }
    await host.write(
      confPath(iqn),
      renderTgtConfig({
        iqn,
        backingPaths: dataLuns(t).map((l) => l.backingPath!),
        initiators: t.acls.filter((a) => isIscsiName(a)),
        chap: t.accounts.length > 0 ? chap : null,
      }),
    )
  }

  /** Creates the target `iqn` on a free tid; answers its tid. */
  async function newTarget(iqn: string, known: readonly TgtTarget[]): Promise<number> {
    let targets = known
    for (let attempt = 0; attempt < TID_RETRIES; attempt++) {
      const tid = Math.max(0, ...targets.map((t) => t.tid)) + 1
      const argv = tgtadm(['--op=new', '--mode=target', `--tid=${tid}`, `--targetname=${iqn}`])
      const result = await host.run(argv, { allow: [22] })
      if (result.code === 0) return tid
      // 22 (EINVAL) is "this target already exists": the tid, or the name, was just taken.
      targets = await showTargets()
      const raced = targets.find((t) => t.iqn === iqn)
      if (raced) return raced.tid
      if (attempt === TID_RETRIES - 1) throw host.failure(argv, result)
    }
    throw error('internal_error', 'No free tid')
  }

  async function ensurePortal(portal: PortalAddress, portals: readonly PortalAddress[]) {
    if (portals.some((p) => portalCovers(p, portal))) return
    const address = portal.address.includes(':') ? `[${portal.address}]` : portal.address
    await host.run(
      tgtadm(['--op=new', '--mode=portal', `--param=portal=${address}:${portal.port}`]),
    )
  }

  /** Removes `user`'s binding to `t`: deletes the account unless another target uses it. */
  async function dropAccount(targets: readonly TgtTarget[], t: TgtTarget, user: string) {
    const elsewhere = targets.some((x) => x.tid !== t.tid && usesAccount(x, user))
    if (elsewhere)
      await host.run(tgtadm(['--op=unbind', '--mode=account', `--tid=${t.tid}`, `--user=${user}`]))
    else await host.run(tgtadm(['--op=delete', '--mode=account', `--user=${user}`]))
  }

  return {
    tgtadm,
    error,
    dataLuns,
    managed,
    usesAccount,
    confPath,
    showTargets,
    show,
    states,
    stateOf,
    ownTarget,
    chapOf,
    persist,
    newTarget,
    ensurePortal,
    dropAccount,
  }
}
