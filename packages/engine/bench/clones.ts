/**
 * Clones of the golden image, like machines booted from one image that then lived a little:
 * each clone is a copy of the golden image in which about 2% of the bytes changed through
 * `debugfs -w` (no mount needed): its own identity (hostname, machine-id, SSH host keys),
 * new log files (text), new application data (incompressible), and existing files rewritten
 * with small in-place patches or small insertions (which shift the rest of the file).
 * Every byte and every choice comes from a seeded AES-CTR stream: same golden image and
 * seed, same clone.
 */
import { createCipheriv, createHash } from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { run } from './tools.js'

/** Timestamp of every file the clones write (2026-11-22T00:00:00Z), for reproducibility. */
export const EPOCH = 1_795_305_600

/** A deterministic source of bytes and choices. */
export class SeededRandom {
  readonly #cipher
  constructor(seed: string) {
    const key = createHash('sha256').update(seed).digest()
    this.#cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16))
  }
  /** `n` pseudo-random bytes. */
  bytes(n: number): Buffer {
    return this.#cipher.update(Buffer.alloc(n))
  }
  /** An integer in `[0, max)`. */
  int(max: number): number {
    return this.bytes(4).readUInt32LE(0) % max
  }
}

/** A regular file of the image tree that a clone may rewrite. */
interface Candidate {
  readonly path: string
  readonly bytes: number
  readonly mode: number
}

/** Regular, singly linked files of 16 KiB-1 MiB with debugfs-safe names, in sorted order. */
export function rewriteCandidates(tree: string): Candidate[] {
  const out: Candidate[] = []
  const walk = (rel: string) => {
    for (const name of readdirSync(join(tree, rel)).sort()) {
      const path = `${rel}/${name}`
      const stat = lstatSync(join(tree, path))
      if (stat.isDirectory()) walk(path)
      else if (
        stat.isFile() &&
        stat.nlink === 1 &&
        stat.size >= 16 << 10 &&
        stat.size <= 1 << 20 &&
        /^[\w./+@-]+$/.test(path)
      )
        out.push({ path, bytes: stat.size, mode: stat.mode & 0o7777 })
    }
  }
  walk('')
  return out
}

const DAEMONS = ['systemd', 'sshd', 'cron', 'kernel', 'app-worker', 'dhclient', 'rsyslogd']
const VERBS = ['started', 'stopped', 'accepted', 'rotated', 'synced', 'renewed', 'reloaded']

/** `bytes` of syslog-like text for host `host`. */
function logText(random: SeededRandom, host: string, bytes: number): Buffer {
  const lines: string[] = []
  let size = 0
  for (let i = 0; size < bytes; i++) {
    const daemon = DAEMONS[random.int(DAEMONS.length)]
    const verb = VERBS[random.int(VERBS.length)]
    const time = `${String(i % 24).padStart(2, '0')}:${String(random.int(60)).padStart(2, '0')}`
    const line = `Nov 22 ${time}:${String(random.int(60)).padStart(2, '0')} ${host} ${daemon}[${
      100 + random.int(30_000)
    }]: ${verb} session ${random.bytes(6).toString('hex')} for uid=${random.int(2000)} in ${random.int(900)} ms\n`
    lines.push(line)
    size += line.length
  }
  return Buffer.from(lines.join('')).subarray(0, bytes)
}

/** An existing file after a small edit: scattered byte changes, or an insertion. */
function edited(random: SeededRandom, original: Buffer, insert: boolean): Buffer {
  if (insert) {
    const at = random.int(Math.max(1, original.length >> 1))
    const added = random.bytes(1 + random.int(100))
    return Buffer.concat([original.subarray(0, at), added, original.subarray(at)])
  }
  const out = Buffer.from(original)
  for (let n = Math.max(1, original.length >> 16); n > 0; n--)
    random.bytes(8).copy(out, random.int(out.length - 8))
  return out
}

