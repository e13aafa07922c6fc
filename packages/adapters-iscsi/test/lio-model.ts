import { createHash } from 'node:crypto'
import type { CommandResult } from '@pstorage/core'

/** The shape of rtslib-fb's `RTSRoot().dump()`, the content of saveconfig.json. */
export interface LioDump {
  fabric_modules: unknown[]
  storage_objects: StorageObject[]
  targets: Target[]
}
export interface StorageObject {
  alua_tpgs: unknown[]
  attributes: Record<string, number>
  dev: string
  name: string
  plugin: string
  size: number
  write_back: boolean
  wwn: string
}
export interface Auth {
  chap_userid?: string
  chap_password?: string
  chap_mutual_userid?: string
  chap_mutual_password?: string
}
export interface Lun {
  alias: string
  alua_tg_pt_gp_name: string
  index: number
  storage_object: string
}
export interface Portal {
  ip_address: string
  iser: boolean
  offload: boolean
  port: number
}
export interface MappedLun {
  alias: string
  index: number
  tpg_lun: number
  write_protect: boolean
}
export interface Acl extends Auth {
  attributes: Record<string, number>
  mapped_luns: MappedLun[]
  node_wwn: string
}
export interface Tpg extends Auth {
  attributes: Record<string, number>
  enable: boolean
  luns: Lun[]
  node_acls: Acl[]
  parameters: Record<string, string>
  portals: Portal[]
  tag: number
}
export interface Target {
  fabric: string
  tpgs: Tpg[]
  wwn: string
}

export const VERSION = '2.1.53'
/** configshell-fb's value grammar: `Word(alphanums + '_\+/.<>()~@:-%]')`. */
export const VALUE = /^[A-Za-z0-9_+/.<>()~@:\-%\]]*$/
/** rtslib-fb's iqn check (utils.py), after lowercasing. */
export const RTSLIB_IQN = /^iqn\.[0-9]{4}-[0-1][0-9]\..*\..*/

export const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' })
export const fail = (stderr: string, code = 1): CommandResult => ({
  code,
  stdout: '',
  stderr: `${stderr}\n`,
})

/** Default TPG attributes of a new iSCSI TPG, as a kernel 6.1 dump shows them. */
export function tpgAttributes(): Record<string, number> {
  return {
    authentication: 0,
    cache_dynamic_acls: 0,
    default_cmdsn_depth: 64,
    default_erl: 0,
    demo_mode_discovery: 1,
    demo_mode_write_protect: 1,
    fabric_prot_type: 0,
    generate_node_acls: 0,
    login_keys_workaround: 1,
    login_timeout: 15,
    netif_timeout: 2,
    prod_mode_write_protect: 0,
    t10_pi: 0,
    tpg_enabled_sendtargets: 1,
  }
}

export function aclAttributes(): Record<string, number> {
  return {
    dataout_timeout: 3,
    dataout_timeout_retries: 5,
    default_erl: 0,
    nopin_response_timeout: 30,
    nopin_timeout: 15,
    random_datain_pdu_offsets: 0,
    random_datain_seq_offsets: 0,
    random_r2t_offsets: 0,
  }
}

export const alias = (seed: string) => createHash('sha1').update(seed).digest('hex').slice(0, 10)

/** JSON with sorted keys and 2-space indent, like rtslib's `save_to_file`. */
export function dumpJson(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : typeof v === 'object' && v !== null
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v
  return `${JSON.stringify(sort(value), null, 2)}\n`
}
