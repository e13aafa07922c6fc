import type { PortalAddress } from '@pstorage/core'

/** One logical unit in `tgtadm --op show --mode target`. */
export interface TgtLun {
  readonly lun: number
  /** `disk`, `controller`, `cd/dvd`… */
  readonly type: string
  /** `Backing store path:`; `None` (the controller LUN 0) becomes `null`. */
  readonly backingPath: string | null
}

/** One target block of `tgtadm --op show --mode target`. */
export interface TgtTarget {
  readonly tid: number
  readonly iqn: string
  readonly luns: readonly TgtLun[]
  /** Incoming (initiator-authenticating) CHAP accounts bound to the target. */
  readonly accounts: readonly string[]
  /** Outgoing (mutual CHAP) accounts. */
  readonly outgoingAccounts: readonly string[]
  /** `ACL information:` lines: initiator names and addresses (`ALL`, `10.0.0.0/8`) mixed. */
  readonly acls: readonly string[]
  /** Initiators with an I_T nexus (a logged-in session). */
  readonly sessions: readonly string[]
}

type Section = 'system' | 'nexus' | 'lun' | 'account' | 'acl' | 'other'

const SECTIONS: Record<string, Section> = {
  'System information:': 'system',
  'I_T nexus information:': 'nexus',
  'LUN information:': 'lun',
  'Account information:': 'account',
  'ACL information:': 'acl',
}

interface Draft {
  tid: number
  iqn: string
  luns: { lun: number; type: string; backingPath: string | null }[]
  accounts: string[]
  outgoingAccounts: string[]
  acls: string[]
  sessions: string[]
}

/**
 * Parses `tgtadm --lld iscsi --op show --mode target` by line prefix (iscsi.md, "Reading
 * state back"): `Target N: <iqn>` opens a target, the four-space headers open sections, and
 * lines inside them are read by their own prefixes. Unknown lines are skipped, so fields a
 * newer tgt adds do not break it; captured outputs of each tgt version are the tests.
 *
 * @example
 * ```ts
 * parseTgtTargets('Target 1: iqn.2025-01.local.pstorage:vol1\n    ACL information:\n        ALL\n')
 * // [{ tid: 1, iqn: '…:vol1', luns: [], accounts: [], outgoingAccounts: [], acls: ['ALL'], sessions: [] }]
 * ```
 */
export function parseTgtTargets(text: string): TgtTarget[] {
  const targets: Draft[] = []
  let target: Draft | undefined
  let section: Section = 'other'
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd()
    const head = /^Target (\d+): (\S+)$/.exec(line)
    if (head) {
      target = {
        tid: Number(head[1]),
        iqn: head[2]!.toLowerCase(),
        luns: [],
        accounts: [],
        outgoingAccounts: [],
        acls: [],
        sessions: [],
      }
      targets.push(target)
      section = 'other'
      continue
    }
    if (!target) continue
    const indent = line.length - line.trimStart().length
    const body = line.trim()
    if (body === '') continue
    if (indent === 4) {
      section = SECTIONS[body] ?? 'other'
      continue
    }
    switch (section) {
      case 'lun': {
        const lunHead = /^LUN: (\d+)$/.exec(body)
        const lun = target.luns.at(-1)
        if (lunHead) target.luns.push({ lun: Number(lunHead[1]), type: '', backingPath: null })
        else if (lun && body.startsWith('Type: ')) lun.type = body.slice(6)
        else if (lun && body.startsWith('Backing store path: ')) {
          const path = body.slice('Backing store path: '.length)
          lun.backingPath = path === 'None' ? null : path
        }
        break
      }
      case 'account':
        if (indent === 8) {
          const out = / \(outgoing\)$/.exec(body)
          if (out) target.outgoingAccounts.push(body.slice(0, out.index))
          else target.accounts.push(body)
        }
        break
      case 'acl':
        if (indent === 8) target.acls.push(body)
        break
      case 'nexus': {
        const who = /^Initiator: (\S+)/.exec(body)
        if (who) target.sessions.push(who[1]!.toLowerCase())
        break
      }
      default:
        break
    }
  }
  return targets
}

/**
 * Parses `tgtadm --lld iscsi --op show --mode portal`: `Portal: 127.0.0.1:3260,1`,
 * `Portal: [::1]:3260,1` (the `,1` is the portal group tag).
 */
export function parseTgtPortals(text: string): PortalAddress[] {
  const portals: PortalAddress[] = []
  for (const line of text.split('\n')) {
    const m = /^Portal: (?:\[([^\]]+)\]|([^:\s]+)):(\d+)(?:,\d+)?\s*$/.exec(line.trim())
    if (m) portals.push({ address: (m[1] ?? m[2]!).toLowerCase(), port: Number(m[3]) })
  }
  return portals
}

/** Parses `tgtadm --lld iscsi --op show --mode account`: the indented names under `Account list:`. */
export function parseTgtAccounts(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => /^\s+\S/.test(l))
    .map((l) => l.trim().replace(/ \(outgoing\)$/, ''))
}
