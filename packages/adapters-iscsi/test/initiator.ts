import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const execFileP = promisify(execFile)

/** What an initiator tool answered: never throws on a non-zero exit. */
export interface ToolResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs an initiator tool (libiscsi-bin, qemu-utils) with a timeout. */
export async function tool(program: string, args: readonly string[]): Promise<ToolResult> {
  try {
    const { stdout, stderr } = await execFileP(program, args, {
      timeout: 30_000,
      maxBuffer: 64 * 1024 * 1024,
    })
    return { code: 0, stdout, stderr }
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string }
    if (err.code === 'ENOENT')
      throw new Error(`${program} is missing (Debian: apt-get install libiscsi-bin qemu-utils)`)
    return {
      code: typeof err.code === 'number' ? err.code : -1,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
    }
  }
}

/** An initiator's view of a portal: libiscsi URLs with its name and optional CHAP. */
export interface Initiator {
  readonly name: string
  readonly chap?: { readonly userid: string; readonly secret: string }
}

export function lunUrl(port: number, iqn: string, who: Initiator, lun = 1): string {
  const auth = who.chap ? `${who.chap.userid}%${who.chap.secret}@` : ''
  return `iscsi://${auth}127.0.0.1:${port}/${iqn}/${lun}`
}

/** `iscsi-ls -s`: the targets (and LUNs) the portal shows this initiator. */
export function discover(port: number, who: Initiator) {
  const auth = who.chap ? `${who.chap.userid}%${who.chap.secret}@` : ''
  return tool('iscsi-ls', ['-i', who.name, '-s', `iscsi://${auth}127.0.0.1:${port}`])
}

/** `iscsi-readcapacity16`: the LUN size in bytes, or the failed login. */
export async function capacity(port: number, iqn: string, who: Initiator) {
  const r = await tool('iscsi-readcapacity16', ['-i', who.name, lunUrl(port, iqn, who)])
  const size = /Total size:(\d+)/.exec(r.stdout)?.[1]
  return { ...r, size: size === undefined ? null : Number(size) }
}

/** qemu's `--image-opts` for the LUN through its iSCSI block driver (qemu-block-extra). */
export function imageOpts(port: number, iqn: string, who: Initiator, lun = 1) {
  const opts = [
    'driver=raw',
    'file.driver=iscsi',
    'file.transport=tcp',
    `file.portal=127.0.0.1:${port}`,
    `file.target=${iqn}`,
    `file.lun=${lun}`,
    `file.initiator-name=${who.name}`,
    ...(who.chap ? [`file.user=${who.chap.userid}`, 'file.password-secret=chap'] : []),
  ].join(',')
  const object = who.chap ? ['--object', `secret,id=chap,data=${who.chap.secret}`] : []
  return { object, opts }
}

/** Writes a local file onto the start of the LUN (`qemu-img convert -n`: no create). */
export function writeThrough(port: number, iqn: string, who: Initiator, file: string) {
  const { object, opts } = imageOpts(port, iqn, who)
  return tool('qemu-img', [
    'convert',
    '-n',
    '-f',
    'raw',
    ...object,
    file,
    '--target-image-opts',
    opts,
  ])
}

/** Reads the whole LUN into a local raw file. */
export function readThrough(port: number, iqn: string, who: Initiator, file: string) {
  const { object, opts } = imageOpts(port, iqn, who)
  return tool('qemu-img', ['convert', ...object, '--image-opts', opts, '-O', 'raw', file])
}
