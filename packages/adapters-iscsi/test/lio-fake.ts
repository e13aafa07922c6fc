import { createHash } from 'node:crypto'
import type { CommandResult, CommandRunner, CommandRunOptions } from '@pstorage/core'
import {
  type Acl,
  type Auth,
  aclAttributes,
  alias,
  dumpJson,
  fail,
  type LioDump,
  ok,
  RTSLIB_IQN,
  type Target,
  type Tpg,
  tpgAttributes,
  VALUE,
  VERSION,
} from './lio-model.js'

export type { LioDump }

/**
 * A stand-in for a LIO target host, the only test double of this package: this kernel has
 * no LIO/configfs, so `targetcli` cannot run here. It answers the commands the targetcli
 * driver sends the way targetcli-fb 2.1.5x and rtslib-fb do, as read from their sources:
 *
 * - `targetcli <args…>` joins its argv with spaces and parses one configshell command line
 *   (so an argument with a space would split, as it does for real); values outside
 *   configshell's grammar are a parse error; errors exit 1 on stderr, except a path that
 *   does not exist, which configshell only logs (exit 0): the reason the driver reads its
 *   changes back.
 * - `targetcli` with commands on stdin runs them one by one, logging errors and going on.
 * - The running configuration is kept as rtslib's `RTSRoot().dump()` JSON; `saveconfig`
 *   writes it to the saveconfig path, which `cat` reads back.
 * - `stat`, `truncate`, `rm`, `df` act on an in-memory file system.
 *
 * Every call is recorded in `transcript` (argv, stdin, result), the reviewable record of
 * what the driver sends; secrets are redacted when it is rendered.
 */
export interface LioFake {
  /** A runner over this host; closing it does not stop the host. */
  runner(): CommandRunner
  readonly transcript: TranscriptEntry[]
  /** Backing files on the host: path → size. */
  readonly files: Map<string, number>
  /** The running configuration (rtslib dump). */
  running(): LioDump
  /**
   * Makes the next command that `match`es (a substring of the joined argv, or a predicate)
   * exit 0 doing nothing: targetcli's behaviour on a path it does not find.
   */
  swallowNext(match: string | ((argv: readonly string[]) => boolean)): void
  /** The transcript as text, passwords redacted. */
  render(): string
}

export interface TranscriptEntry {
  readonly argv: readonly string[]
  readonly stdin?: string
  readonly result: CommandResult
}

export interface LioFakeOptions {
  readonly backingDir: string
  /** @default '/etc/rtslib-fb-target/saveconfig.json' (Debian) */
  readonly saveconfigPath?: string
  /** Saved and running configuration at start (a saveconfig.json). */
  readonly initial?: LioDump
  /**
   * Whether the kernel's iSCSI TPGs have an `auth` group. Without one rtslib ignores TPG
   * credentials silently (`ignore=True`). @default true
   */
  readonly tpgAuth?: boolean
}

