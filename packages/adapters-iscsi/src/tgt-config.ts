/**
 * The `/etc/tgt/conf.d` file the tgt driver writes per target, read by `tgt-admin -e` when
 * the host boots (tgt's systemd unit). tgt keeps its runtime state in memory only, so this
 * file is the target's persistence (iscsi.md: "generate conf.d files" over `--dump`, which
 * writes `PLEASE_CORRECT_THE_PASSWORD` instead of CHAP secrets).
 */

/** What one target's file holds. */
export interface TgtConfig {
  readonly iqn: string
  /** Backing stores in LUN order; tgt-admin numbers them from LUN 1, as the driver does. */
  readonly backingPaths: readonly string[]
  readonly initiators: readonly string[]
  readonly chap: { readonly userid: string; readonly secret: string } | null
}

/**
 * An address ACL no initiator can match. tgt-admin binds `initiator-address ALL` to every
 * target whose block has no `initiator-address` line, and tgt admits an initiator matching
 * *any* address or name ACL, so a file listing only `initiator-name`s would come back after
 * a reboot open to everyone. This line keeps the target closed to all but the names listed;
 * the driver hides it from `list()`.
 */
export const DENY_ALL_ADDRESS = '0.0.0.0/32'

/** The file name of a target's config in the config directory. */
export function configFileName(iqn: string): string {
  return `pstorage-${iqn}.conf`
}

/**
 * Renders a target block in tgt's `targets.conf` syntax (Config::General). Every value was
 * validated against allow-lists that exclude whitespace, `#`, `<`, `>` and shell syntax:
 * tgt-admin pastes them into `system()` command lines unquoted.
 *
 * @example
 * ```ts
 * renderTgtConfig({ iqn, backingPaths: ['/srv/luns/vol1.img'], initiators: [], chap: null })
 * ```
 */
export function renderTgtConfig(config: TgtConfig): string {
  const lines = [
    '# Written by PStorage (tgt driver) on every change of this target: do not edit.',
    `<target ${config.iqn}>`,
    '    driver iscsi',
    ...config.backingPaths.map((p) => `    backing-store ${p}`),
    `    initiator-address ${DENY_ALL_ADDRESS}`,
    ...config.initiators.map((i) => `    initiator-name ${i}`),
    ...(config.chap ? [`    incominguser ${config.chap.userid} ${config.chap.secret}`] : []),
    '</target>',
    '',
  ]
  return lines.join('\n')
}

/** The `incominguser` of a file this driver wrote, to carry the secret into a rewrite. */
export function parseIncomingUser(text: string): { userid: string; secret: string } | null {
  const m = /^\s*incominguser\s+(\S+)\s+(\S+)\s*$/m.exec(text)
  return m ? { userid: m[1]!, secret: m[2]! } : null
}
