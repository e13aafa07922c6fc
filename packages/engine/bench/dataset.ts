/**
 * The dataset of the engine benchmark, built reproducibly and cached outside the repository
 * (`$PSTORAGE_BENCH_CACHE`, default `~/.cache/pstorage-bench/<version>-<suite>`):
 *
 * 1. `rootfs/`: a minimal Debian (`debootstrap --variant=minbase`, from the suite and mirror
 *    this machine's apt uses) plus the packages of a bootable server (kernel, systemd, SSH,
 *    Python, Perl, Git, ...), prepared like a golden image: package caches and lists
 *    removed, machine identity cleared, logs emptied, every timestamp set to one epoch;
 * 2. `full/golden.raw`: `mke2fs -t ext4 -d rootfs` of 1 GiB, fixed UUID and hash seed,
 *    inode times set to one epoch (two debootstraps of the same mirror state give the same
 *    image bytes; checked on this machine);
 * 3. `full/clone-1..4.raw`: copies changed by about 2% each (see clones.ts).
 *
 * `--quick` builds `quick/` the same way from a 128 MiB image of a part of the tree.
 * Whatever exists is reused; a reused image is verified against its manifest's SHA-256.
 */
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { type CloneSummary, EPOCH, makeClone } from './clones.js'
import { aptSource } from './mirror.js'
import { duBytes, run, sha256File } from './tools.js'

/** Bump when the recipe changes: a new version is a new cache directory. */
export const DATASET_VERSION = 'v1'

/** Packages added to minbase: what a golden image of a small server holds. */
const INCLUDE = [
  'linux-image-amd64',
  'systemd',
  'systemd-sysv',
  'openssh-server',
  'python3',
  'perl',
  'locales',
  'ca-certificates',
  'curl',
  'iproute2',
  'vim',
  'git',
]
/** Parts of the tree the `--quick` image holds. */
const QUICK_PARTS = ['etc', 'usr/bin', 'usr/sbin', 'usr/lib/python3.11']
const UUID = '5f0e1d2c-3b4a-4958-8677-a1b2c3d4e5f6'
const CLONES = 4
const CHANGE_FRACTION = 0.02

/** One image file of the dataset. */
export interface ImageFile {
  readonly name: string
  readonly path: string
  readonly bytes: number
  readonly sha256: string
}

/** The dataset as the benchmark uses it (also the content of `manifest.json`). */
export interface Dataset {
  readonly version: string
  readonly dir: string
  readonly quick: boolean
  readonly suite: string
  readonly mirror: string
  readonly packages: number
  /** Bytes of the files in the tree the golden image was made from (`du`). */
  readonly tree_bytes: number
  readonly clones: readonly CloneSummary[]
  readonly images: readonly ImageFile[]
}

/** Logical bytes of a dataset: the sum of its image sizes. */
export const logicalBytes = (dataset: Dataset) => dataset.images.reduce((n, i) => n + i.bytes, 0)

/** Runs debootstrap into `<base>/rootfs` (once) and prepares it as a golden image. */
async function buildRootfs(base: string, suite: string, mirror: string, log: Log) {
  const rootfs = join(base, 'rootfs')
  if (existsSync(rootfs)) return rootfs
  const partial = join(base, 'rootfs.partial')
  rmSync(partial, { recursive: true, force: true })
  log(`debootstrap ${suite} from ${mirror} (a few minutes, once)`)
  const env = {
    ...process.env,
    SOURCE_DATE_EPOCH: String(EPOCH),
    DEBIAN_FRONTEND: 'noninteractive',
  }
  const args = ['--variant=minbase', `--include=${INCLUDE.join(',')}`, suite, partial, mirror]
  await run('debootstrap', args, { env })
  // Golden-image preparation: no caches, no identity, no logs, one timestamp.
  const wipe = ['var/cache/apt/archives', 'var/lib/apt/lists', 'etc/ssh/ssh_host_', 'debootstrap']
  for (const prefix of wipe) await run('sh', ['-c', `rm -rf ${join(partial, prefix)}*`])
  await run('sh', [
    '-c',
    `cd ${partial} && rm -f var/lib/dbus/machine-id var/cache/ldconfig/aux-cache \
       var/lib/dpkg/*-old var/cache/debconf/*-old var/cache/apt/*.bin &&
     : > etc/machine-id && echo golden > etc/hostname &&
     find var/log -type f -exec truncate -s 0 {} + &&
     sed -i -E 's/^([^:]*:[^:]*:)[0-9]+:/\\1${Math.floor(EPOCH / 86400)}:/' etc/shadow`,
  ])
  await run('find', [partial, '-exec', 'touch', '-h', '-d', `@${EPOCH}`, '{}', '+'])
  const packages = await run('chroot', [partial, 'dpkg-query', '-W'])
  writeFileSync(join(base, 'packages.txt'), packages.stdout)
  renameSync(partial, rootfs)
  return rootfs
}

/**
 * The tree of the `--quick` image: a copy of a part of the rootfs (not hard links: clones
 * rewrite only singly linked files).
 */
async function quickTree(base: string, rootfs: string): Promise<string> {
  const tree = join(base, 'quick-tree')
  if (existsSync(tree)) return tree
  const partial = `${tree}.partial`
  rmSync(partial, { recursive: true, force: true })
  for (const part of QUICK_PARTS) {
    mkdirSync(join(partial, part, '..'), { recursive: true })
    await run('cp', ['-a', join(rootfs, part), join(partial, part)])
  }
  await run('find', [partial, '-exec', 'touch', '-h', '-d', `@${EPOCH}`, '{}', '+'])
  renameSync(partial, tree)
  return tree
}