export function createLioFake(options: LioFakeOptions): LioFake {
  const savePath = options.saveconfigPath ?? '/etc/rtslib-fb-target/saveconfig.json'
  const saveDir = savePath.slice(0, savePath.lastIndexOf('/'))
  const files = new Map<string, number>()
  const dirs = new Set(['/', '/etc', saveDir, options.backingDir])
  const config: LioDump = structuredClone(
    options.initial ?? { fabric_modules: [], storage_objects: [], targets: [] },
  )
  let saved: string | null = options.initial ? dumpJson(options.initial) : null
  const prefs: Record<string, boolean> = {
    auto_add_default_portal: true,
    auto_add_mapped_luns: true,
  }
  const transcript: TranscriptEntry[] = []
  const swallowed: ((argv: readonly string[]) => boolean)[] = []

  const targets = () => config.targets
  const sos = () => config.storage_objects
  const findTarget = (wwn: string) => targets().find((t) => t.wwn === wwn)

  /** Resolves a configshell path to the node it names, or null (an unknown path). */
  function node(path: string): { kind: string; target?: Target; tpg?: Tpg; acl?: Acl } | null {
    const parts = path.split('/').filter(Boolean)
    if (parts.length === 0) return { kind: 'root' }
    if (parts[0] === 'backstores' && parts[1] === 'fileio' && parts.length === 2)
      return { kind: 'fileio' }
    if (parts[0] !== 'iscsi') return null
    if (parts.length === 1) return { kind: 'iscsi' }
    const target = findTarget(parts[1]!)
    if (!target) return null
    if (parts.length === 2) return { kind: 'target', target }
    const tpg = target.tpgs.find((t) => `tpg${t.tag}` === parts[2])
    if (!tpg) return null
    if (parts.length === 3) return { kind: 'tpg', target, tpg }
    if (parts.length === 4 && ['luns', 'portals', 'acls'].includes(parts[3]!))
      return { kind: parts[3]!, target, tpg }
    if (parts.length === 5 && parts[3] === 'acls') {
      const acl = tpg.node_acls.find((a) => a.node_wwn === parts[4])
      return acl ? { kind: 'acl', target, tpg, acl } : null
    }
    return null
  }

  function setAuth(holder: Auth, params: Record<string, string>) {
    for (const [key, value] of Object.entries(params)) {
      if (!['userid', 'password', 'mutual_userid', 'mutual_password'].includes(key))
        return fail(`Unknown auth parameter ${key}`)
      if (value === 'NULL') return fail("'NULL' is not a permitted value")
      const field = `chap_${key}` as keyof Auth
      // rtslib writes '' as NULL, and its dump leaves unset credentials out.
      if (value === '') delete holder[field]
      else holder[field] = value
    }
    return ok(
      Object.keys(params)
        .map((k) => `Parameter ${k} is now '${params[k]}'.`)
        .join('\n'),
    )
  }

  /** One configshell command line: `[path] command [params]`. */
  function command(line: string): CommandResult {
    const tokens = line.trim().split(/\s+/).filter(Boolean)
    let path = '/'
    if (tokens[0]?.includes('/')) path = tokens.shift()!
    const verb = tokens.shift() ?? ''
    const positional: string[] = []
    const params: Record<string, string> = {}
    for (const t of tokens) {
      const eq = t.indexOf('=')
      const value = eq >= 0 ? t.slice(eq + 1) : t
      if (!VALUE.test(value))
        return fail(`Parse error: unexpected character in ${JSON.stringify(t)}`)
      if (eq >= 0) params[t.slice(0, eq)] = value
      else positional.push(t)
    }
    if (verb === 'saveconfig') {
      saved = dumpJson(config)
      return ok(
        `Last 10 configs saved in ${saveDir}/backup/.\nConfiguration saved to ${savePath}\n`,
      )
    }
    if (verb === 'set' && positional[0] === 'global') {
      Object.assign(
        prefs,
        Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v === 'true'])),
      )
      return ok(
        Object.keys(params)
          .map((k) => `Parameter ${k} is now '${params[k]}'.`)
          .join('\n'),
      )
    }
    const at = node(path)
    // configshell's _execute_command logs an unknown path and returns: exit status 0.
    if (!at) return { code: 0, stdout: '', stderr: `No such path ${path}\n` }

    if (at.kind === 'fileio' && verb === 'create') {
      const { name, file_or_dev: dev, size, write_back: wb } = params
      if (!name || !dev) return fail('Missing required parameters')
      if (sos().some((s) => s.plugin === 'fileio' && s.name === name))
        return fail(`Storage object fileio/${name} exists`)
      const user = sos().find((s) => s.dev === dev)
      if (user) return fail(`storage object for ${dev} already exists: ${user.name}`)
      let bytes = files.get(dev)
      if (bytes === undefined) {
        if (!size) return fail('Attempting to create file for new fileio backstore, need a size')
        bytes = Number(size)
        files.set(dev, bytes)
      }
      sos().push({
        alua_tpgs: [],
        attributes: {
          block_size: 512,
          emulate_write_cache: wb === 'false' ? 0 : 1,
          hw_block_size: 512,
        },
        dev,
        name,
        plugin: 'fileio',
        size: bytes,
        write_back: wb !== 'false',
        wwn: createHash('md5')
          .update(name)
          .digest('hex')
          .replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5'),
      })
      return ok(`Created fileio ${name} with size ${bytes}`)
    }
    if (at.kind === 'fileio' && verb === 'delete') {
      const so = sos().find((s) => s.plugin === 'fileio' && s.name === params.name)
      if (!so) return fail(`No storage object named ${params.name}.`)
      // rtslib deletes the LUNs using it first.
      for (const t of targets())
        for (const tpg of t.tpgs)
          tpg.luns = tpg.luns.filter((l) => l.storage_object !== `/backstores/fileio/${so.name}`)
      config.storage_objects = sos().filter((x) => x !== so)
      return ok(`Deleted storage object ${so.name}.`)
    }
    if (at.kind === 'iscsi' && verb === 'create') {
      const wwn = (params.wwn ?? '').toLowerCase()
      if (!RTSLIB_IQN.test(wwn) || /[\s_]/.test(wwn)) return fail(`WWN not valid as: iqn, naa, eui`)
      if (findTarget(wwn)) return fail('This Target already exists in configFS')
      const portals = prefs.auto_add_default_portal
        ? [{ ip_address: '0.0.0.0', iser: false, offload: false, port: 3260 }]
        : []
      targets().push({
        fabric: 'iscsi',
        tpgs: [
          {
            attributes: tpgAttributes(),
            enable: true,
            luns: [],
            node_acls: [],
            parameters: { AuthMethod: 'CHAP,None', MaxConnections: '1', TargetAlias: 'LIO Target' },
            portals,
            tag: 1,
          },
        ],
        wwn,
      })
      return ok(`Created target ${wwn}.\nCreated TPG 1.`)
    }
    if (at.kind === 'iscsi' && verb === 'delete') {
      const wwn = (params.wwn ?? '').toLowerCase()
      if (!findTarget(wwn))
        return fail(`No such Target in configfs: /sys/kernel/config/target/iscsi/${wwn}`)
      config.targets = targets().filter((t) => t.wwn !== wwn)
      return ok(`Deleted Target ${wwn}.`)
    }
    if (at.tpg && verb === 'set' && (at.kind === 'tpg' || at.kind === 'acl')) {
      const group = positional[0]
      if (group === 'auth' && !at.acl && options.tpgAuth === false) return ok()
      if (group === 'auth') return setAuth(at.acl ?? at.tpg, params)
      if (group === 'attribute') {
        const attrs = (at.acl ?? at.tpg).attributes
        for (const [k, v] of Object.entries(params)) {
          if (!(k in attrs)) return fail(`Unknown attribute ${k}`)
          attrs[k] = Number(v)
        }
        return ok(
          Object.keys(params)
            .map((k) => `Parameter ${k} is now '${params[k]}'.`)
            .join('\n'),
        )
      }
      return fail(`Unknown configuration group ${group}`)
    }
    if (at.kind === 'luns' && verb === 'create') {
      const link = params.storage_object ?? ''
      const so = sos().find((s) => `/backstores/${s.plugin}/${s.name}` === link)
      if (!so) return fail('storage object or path not valid')
      const luns = at.tpg!.luns
      if (luns.some((l) => l.storage_object === link))
        return fail(`lun for storage object ${so.plugin}/${so.name} already exists`)
      const index = params.lun === undefined ? luns.length : Number(params.lun.replace(/^lun/, ''))
      if (luns.some((l) => l.index === index)) return fail(`LUN ${index} already exists`)
      luns.push({
        alias: alias(`${at.target!.wwn}${index}`),
        alua_tg_pt_gp_name: 'default_tg_pt_gp',
        index,
        storage_object: link,
      })
      const lines = [`Created LUN ${index}.`]
      if ((params.add_mapped_luns ?? String(prefs.auto_add_mapped_luns)) === 'true')
        for (const acl of at.tpg!.node_acls) {
          acl.mapped_luns.push({
            alias: alias(acl.node_wwn + index),
            index,
            tpg_lun: index,
            write_protect: false,
          })
          lines.push(`Created LUN ${index}->${index} mapping in node ACL ${acl.node_wwn}`)
        }
      return ok(lines.join('\n'))
    }
    if (at.kind === 'portals' && (verb === 'create' || verb === 'delete')) {
      const ip = params.ip_address ?? '0.0.0.0'
      const port = Number(params.ip_port ?? 3260)
      const address = ip.includes('.') ? ip : `[${ip}]`
      const portals = at.tpg!.portals
      const found = portals.find((p) => p.ip_address === address && p.port === port)
      if (verb === 'create') {
        if (found) return fail(`This NetworkPortal already exists in configFS`)
        portals.push({ ip_address: address, iser: false, offload: false, port })
        return ok(`Created network portal ${address}:${port}.`)
      }
      if (!found) return fail(`No such NetworkPortal in configfs`)
      at.tpg!.portals = portals.filter((p) => p !== found)
      return ok(`Deleted network portal ${address}:${port}`)
    }
    if (at.kind === 'acls' && (verb === 'create' || verb === 'delete')) {
      const wwn = (params.wwn ?? '').toLowerCase()
      const acls = at.tpg!.node_acls
      const found = acls.find((a) => a.node_wwn === wwn)
      if (verb === 'delete') {
        if (!found) return fail(`No such NodeACL in configfs`)
        at.tpg!.node_acls = acls.filter((a) => a !== found)
        return ok(`Deleted Node ACL ${wwn}.`)
      }
      if (!RTSLIB_IQN.test(wwn)) return fail(`WWN not valid as: iqn, naa, eui`)
      if (found) return fail('This NodeACL already exists in configFS')
      const mapped =
        (params.add_mapped_luns ?? String(prefs.auto_add_mapped_luns)) === 'true'
          ? at.tpg!.luns.map((l) => ({
              alias: alias(wwn + l.index),
              index: l.index,
              tpg_lun: l.index,
              write_protect: false,
            }))
          : []
      acls.push({ attributes: aclAttributes(), mapped_luns: mapped, node_wwn: wwn })
      return ok(
        [
          `Created Node ACL for ${wwn}`,
          ...mapped.map((m) => `Created mapped LUN ${m.index}.`),
        ].join('\n'),
      )
    }
    return fail(`Command not found ${verb}`)
  }

  function targetcli(argv: readonly string[], stdin: string): CommandResult {
    if (argv.length === 1) {
      // Interactive mode fed from stdin: errors are logged, the session goes on; at EOF or
      // `exit` the configuration is saved (auto_save_on_exit).
      const out: string[] = []
      const err: string[] = []
      for (const line of stdin.split('\n')) {
        if (line.trim() === 'exit') break
        if (line.trim() === '') continue
        const r = command(line)
        out.push(`/> ${line}`, r.stdout.trimEnd())
        if (r.stderr) err.push(r.stderr.trimEnd())
      }
      saved = dumpJson(config)
      return {
        code: 0,
        stdout: `${out.join('\n')}\n`,
        stderr: err.length ? `${err.join('\n')}\n` : '',
      }
    }
    if (argv[1] === 'version' || argv[1] === '--version')
      return { code: 0, stdout: '', stderr: `/usr/bin/targetcli version ${VERSION}\n` }
    return command(argv.slice(1).join(' '))
  }

  function stat(paths: readonly string[]): CommandResult {
    const out: string[] = []
    const err: string[] = []
    for (const p of paths) {
      if (dirs.has(p)) out.push(`41ed\t4096\t${p}`)
      else if (files.has(p)) out.push(`81a4\t${files.get(p)}\t${p}`)
      else if (p === savePath && saved !== null) out.push(`8180\t${saved.length}\t${p}`)
      else err.push(`stat: cannot statx '${p}': No such file or directory`)
    }
    return {
      code: err.length ? 1 : 0,
      stdout: out.map((l) => `${l}\n`).join(''),
      stderr: err.map((l) => `${l}\n`).join(''),
    }
  }

  function exec(argv: readonly string[], stdin: string): CommandResult {
    const swallow = swallowed.findIndex((match) => match(argv))
    if (swallow >= 0) {
      swallowed.splice(swallow, 1)
      return ok()
    }
    const [program, ...args] = argv
    const operands = args.slice(args.indexOf('--') + 1)
    switch (program) {
      case 'targetcli':
        return targetcli(argv, stdin)
      case 'stat':
        return stat(operands)
      case 'truncate': {
        const size = Number(/^--size=(\d+)$/.exec(args[0] ?? '')?.[1])
        const path = operands[0]!
        if (!dirs.has(path.slice(0, path.lastIndexOf('/'))))
          return fail(`truncate: cannot open '${path}'`)
        files.set(path, size)
        return ok()
      }
      case 'rm':
        for (const p of operands) files.delete(p)
        return ok()
      case 'cat': {
        const path = operands[0]
        if (path === savePath && saved !== null) return ok(saved)
        return fail(`cat: ${path}: No such file or directory`)
      }
      case 'df':
        return ok(
          'Filesystem     1024-blocks     Used Available Capacity Mounted on\n' +
            '/dev/vda        263671552 31456788 232214764      12% /\n',
        )
      default:
        return fail(`sh: 1: ${program}: not found`, 127)
    }
  }

  return {
    transcript,
    files,
    running: () => config,
    swallowNext(match) {
      swallowed.push(typeof match === 'string' ? (argv) => argv.join(' ').includes(match) : match)
    },
    runner() {
      let closed = false
      return {
        target: 'ssh://root@lio-host.test:22',
        async run(argv: readonly string[], opts: CommandRunOptions = {}) {
          if (closed) throw new Error('runner closed')
          const result = exec(argv, opts.stdin ?? '')
          transcript.push({ argv: [...argv], ...(opts.stdin ? { stdin: opts.stdin } : {}), result })
          return result
        },
        async close() {
          closed = true
        },
      }
    },
    render() {
      const redact = (s: string) => s.replace(/password=\S+/g, 'password=***')
      return transcript
        .map((e) => {
          const head = `$ ${e.argv.join(' ')} → ${e.result.code}`
          return e.stdin ? `${head}\n${redact(e.stdin.trimEnd()).replace(/^/gm, '  < ')}` : head
        })
        .join('\n')
        .concat('\n')
    },
  }
}
