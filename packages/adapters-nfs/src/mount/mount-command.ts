import { isIP } from 'node:net'
import { absolutePathProblem, assertNoProblems, canonicalPath, serverProblem } from '../options.js'

/** Input of {@link buildMountCommand}. */
export interface MountCommandInput {
  readonly server: string
  readonly export: string
  readonly mountPoint: string
  /** Allow-listed `-o` options ({@link MOUNT_OPTION_NAMES}). @default [] */
  readonly mountOptions?: readonly string[]
}

const int = (min: number, max: number) => (v: string) =>
  /^\d{1,10}$/.test(v) && Number(v) >= min && Number(v) <= max
const oneOf =
  (...values: string[]) =>
  (v: string) =>
    values.includes(v)

// nfs(5) options a storage backend may need, with the values each accepts. Anything else
// (and notably `exec`/`suid`/`dev`, `context=`, `fsc`, `clientaddr=`) is refused: the
// command runs as root.
const VALUED: ReadonlyMap<string, (v: string) => boolean> = new Map([
  ['vers', oneOf('3', '4', '4.0', '4.1', '4.2')],
  ['nfsvers', oneOf('3', '4', '4.0', '4.1', '4.2')],
  ['proto', oneOf('tcp', 'tcp6', 'rdma', 'rdma6')],
  ['mountproto', oneOf('tcp', 'tcp6')],
  ['port', int(0, 65535)],
  ['mountport', int(1, 65535)],
  ['timeo', int(1, 6000)], // tenths of a second
  ['retrans', int(0, 100)],
  ['retry', int(0, 10_000)], // minutes
  ['rsize', int(1024, 16 * 1024 * 1024)],
  ['wsize', int(1024, 16 * 1024 * 1024)],
  ['nconnect', int(1, 16)],
  ['actimeo', int(0, 3600)],
  ['acregmin', int(0, 3600)],
  ['acregmax', int(0, 3600)],
  ['acdirmin', int(0, 3600)],
  ['acdirmax', int(0, 3600)],
  ['sec', oneOf('sys', 'krb5', 'krb5i', 'krb5p')],
  ['local_lock', oneOf('none', 'all', 'flock', 'posix')],
  ['lookupcache', oneOf('all', 'none', 'pos', 'positive')],
])
const FLAGS: ReadonlySet<string> = new Set([
  'tcp', // the legacy spelling of proto=tcp
  'ro',
  'rw',
  'soft',
  'softerr',
  'hard',
  'nolock',
  'lock',
  'noatime',
  'nodiratime',
  'relatime',
  'sync',
  'async',
  'ac',
  'noac',
  'cto',
  'nocto',
  'noexec',
  'resvport',
  'noresvport',
  'sharecache',
  'nosharecache',
  'intr',
  'nointr',
])
// Options that contradict each other: one of a group at most.
const EXCLUSIVE: readonly (readonly string[])[] = [
  ['ro', 'rw'],
  ['soft', 'softerr', 'hard'],
  ['lock', 'nolock'],
  ['ac', 'noac'],
  ['cto', 'nocto'],
  ['sync', 'async'],
  ['resvport', 'noresvport'],
  ['sharecache', 'nosharecache'],
  ['intr', 'nointr'],
  ['noatime', 'relatime'],
  ['vers', 'nfsvers'],
  ['tcp', 'proto'],
]
/** Always added: a storage backend serves files, it never runs them as set-id or devices. */
const FORCED = ['nosuid', 'nodev'] as const

/**
 * The `-o` option names {@link buildMountCommand} accepts (flags and `name=value` options).
 *
 * @example
 * ```ts
 * MOUNT_OPTION_NAMES.includes('nconnect') // true
 * ```
 */
export const MOUNT_OPTION_NAMES: readonly string[] = Object.freeze([...FLAGS, ...VALUED.keys()])

/** Problems of one option, or `undefined`; its name goes to `names`. */
function optionProblem(option: unknown, names: string[]): string | undefined {
  if (typeof option !== 'string' || option === '') return 'mount options must be non-empty strings'
  const eq = option.indexOf('=')
  const name = eq < 0 ? option : option.slice(0, eq)
  // Never echo the raw value: it may carry controls; name the option only if it is plain.
  const label = /^[a-z_0-9]{1,32}$/.test(name) ? name : 'an option'
  if (eq < 0) {
    if (!FLAGS.has(name)) return `mount option ${label} is not allowed`
  } else {
    const check = VALUED.get(name)
    if (!check) return `mount option ${label} is not allowed`
    if (!check(option.slice(eq + 1))) return `mount option ${label} has an invalid value`
  }
  names.push(name)
  return undefined
}

/** The source argument: `server:/export`, an IPv6 address in brackets (nfs(5)). */
function sourceOf(server: string, exportPath: string): string {
  const bare = server.startsWith('[') ? server.slice(1, -1) : server
  return `${isIP(bare) === 6 ? `[${bare}]` : bare}:${canonicalPath(exportPath)}`
}

/**
 * The argv of `mount -t nfs -o <options> server:/export <mountPoint>`, validated; pure (it
 * runs nothing). Server: a host name or an IP address (so never a leading `-`); export and
 * mount point: absolute, no `.`/`..`, spaces or controls; options: an allow-list of nfs(5)
 * options with checked values, no duplicates or contradictions (`ro`+`rw`), `nosuid,nodev`
 * always added. Anything else is a `bad_request` listing every problem.
 *
 * @example
 * ```ts
 * buildMountCommand({ server: 'nas', export: '/srv/iso', mountPoint: '/mnt/iso', mountOptions: ['vers=4.1', 'hard'] })
 * // ['mount', '-t', 'nfs', '-o', 'nosuid,nodev,vers=4.1,hard', 'nas:/srv/iso', '/mnt/iso']
 * ```
 */
export function buildMountCommand(input: MountCommandInput): string[] {
  const options = input.mountOptions ?? []
  const names: string[] = []
  const problems: (string | undefined)[] = [
    serverProblem(input.server),
    absolutePathProblem('export', input.export, 1024),
    absolutePathProblem('mountPoint', input.mountPoint, 4096),
    canonicalPath(String(input.mountPoint)) === '/' ? 'mountPoint must not be /' : undefined,
  ]
  if (!Array.isArray(options)) problems.push('mountOptions must be an array of strings')
  else {
    if (options.length > 32) problems.push('at most 32 mount options')
    for (const option of options.slice(0, 32)) problems.push(optionProblem(option, names))
    for (const name of new Set(names))
      if (names.filter((n) => n === name).length > 1)
        problems.push(`mount option ${name} is given twice`)
    for (const group of EXCLUSIVE) {
      const given = group.filter((n) => names.includes(n))
      if (given.length > 1) problems.push(`mount options ${given.join(' and ')} contradict`)
    }
  }
  assertNoProblems(problems)
  return [
    'mount',
    '-t',
    'nfs',
    '-o',
    [...FORCED, ...options].join(','),
    sourceOf(input.server, input.export),
    canonicalPath(input.mountPoint),
  ]
}

/**
 * The argv of `umount <mountPoint>`, validated like {@link buildMountCommand}'s.
 *
 * @example
 * ```ts
 * buildUnmountCommand('/mnt/iso') // ['umount', '/mnt/iso']
 * ```
 */
export function buildUnmountCommand(mountPoint: string): string[] {
  assertNoProblems([
    absolutePathProblem('mountPoint', mountPoint, 4096),
    canonicalPath(String(mountPoint)) === '/' ? 'mountPoint must not be /' : undefined,
  ])
  return ['umount', canonicalPath(mountPoint)]
}
