/**
 * `pnpm bench:engine` (loaded by engine.ts): the engine benchmark of issue 3. Builds (once,
 * cached outside the repository) a 1 GiB ext4 image of a minimal Debian plus 4 clones that
 * differ by about 2%, then ingests the 5 images with the PStorage engine (lz4 and dense policies), restic,
 * borg and an in-process SHA-256 + LZ4 baseline, reads them back (verified by SHA-256) and
 * prints one table: ingest and read-back MB/s, physical bytes, reduction, peak RSS.
 *
 *   pnpm bench:engine [--runs 3] [--quick] [--json] [--json-file out.json]
 *                     [--only engine,dense,restic,borg,baseline]
 *                     [--write-mib 8] [--writes-in-flight 2] [--read-mib 8] [--reads-in-flight 2]
 *                     [--write-api writeFrom|write] [--engine-node-flags='<node flags>']
 *                     [--engine-env='NAME=value ...']
 *
 * Progress goes to stderr; the table (or, with --json, the JSON document) to stdout;
 * --json-file also writes the JSON document to a file. Figures are medians over runs (peak
 * RSS: the maximum); 1 MB = 10^6 bytes.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runBaseline } from './baseline.js'
import { logicalBytes, prepareDataset } from './dataset.js'
import { runEngine } from './engine-run.js'
import { runBorg, runRestic } from './peers.js'
import { checkTargets, markdown, type SystemRun, toRow } from './report.js'
import { ensureCommands, toolVersions } from './tools.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'json-file': { type: 'string' },
    only: { type: 'string', default: 'engine,dense,restic,borg,baseline' },
    'write-mib': { type: 'string', default: '8' },
    'writes-in-flight': { type: 'string', default: '2' },
    'read-mib': { type: 'string', default: '8' },
    'reads-in-flight': { type: 'string', default: '2' },
    // writeFrom: each write's bytes are read from the image into a buffer the engine lends
    // (no copy); write: into the benchmark's own buffer, which write() copies.
    'write-api': { type: 'string', default: 'writeFrom' },
    // Default: the node flags and environment `pstorage-server` runs with (serverLaunch), so
    // the engine is measured as the standalone server runs it. `--engine-node-flags=` and
    // `--engine-env=` for none.
    'engine-node-flags': { type: 'string' },
    'engine-env': { type: 'string' },
  },
})

/**
 * The environment assignments and node flags of the `#!` line of
 * packages/server-hono/src/bin.ts (`env -S [NAME=value ...] node <flags>`).
 */
function serverLaunch(): { env: string; flags: string } {
  const bin = new URL('../../server-hono/src/bin.ts', import.meta.url)
  const line = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? ''
  const match = /^#!\/usr\/bin\/env -S((?: [A-Z_]+=\S+)*) node((?: --[\w-]+(?:=\S+)?)*)$/.exec(line)
  if (!match) throw new Error(`unexpected #! line in ${bin.pathname}: ${line}`)
  return { env: (match[1] ?? '').trim(), flags: (match[2] ?? '').trim() }
}

const words = (text: string) => text.split(' ').filter(Boolean)
const RUNS = Number(values.runs)
const MiB = 1 << 20
const engineSettings = {
  writeBytes: Number(values['write-mib']) * MiB,
  writesInFlight: Number(values['writes-in-flight']),
  readBytes: Number(values['read-mib']) * MiB,
  readsInFlight: Number(values['reads-in-flight']),
  writeApi: values['write-api'] as 'writeFrom' | 'write',
  nodeFlags: words(values['engine-node-flags'] ?? serverLaunch().flags),
  nodeEnv: Object.fromEntries(
    words(values['engine-env'] ?? serverLaunch().env).map((pair) => {
      const at = pair.indexOf('=')
      if (at <= 0) throw new Error(`--engine-env: ${pair} is not NAME=value`)
      return [pair.slice(0, at), pair.slice(at + 1)]
    }),
  ),
}
if (!(Number.isInteger(RUNS) && RUNS >= 1)) throw new Error('--runs must be an integer >= 1')
if (!(engineSettings.writeBytes >= 4 * MiB) || engineSettings.writeBytes % MiB !== 0)
  throw new Error('--write-mib must be a whole number >= 4')
if (!(engineSettings.writesInFlight >= 1 && engineSettings.readsInFlight >= 1))
  throw new Error('--writes-in-flight and --reads-in-flight must be >= 1')
if (engineSettings.writeApi !== 'writeFrom' && engineSettings.writeApi !== 'write')
  throw new Error('--write-api must be writeFrom or write')

const log = (line: string) => console.error(`[bench:engine ${new Date().toISOString()}] ${line}`)