type Log = (line: string) => void

/**
 * `mke2fs -d` copies each file's ctime and atime from the build host (ctime cannot be set
 * there): set them to {@link EPOCH} in every used inode, with `debugfs -w`, so two builds
 * of the same tree give the same bytes.
 */
async function normalizeTimes(image: string, workDir: string): Promise<void> {
  const { stdout } = await run('dumpe2fs', [image])
  const perGroup = Number(/Inodes per group:\s+(\d+)/.exec(stdout)?.[1])
  const script = ['set_current_time 20261122000000']
  let group = -1
  for (const line of stdout.split('\n')) {
    const header = /^Group (\d+):/.exec(line)
    if (header) group = Number(header[1])
    const free = /^\s+Free inodes:\s*(.*)$/.exec(line)
    if (!free || group < 0) continue
    const ranges = (free[1] ?? '')
      .split(',')
      .filter((part) => part.trim() !== '')
      .map((part) => part.split('-').map(Number))
    for (let ino = group * perGroup + 1; ino <= (group + 1) * perGroup; ino++) {
      if (ranges.some(([a = 0, b = a]) => ino >= a && ino <= b)) continue
      script.push(`sif <${ino}> ctime @${EPOCH}`, `sif <${ino}> atime @${EPOCH}`)
    }
  }
  const commands = join(workDir, 'normalize-times')
  writeFileSync(commands, `${script.join('\n')}\n`)
  await run('debugfs', ['-w', '-f', commands, image])
  rmSync(commands)
}

/** Reads a manifest and checks its images, or returns undefined to rebuild. */
async function reuse(dir: string, log: Log): Promise<Dataset | undefined> {
  const file = join(dir, 'manifest.json')
  if (!existsSync(file)) return undefined
  const dataset = JSON.parse(readFileSync(file, 'utf8')) as Dataset
  for (const image of dataset.images) {
    const path = join(dir, `${image.name}.raw`)
    if (!existsSync(path) || statSync(path).size !== image.bytes) return undefined
    // Also warms the page cache, so every tool starts from the same state.
    if ((await sha256File(path)) !== image.sha256)
      throw new Error(`${path} does not match its manifest: delete ${dir} to rebuild`)
  }
  log(`dataset: reusing ${dir} (images verified)`)
  return {
    ...dataset,
    dir,
    images: dataset.images.map((i) => ({ ...i, path: join(dir, `${i.name}.raw`) })),
  }
}

/**
 * Returns the cached dataset, building whatever is missing.
 *
 * @example
 * ```ts
 * const dataset = await prepareDataset({ quick: false, log: console.error })
 * ```
 */
export async function prepareDataset(options: { quick: boolean; log: Log }): Promise<Dataset> {
  const { quick, log } = options
  const { suite, mirror } = aptSource()
  const root = process.env.PSTORAGE_BENCH_CACHE ?? join(homedir(), '.cache', 'pstorage-bench')
  const base = join(root, `${DATASET_VERSION}-${suite}`)
  const dir = join(base, quick ? 'quick' : 'full')
  const cached = await reuse(dir, log)
  if (cached) return cached
  mkdirSync(base, { recursive: true })
  const rootfs = await buildRootfs(base, suite, mirror, log)
  const tree = quick ? await quickTree(base, rootfs) : rootfs
  const partial = `${dir}.partial`
  rmSync(partial, { recursive: true, force: true })
  mkdirSync(partial, { recursive: true })
  const golden = join(partial, 'golden.raw')
  const size = quick ? '128M' : '1G'
  log(`mke2fs -t ext4 -d ${tree} golden.raw ${size}`)
  const env = { ...process.env, E2FSPROGS_FAKE_TIME: String(EPOCH) }
  const mke2fs = ['-q', '-F', '-t', 'ext4', '-b', '4096', '-L', 'golden', '-U', UUID]
  await run('mke2fs', [...mke2fs, '-E', `hash_seed=${UUID}`, '-d', tree, golden, size], { env })
  await normalizeTimes(golden, partial)
  const clones: CloneSummary[] = []
  for (let index = 1; index <= CLONES; index++) {
    log(`clone-${index}: debugfs -w (about ${CHANGE_FRACTION * 100}% changed)`)
    const out = join(partial, `clone-${index}.raw`)
    clones.push(
      await makeClone({ golden, out, index, tree, fraction: CHANGE_FRACTION, workDir: partial }),
    )
  }
  const images: ImageFile[] = []
  for (const name of ['golden', ...clones.map((c) => c.name)]) {
    const path = join(dir, `${name}.raw`)
    const staged = join(partial, `${name}.raw`)
    images.push({ name, path, bytes: statSync(staged).size, sha256: await sha256File(staged) })
  }
  const packages = readFileSync(join(base, 'packages.txt'), 'utf8').trim().split('\n').length
  const dataset: Dataset = {
    version: DATASET_VERSION,
    dir,
    quick,
    suite,
    mirror,
    packages,
    tree_bytes: await duBytes(tree),
    clones,
    images,
  }
  writeFileSync(join(partial, 'manifest.json'), `${JSON.stringify(dataset, null, 2)}\n`)
  rmSync(dir, { recursive: true, force: true })
  renameSync(partial, dir)
  return dataset
}