/** Adds `mkdir` commands for the directories (and parents) that `tree` lacks. */
function mkdirs(script: string[], tree: string, dirs: readonly string[]): void {
  const made = new Set<string>()
  for (const dir of dirs) {
    const parts = dir.split('/').filter(Boolean)
    for (let n = 1; n <= parts.length; n++) {
      const path = `/${parts.slice(0, n).join('/')}`
      if (made.has(path) || existsSync(join(tree, path))) continue
      made.add(path)
      script.push(`mkdir ${path}`)
    }
  }
}

/** What a clone changed, for the manifest. */
export interface CloneSummary {
  readonly name: string
  readonly new_files: number
  readonly rewritten_files: number
  readonly bytes_written: number
}

/**
 * Copies `golden` to `out` and changes about `fraction` of its bytes with `debugfs -w`.
 * `tree` is the directory the golden image was made from (to pick existing files).
 *
 * @example
 * ```ts
 * await makeClone({ golden, out, index: 1, tree, fraction: 0.02, workDir })
 * ```
 */
export async function makeClone(options: {
  readonly golden: string
  readonly out: string
  readonly index: number
  readonly tree: string
  readonly fraction: number
  readonly workDir: string
}): Promise<CloneSummary> {
  const { golden, out, index, tree, workDir } = options
  const random = new SeededRandom(`pstorage-bench clone ${index}`)
  const host = `node-${String(index).padStart(2, '0')}`
  const budget = Math.round(lstatSync(golden).size * options.fraction)
  const files = join(workDir, `clone-${index}`)
  mkdirSync(files, { recursive: true })
  const script = ['set_current_time 20261122000000']
  let counter = 0
  let written = 0
  let fresh = 0
  let rewritten = 0
  const put = (path: string, content: Buffer, mode: number, replace: boolean) => {
    const native = join(files, String(counter++))
    writeFileSync(native, content)
    chmodSync(native, mode)
    utimesSync(native, EPOCH, EPOCH)
    if (replace) script.push(`rm ${path}`)
    script.push(`write ${native} ${path}`)
    written += content.length
    if (replace) rewritten++
    else fresh++
  }
  // Identity: what every booted machine makes its own.
  put('/etc/hostname', Buffer.from(`${host}\n`), 0o644, true)
  put('/etc/machine-id', Buffer.from(`${random.bytes(16).toString('hex')}\n`), 0o444, true)
  const key = `-----BEGIN OPENSSH PRIVATE KEY-----\n${random.bytes(300).toString('base64')}\n`
  mkdirs(script, tree, ['/etc/ssh'])
  put('/etc/ssh/ssh_host_ed25519_key', Buffer.from(key), 0o600, false)
  // A quarter of the budget as logs, a quarter as application data, half as edited files.
  mkdirs(script, tree, ['/var/log/app', '/var/lib/app'])
  for (let i = 0; written < budget / 4; i++)
    put(`/var/log/app/app-${i}.log`, logText(random, host, 1 << 20), 0o640, false)
  for (let i = 0; written < budget / 2; i++)
    put(`/var/lib/app/blob-${i}.bin`, random.bytes(512 << 10), 0o600, false)
  const candidates = rewriteCandidates(tree)
  const chosen = new Set<number>()
  while (written < budget && chosen.size < candidates.length) {
    const pick = random.int(candidates.length)
    if (chosen.has(pick)) continue
    chosen.add(pick)
    const file = candidates[pick]!
    const content = edited(random, readFileSync(join(tree, file.path)), random.int(2) === 1)
    put(file.path, content, file.mode, true)
  }
  copyFileSync(golden, out)
  const commands = join(files, 'commands')
  writeFileSync(commands, `${script.join('\n')}\n`)
  const { stderr } = await run('debugfs', ['-w', '-f', commands, out])
  const errors = stderr
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^debugfs \d/.test(line))
  if (errors.length > 0) throw new Error(`debugfs on ${out}:\n${errors.slice(0, 10).join('\n')}`)
  rmSync(files, { recursive: true, force: true })
  return {
    name: `clone-${index}`,
    new_files: fresh,
    rewritten_files: rewritten,
    bytes_written: written,
  }
}