/** Row names, in table order, and how to run each system once. */
const NAMES = {
  engine: 'PStorage engine, lz4',
  dense: 'PStorage engine, dense',
  restic: 'restic backup / restore',
  borg: 'borg create / extract, lz4',
  baseline: 'baseline: SHA-256 + LZ4 per 4 KiB',
} as const
type System = keyof typeof NAMES
const selected = values.only.split(',').map((s) => s.trim()) as System[]
for (const s of selected) if (!(s in NAMES)) throw new Error(`--only: unknown system ${s}`)

await ensureCommands(
  {
    debootstrap: 'debootstrap',
    mke2fs: 'e2fsprogs',
    debugfs: 'e2fsprogs',
    dumpe2fs: 'e2fsprogs',
    restic: 'restic',
    borg: 'borgbackup',
    '/usr/bin/time': 'time',
  },
  log,
)
const dataset = await prepareDataset({ quick: values.quick, log })
const logical = logicalBytes(dataset)
log(`dataset: ${dataset.images.length} images, ${logical / 1e6} MB logical, in ${dataset.dir}`)

// Other work on the machine skews every figure: the load averages go in the report.
const loadBefore = loadavg().map((x) => Math.round(x * 100) / 100)
const work = mkdtempSync(join(tmpdir(), 'pstorage-bench-engine-'))
const once: Record<System, () => Promise<SystemRun>> = {
  baseline: () => runBaseline(dataset.images),
  engine: () => runEngine(dataset.images, { policy: 'lz4', workDir: work, ...engineSettings }),
  dense: () => runEngine(dataset.images, { policy: 'dense', workDir: work, ...engineSettings }),
  restic: () => runRestic(dataset.images, work),
  borg: () => runBorg(dataset.images, work),
}
const runs = new Map<System, SystemRun[]>()
try {
  for (let r = 1; r <= RUNS; r++) {
    for (const system of ['baseline', 'engine', 'dense', 'restic', 'borg'] as const) {
      if (!selected.includes(system)) continue
      log(`run ${r}/${RUNS}: ${NAMES[system]}`)
      const result = await once[system]()
      const read =
        result.readSeconds === null ? '' : `, read-back ${result.readSeconds.toFixed(1)} s`
      log(`  ingest ${result.ingestSeconds.toFixed(1)} s${read}, ${result.physicalBytes} bytes`)
      runs.set(system, [...(runs.get(system) ?? []), result])
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}

const order: System[] = ['engine', 'dense', 'restic', 'borg', 'baseline']
const rows = order
  .filter((s) => runs.has(s))
  .map((system) => toRow(NAMES[system], logical, runs.get(system)!))
const targets = checkTargets(rows, NAMES)
const sh = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}
const machine = {
  cpus: cpus().length,
  cpu_model: cpus()[0]?.model ?? 'unknown',
  memory_gib: Math.round(totalmem() / 2 ** 30),
  kernel: release(),
  load_average_before: loadBefore,
  load_average_after: loadavg().map((x) => Math.round(x * 100) / 100),
  disk: (() => {
    const device = sh('findmnt', ['-no', 'SOURCE', '-T', tmpdir()])
    const [size, rota] = sh('lsblk', ['-dno', 'SIZE,ROTA', device]).split(/\s+/)
    return `${device} (${size ?? '?'}, rotational flag ${rota ?? '?'})`
  })(),
}
const { images, clones, ...about } = dataset
const document = {
  date: new Date().toISOString(),
  machine,
  versions: toolVersions(),
  dataset: { ...about, logical_bytes: logical, images, clones },
  engine_settings: engineSettings,
  runs: RUNS,
  rows,
  targets,
}
if (values['json-file'])
  writeFileSync(values['json-file'], `${JSON.stringify(document, null, 2)}\n`)
if (values.json) {
  console.log(JSON.stringify(document, null, 2))
} else {
  const v = toolVersions()
  console.log(
    `Dataset: ${images.length} ext4 images (${dataset.suite}, ${dataset.packages} packages, ${Math.round(dataset.tree_bytes / 1e6)} MB of files), ${logical / 1e6} MB logical; medians of ${RUNS} run(s)`,
  )
  console.log(
    `Machine: ${machine.cpus} x ${machine.cpu_model}, ${machine.memory_gib} GiB, Linux ${machine.kernel}, disk ${machine.disk}`,
  )
  console.log(
    `Load average (1, 5, 15 min) before: ${machine.load_average_before.join(', ')}; after: ${machine.load_average_after.join(', ')}`,
  )
  console.log(`Tools: node ${v.node}, ${v.restic}, ${v.borg}\n`)
  console.log(markdown(rows, targets))
}
