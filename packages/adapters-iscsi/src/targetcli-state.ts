import type { PortalAddress, TargetState } from '@pstorage/core'
import { byPortal, sortTargets } from './driver-kit.js'
import { backingFileOf } from './validate.js'

/**
 * The parts of LIO's `saveconfig.json` (rtslib-fb `RTSRoot.dump()`, saveconfig.json(5)) the
 * targetcli driver reads. The file holds CHAP passwords: it is parsed in memory, never logged,
 * and only user names leave it.
 */
export interface LioConfig {
  readonly storageObjects: readonly LioStorageObject[]
  readonly targets: readonly LioTarget[]
}

export interface LioStorageObject {
  readonly name: string
  /** `fileio`, `block`, `ramdisk`, `pscsi`, `user:…` */
  readonly plugin: string
  readonly dev: string | null
  readonly size: number | null
  readonly writeBack: boolean | null
}

export interface LioAuth {
  readonly userid: string | null
  readonly password: string | null
}

export interface LioAcl extends LioAuth {
  readonly nodeWwn: string
  /** `[mapped LUN, TPG LUN]` pairs. */
  readonly mappedLuns: readonly (readonly [number, number])[]
}

export interface LioTpg extends LioAuth {
  readonly tag: number
  readonly attributes: Readonly<Record<string, unknown>>
  /** `[LUN index, "/backstores/<plugin>/<name>"]` pairs. */
  readonly luns: readonly (readonly [number, string])[]
  readonly portals: readonly PortalAddress[]
  readonly acls: readonly LioAcl[]
}

export interface LioTarget {
  readonly wwn: string
  readonly fabric: string
  readonly tpgs: readonly LioTpg[]
}

type Json = Record<string, unknown>
const obj = (v: unknown): Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {}
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const int = (v: unknown): number | null =>
  typeof v === 'number' && Number.isSafeInteger(v) ? v : null
/** rtslib dumps `chap_userid`; saveconfig.json(5) documents `userid`: both are read. */
const auth = (o: Json, key: 'userid' | 'password') => str(o[`chap_${key}`]) || str(o[key]) || null

/**
 * Parses saveconfig.json defensively (security.md, API10: tool output is hostile): wrong
 * types are skipped rather than trusted; JSON that does not parse throws a `SyntaxError`
 * whose message the caller must not forward (it may quote the content).
 */
export function parseSaveconfig(text: string): LioConfig {
  const root = obj(JSON.parse(text))
  const storageObjects = arr(root.storage_objects).flatMap((raw): LioStorageObject[] => {
    const so = obj(raw)
    const name = str(so.name)
    const plugin = str(so.plugin)
    if (!name || !plugin) return []
    return [
      {
        name,
        plugin,
        dev: str(so.dev),
        size: int(so.size),
        writeBack: typeof so.write_back === 'boolean' ? so.write_back : null,
      },
    ]
  })
  const targets = arr(root.targets).flatMap((raw): LioTarget[] => {
    const t = obj(raw)
    const wwn = str(t.wwn)
    if (!wwn) return []
    const tpgs = arr(t.tpgs).flatMap((rawTpg): LioTpg[] => {
      const tpg = obj(rawTpg)
      const tag = int(tpg.tag)
      if (tag === null) return []
      return [
        {
          tag,
          attributes: obj(tpg.attributes),
          userid: auth(tpg, 'userid'),
          password: auth(tpg, 'password'),
          luns: arr(tpg.luns).flatMap((l): [number, string][] => {
            const index = int(obj(l).index)
            const so = str(obj(l).storage_object)
            return index === null || so === null ? [] : [[index, so]]
          }),
          portals: arr(tpg.portals).flatMap((p): PortalAddress[] => {
            const ip = str(obj(p).ip_address)
            const port = int(obj(p).port)
            return ip === null || port === null
              ? []
              : [{ address: ip.replace(/^\[(.*)\]$/, '$1').toLowerCase(), port }]
          }),
          acls: arr(tpg.node_acls).flatMap((a): LioAcl[] => {
            const acl = obj(a)
            const nodeWwn = str(acl.node_wwn)
            if (!nodeWwn) return []
            return [
              {
                nodeWwn: nodeWwn.toLowerCase(),
                userid: auth(acl, 'userid'),
                password: auth(acl, 'password'),
                mappedLuns: arr(acl.mapped_luns).flatMap((m): [number, number][] => {
                  const index = int(obj(m).index)
                  const tpgLun = int(obj(m).tpg_lun)
                  return index === null || tpgLun === null ? [] : [[index, tpgLun]]
                }),
              },
            ]
          }),
        },
      ]
    })
    return [{ wwn: wwn.toLowerCase(), fabric: str(t.fabric) ?? '', tpgs }]
  })
  return { storageObjects, targets }
}

/** The iSCSI target `iqn` of a config. */
export function findTarget(config: LioConfig, iqn: string): LioTarget | undefined {
  return config.targets.find((t) => t.fabric === 'iscsi' && t.wwn === iqn)
}

/** The TPG the driver manages: tag 1, the one targetcli creates with a target. */
export function tpgOf(target: LioTarget): LioTpg | undefined {
  return target.tpgs.find((t) => t.tag === 1) ?? target.tpgs[0]
}

/** The storage object a LUN's `/backstores/<plugin>/<name>` link names. */
export function storageObjectOf(config: LioConfig, link: string): LioStorageObject | undefined {
  const m = /^\/backstores\/([^/]+)\/([^/]+)$/.exec(link)
  return m ? config.storageObjects.find((so) => so.plugin === m[1] && so.name === m[2]) : undefined
}

const attr = (tpg: LioTpg, name: string) => String(tpg.attributes[name] ?? '')

/** True when the TPG requires CHAP (`authentication=1`, per-ACL credentials). */
export function chapRequired(tpg: LioTpg): boolean {
  return attr(tpg, 'authentication') === '1'
}

/**
 * The port's view of every iSCSI target: backing files and sizes from the storage objects,
 * the CHAP user (never the password), and demo mode (`generate_node_acls=1`, any initiator
 * admitted) reported as the address ACL `ALL`.
 */
export function lioStates(config: LioConfig, backingDir: string): TargetState[] {
  const states = config.targets
    .filter((t) => t.fabric === 'iscsi')
    .map((t): TargetState => {
      const tpg = tpgOf(t)
      const luns = (tpg?.luns ?? [])
        .map(([index, link]) => ({ index, so: storageObjectOf(config, link) }))
        .filter((l) => l.so?.dev)
        .sort((a, b) => a.index - b.index)
      const first = luns[0]?.so
      const chapUser =
        tpg && chapRequired(tpg)
          ? (tpg.userid ?? tpg.acls.find((a) => a.userid)?.userid ?? null)
          : null
      return {
        iqn: t.wwn,
        name: first?.plugin === 'fileio' ? first.name : null,
        luns: luns.map(({ index, so }) => ({
          lun: index,
          backingPath: so!.dev!,
          backingFile: so!.plugin === 'fileio' ? backingFileOf(so!.dev!, backingDir) : null,
          sizeBytes: so!.size,
        })),
        portals: [...(tpg?.portals ?? [])].sort(byPortal),
        initiators: [...new Set((tpg?.acls ?? []).map((a) => a.nodeWwn))].sort(),
        initiatorAddresses: tpg && attr(tpg, 'generate_node_acls') === '1' ? ['ALL'] : [],
        chapUser,
      }
    })
  return sortTargets(states)
}
