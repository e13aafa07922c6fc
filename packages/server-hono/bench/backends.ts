/**
 * `pnpm bench:backends`: uploads and downloads one file of incompressible bytes through
 * PStorage's file API (`POST …/files/upload`, `GET …/files/download`) on an s3, an nfs
 * (userspace) and an http (download only) backend, and does the same transfer directly in
 * the same run: the AWS SDK (lib-storage `Upload`, 8 MiB parts, 4 in flight; the driver sends 2)
 * against s3rver, `nfs-cp` (libnfs; downloads with `nfs-cat`, as nfs-cp writes only files)
 * against nfs-ganesha, `curl` against nginx. Prints MB/s side by side, the PStorage/direct
 * ratio, and the server's peak RSS during its transfers, then the CPU seconds each process
 * spent on each transfer (the PStorage server, the backend's server, the client: this
 * process and the commands it runs), from /proc. Every
 * transfer is verified by SHA-256: downloads hash the bytes as they arrive (inside the
 * timing, PStorage's and the direct one alike), uploads are read back after the timing.
 *
 *   pnpm bench:backends [--size-mib 1024] [--runs 3] [--only s3,nfs,http] [--json]
 *
 * Target (the issue): PStorage at least 0.7x the direct figure, server peak RSS < 200 MB.
 * The real servers come from the adapters' test harnesses (s3rver in a child process of
 * its own, ganesha and nginx are processes anyway); ganesha needs root and rpcbind.
 * PStorage and direct alternate which goes first from run to run. Figures are medians of
 * runs; RSS is the maximum over runs.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createCipheriv, createHash, type Hash } from 'node:crypto'
import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { copyFile, link, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { startNginx } from '@pstorage/adapters-http/testing'
import { startGanesha } from '@pstorage/adapters-nfs/testing'
import { PStorageClient } from '@pstorage/client'
import { releaseBytes } from '@pstorage/core'
import { BIN, binNodeEnv, binNodeFlags } from './bin.ts'

const MiB = 1024 * 1024
const PART_SIZE = 8 * MiB // the S3 driver's default part size
const QUEUE_SIZE = 4 // lib-storage's default; the driver's UPLOAD_CONCURRENCY is 2
const BUCKET = 'bench'
const PASSWORD = 'bench-password'
const TARGET_RATIO = 0.7
const TARGET_RSS_MB = 200

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    only: { type: 'string', default: 's3,nfs,http' },
  },
})
const ONLY = new Set(values.only.split(','))
const SIZE = Number(values['size-mib']) * MiB
const RUNS = Number(values.runs)
if (!(SIZE >= 16 * MiB) || SIZE % MiB !== 0 || !(RUNS >= 1))
  throw new Error('--size-mib >= 16 and --runs >= 1')

const log = (message: string) => process.stderr.write(`[bench:backends] ${message}\n`)
const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9
const mbps = (s: number) => SIZE / MiB / s
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

// ---------------------------------------------------------------- cleanup

/** Undo steps, last first; run once on the way out, errors or not. */
const cleanups: (() => Promise<unknown>)[] = []
let cleaning: Promise<void> | undefined
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      await step().catch((error: unknown) => log(`cleanup: ${String(error)}`))
    }
  })()
  return cleaning
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`)
    cleanup().finally(() => process.exit(130))
  })
}

// ---------------------------------------------------------------- processes

/** Stops a child with SIGTERM (SIGKILL after 10 s) and waits for it; idempotent. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

/** Spawns a child, kills it if this process dies first, and registers its stop. */
function spawnChild(command: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, {
    env: env ?? process.env,
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const reap = () => child.kill('SIGKILL')
  process.once('exit', reap)
  cleanups.push(async () => {
    process.removeListener('exit', reap)
    await stopChild(child)
  })
  return child
}

/** The first match of `pattern` in a child's stdout, or an error if it exits first. */
function firstLine(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (data) => {
      out += data
      const match = pattern.exec(out)
      if (match?.[1]) resolve(match[1])
    })
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}: ${out}`)))
  })
}

/** Runs a command to completion; its stdout goes to `sink` (a hash) if given. */
async function run(command: string, args: string[], sink?: (chunk: Buffer) => void): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', sink ? 'pipe' : 'ignore', 'pipe'] })
  let err = ''
  child.stderr?.on('data', (data) => {
    err += data
  })
  if (sink) child.stdout?.on('data', sink)
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}: ${err}`)
}

// ---------------------------------------------------------------- data

/** Deterministic noise for MiB `i` (AES-CTR keystream of a fixed key, counter = i). */
function noise(i: number): Buffer {
  const iv = Buffer.alloc(16)
  iv.writeUInt32BE(i, 8)
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), iv).update(Buffer.alloc(MiB))
}

/** Writes the test file once; returns its SHA-256. */
async function writeSource(path: string): Promise<string> {
  const hash = createHash('sha256')
  const out = createWriteStream(path)
  const failed = new Promise<never>((_, reject) => out.once('error', reject))
  for (let i = 0; i < SIZE / MiB; i++) {
    const piece = noise(i)
    hash.update(piece)
    if (!out.write(piece)) await Promise.race([once(out, 'drain'), failed])
  }
  out.end()
  await Promise.race([once(out, 'finish'), failed])
  return hash.digest('hex')
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const piece of createReadStream(path, { highWaterMark: MiB })) hash.update(piece)
  return hash.digest('hex')
}

async function hashStream(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256')
  for await (const piece of stream) hashed(hash, piece)
  return hash.digest('hex')
}

/**
 * Hashes a downloaded chunk, then frees it (`releaseBytes`: each chunk of a download,
 * PStorage's or direct, is a buffer of its own). The client stays lean on both sides: left
 * to V8, the dead chunks kept this process's collector busy 10-17% of the time during
 * downloads (a profile), which is the harness's cost, not either system's.
 */
function hashed(hash: Hash, piece: Uint8Array): void {
  hash.update(piece)
  releaseBytes(piece)
}

// ---------------------------------------------------------------- the PStorage server

interface Server {
  url: string
  pid: number
}

/** Starts `pstorage-server` as the `start` command does (the flags of bin.ts's #! line). */
async function startServer(dataDir: string): Promise<Server> {
  const child = spawnChild(
    process.execPath,
    [
      ...binNodeFlags(),
      BIN,
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--no-rate-limit',
      '--allow-private-addresses',
    ],
    {
      ...process.env,
      ...binNodeEnv(),
      PSTORAGE_ADMIN_PASSWORD: PASSWORD,
      PSTORAGE_LOG_LEVEL: 'warn',
    },
  )
  const url = await firstLine(child, /listening on (http:\/\/\S+)/, 'pstorage-server')
  return { url, pid: child.pid! }
}

/**
 * CPU seconds (user + system, all threads) `pid` has used so far, from /proc/<pid>/stat;
 * with `waited`, also those of its children it has waited for (a command run to its end).
 */
async function cpuSeconds(pid: number | 'self', waited = false): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // After "pid (comm) ", field 3 (state) comes first: utime, stime, cutime and cstime are
  // fields 14 to 17.
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number)
  return (f[11]! + f[12]! + (waited ? f[13]! + f[14]! : 0)) / CLOCK_TICKS
}
/** Linux's USER_HZ, the unit of /proc/<pid>/stat times (100 on every Linux ABI Node runs on). */
const CLOCK_TICKS = 100

/** {@link cpuSeconds} of `pid` and of its live descendants (nginx's workers). */
async function treeCpuSeconds(pid: number): Promise<number> {
  let total = await cpuSeconds(pid)
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const children = await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8')
    for (const child of children.split(' ').filter(Boolean))
      total += await treeCpuSeconds(Number(child)).catch(() => 0) // it may have exited
  }
  return total
}

/** Resets the peak RSS of `pid` (Linux: clear_refs 5 resets VmHWM). */
const resetPeak = (pid: number) => writeFile(`/proc/${pid}/clear_refs`, '5')
/** `VmHWM` (peak since the last reset) or `VmRSS` (now) of `pid`, in MB (MiB). */
async function rssMB(pid: number, field: 'VmHWM' | 'VmRSS' = 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024
}

// ---------------------------------------------------------------- the AWS SDK

// The SDK is a dependency (lib-storage a dev dependency) of @pstorage/adapters-s3, not of
// this package: resolve it from there (one copy for lib-storage and client-s3), typed by
// the little this file uses.
interface S3Object {
  Body?: AsyncIterable<Uint8Array>
}
interface S3ClientLike {
  send(command: unknown): Promise<unknown>
  destroy(): void
}
interface S3Sdk {
  S3Client: new (config: {
    endpoint: string
    region: string
    forcePathStyle: boolean
    credentials: { accessKeyId: string; secretAccessKey: string }
  }) => S3ClientLike
  GetObjectCommand: new (input: { Bucket: string; Key: string }) => unknown
  DeleteObjectCommand: new (input: { Bucket: string; Key: string }) => unknown
}
interface LibStorage {
  Upload: new (options: {
    client: S3ClientLike
    params: { Bucket: string; Key: string; Body: AsyncIterable<Uint8Array> }
    partSize: number
    queueSize: number
  }) => { done(): Promise<unknown> }
}
async function loadSdk(): Promise<{ sdk: S3Sdk; storage: LibStorage }> {
  const fromS3 = createRequire(import.meta.resolve('@pstorage/adapters-s3'))
  const load = (name: string) => import(pathToFileURL(fromS3.resolve(name)).href)
  const [sdk, storage] = await Promise.all([
    load('@aws-sdk/client-s3'),
    load('@aws-sdk/lib-storage'),
  ])
  return { sdk: sdk as S3Sdk, storage: storage as LibStorage }
}

// ---------------------------------------------------------------- one backend

type Op = 'upload' | 'download'
interface Sample {
  pstorage: number
  direct: number
  rssMB: number
  /** CPU seconds of the PStorage transfer: server, backend server, benchmark client. */
  pstorageCpu: { server: number; peer: number; client: number }
  /** CPU seconds of the direct transfer: backend server, direct client. */
  directCpu: { peer: number; client: number }
}
interface Case {
  backend: 's3' | 'nfs' | 'http'
  note: string
  ops: Op[]
  /** The backend server's process (with its children), for its CPU time. */
  peerPid: number
  /** Gives PStorage's backend id. */
  setup(client: PStorageClient): Promise<string>
  /** Direct upload of the source file as `name`, verified. */
  directUpload?(name: string): Promise<void>
  /** Direct download of `name`, hashed as the bytes arrive (as PStorage's is): its SHA-256. */
  directDownload(name: string): Promise<string>
  /** The SHA-256 of `name` as the backend stores it (after a PStorage upload). */
  stored?(name: string): Promise<string>
  /** Puts the source file in place for downloads (read-only backends). */
  seed?(name: string): Promise<void>
  remove?(name: string): Promise<void>
}

async function s3Case(source: string): Promise<Case> {
  const script = fileURLToPath(new URL('./backends/s3rver.ts', import.meta.url))
  const child = spawnChild(process.execPath, [script, BUCKET])
  const s3 = JSON.parse(await firstLine(child, /^(\{.*\})$/m, 's3rver')) as {
    endpoint: string
    region: string
    accessKeyId: string
    secretAccessKey: string
  }
  const { sdk, storage } = await loadSdk()
  const direct = new sdk.S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  })
  cleanups.push(async () => direct.destroy())
  const get = async (name: string) =>
    (await direct.send(new sdk.GetObjectCommand({ Bucket: BUCKET, Key: name }))) as S3Object
  return {
    backend: 's3',
    note: `s3rver 3.7.1 in its own process; direct: @aws-sdk/lib-storage Upload (${PART_SIZE / MiB} MiB parts, ${QUEUE_SIZE} in flight) and GetObject`,
    ops: ['upload', 'download'],
    peerPid: child.pid!,
    async setup(client) {
      const backend = await client.createBackend({
        name: 'bench-s3',
        type: 's3',
        config: {
          endpoint: s3.endpoint,
          region: s3.region,
          bucket: BUCKET,
          access_key_id: s3.accessKeyId,
          secret_access_key: s3.secretAccessKey,
          force_path_style: true,
        },
      })
      return backend.id
    },
    async directUpload(name) {
      await new storage.Upload({
        client: direct,
        params: {
          Bucket: BUCKET,
          Key: name,
          Body: createReadStream(source, { highWaterMark: MiB }),
        },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
      }).done()
    },
    async directDownload(name) {
      const body = (await get(name)).Body
      if (!body) throw new Error('GetObject: no body')
      return hashStream(body)
    },
    async stored(name) {
      const body = (await get(name)).Body
      if (!body) throw new Error('GetObject: no body')
      return hashStream(body)
    },
    async remove(name) {
      await direct.send(new sdk.DeleteObjectCommand({ Bucket: BUCKET, Key: name }))
    },
  }
}

async function nfsCase(source: string): Promise<Case> {
  const g = await startGanesha()
  cleanups.push(() => g.stop())
  const url = (name: string) =>
    `nfs://127.0.0.1${g.export}/${name}?nfsport=${g.port}&mountport=${g.mountPort}&version=3`
  return {
    backend: 'nfs',
    note: 'nfs-ganesha (VFS FSAL), NFSv3/TCP on loopback; PStorage in userspace mode; direct: nfs-cp (libnfs) for uploads, nfs-cat (libnfs) piped into the same SHA-256 for downloads',
    ops: ['upload', 'download'],
    peerPid: g.pid,
    async setup(client) {
      const backend = await client.createBackend({
        name: 'bench-nfs',
        type: 'nfs',
        config: { server: '127.0.0.1', export: g.export, port: g.port, mount_port: g.mountPort },
      })
      return backend.id
    },
    async directUpload(name) {
      await run('nfs-cp', [source, url(name)])
    },
    async directDownload(name) {
      // nfs-cat (libnfs, as nfs-cp) into a pipe, hashed as the bytes arrive, as curl's and
      // PStorage's downloads are: nfs-cp writes only to a file (it refuses /dev/stdout).
      const hash = createHash('sha256')
      await run('nfs-cat', [url(name)], (piece) => hashed(hash, piece))
      return hash.digest('hex')
    },
    stored: (name) => hashFile(join(g.dir, name)),
    remove: (name) => rm(join(g.dir, name), { force: true }),
  }
}

async function httpCase(source: string): Promise<Case> {
  const nginx = await startNginx()
  cleanups.push(() => nginx.stop())
  return {
    backend: 'http',
    note: 'nginx (sendfile on) on loopback; read-only backend; direct: curl, piped into the same SHA-256',
    ops: ['download'],
    peerPid: nginx.pid,
    async setup(client) {
      const backend = await client.createBackend({
        name: 'bench-http',
        type: 'http',
        config: { url: nginx.url },
      })
      return backend.id
    },
    async seed(name) {
      await link(source, join(nginx.dir, name)).catch(() => copyFile(source, join(nginx.dir, name)))
    },
    async directDownload(name) {
      const hash = createHash('sha256')
      await run('curl', ['-sSf', `${nginx.url}${encodeURIComponent(name)}`], (piece) =>
        hashed(hash, piece),
      )
      return hash.digest('hex')
    },
  }
}

// ---------------------------------------------------------------- the run

interface Row {
  backend: string
  op: Op
  pstorage_mb_s: number
  direct_mb_s: number
  ratio: number
  server_peak_rss_mb: number
  target_met: boolean
  /** Medians of CPU seconds per transfer, by process. */
  cpu_s: {
    pstorage: { server: number; peer: number; client: number }
    direct: { peer: number; client: number }
  }
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'pstorage-bench-backends-'))
  cleanups.push(() => rm(scratch, { recursive: true, force: true }))
  const source = join(scratch, 'source.bin')
  log(`writing ${SIZE / MiB} MiB of noise to ${source}`)
  const expected = await writeSource(source)
  const check = (what: string, actual: string) => {
    if (actual !== expected) throw new Error(`${what}: SHA-256 ${actual} ≠ ${expected}`)
  }

  const dataDir = join(scratch, 'data')
  const server = await startServer(dataDir)
  log(`pstorage-server ${server.url} (pid ${server.pid})`)
  const client = new PStorageClient({ baseUrl: server.url, retries: 0 })
  await client.login({ username: 'admin', password: PASSWORD })
  // For scale: what the server holds before any transfer (the peak is measured from here up).
  const idleRssMB = Math.round(await rssMB(server.pid, 'VmRSS'))
  log(`server RSS after start and login: ${idleRssMB} MB`)

  /**
   * Times one transfer (PStorage's when `server`), with the CPU seconds each process spent
   * on it: the server, the backend's server (`peer`) and this process with the commands it
   * ran (`client`), and for PStorage the server's peak RSS.
   */
  const timed = async (peerPid: number, transfer: () => Promise<void>, viaServer: boolean) => {
    const cpu = () =>
      Promise.all([cpuSeconds(server.pid), treeCpuSeconds(peerPid), cpuSeconds('self', true)])
    if (viaServer) await resetPeak(server.pid)
    const before = await cpu()
    const started = process.hrtime.bigint()
    await transfer()
    const s = seconds(started)
    const after = await cpu()
    const [srv, peer, client] = after.map((x, i) => x - before[i]!) as [number, number, number]
    return { s, rss: viaServer ? await rssMB(server.pid) : 0, cpu: { server: srv, peer, client } }
  }
  type Timed = Awaited<ReturnType<typeof timed>>
  const cpuText = (t: Timed, viaServer: boolean) =>
    `CPU s: ${viaServer ? `server ${t.cpu.server.toFixed(1)}, ` : ''}peer ${t.cpu.peer.toFixed(1)}, client ${t.cpu.client.toFixed(1)}`

  const rows: Row[] = []
  const notes: string[] = []
  const builders = {
    s3: () => s3Case(source),
    nfs: () => nfsCase(source),
    http: () => httpCase(source),
  }
  for (const [backend, build] of Object.entries(builders)) {
    if (!ONLY.has(backend)) continue
    const c = await build()
    notes.push(`${c.backend}: ${c.note}`)
    const id = await c.setup(client)
    const test = await client.testBackend(id)
    if (!test.ok) throw new Error(`${c.backend}: backend test failed: ${JSON.stringify(test)}`)
    const samples: Record<Op, Sample[]> = { upload: [], download: [] }
    /**
     * One PStorage and one direct transfer, in the given order, each checked after its
     * timing by its `verify` (when given), and logged.
     */
    type Leg = { transfer: () => Promise<void>; verify?: () => Promise<void> }
    const pair = async (
      op: Op,
      run: number,
      pstorageFirst: boolean,
      viaPStorage: Leg,
      direct: Leg,
    ) => {
      const leg = async (l: Leg, viaServer: boolean) => {
        const t = await timed(c.peerPid, l.transfer, viaServer)
        await l.verify?.()
        return t
      }
      const both = [() => leg(viaPStorage, true), () => leg(direct, false)] as const
      const [p, d] = pstorageFirst
        ? [await both[0](), await both[1]()]
        : await both[1]().then(async (d) => [await both[0](), d] as const)
      samples[op].push({
        pstorage: mbps(p.s),
        direct: mbps(d.s),
        rssMB: p.rss,
        pstorageCpu: p.cpu,
        directCpu: { peer: d.cpu.peer, client: d.cpu.client },
      })
      log(
        `${c.backend} ${op} run ${run + 1}: PStorage ${mbps(p.s).toFixed(1)} MB/s (RSS ${p.rss.toFixed(0)} MB; ${cpuText(p, true)}), direct ${mbps(d.s).toFixed(1)} MB/s (${cpuText(d, false)})`,
      )
    }
    for (let r = 0; r < RUNS; r++) {
      const pstorageFirst = r % 2 === 0
      const name = `bench-${r}.bin`
      const directName = `bench-${r}-direct.bin`

      if (c.ops.includes('upload') && c.directUpload && c.stored) {
        const { directUpload, stored } = c
        await pair(
          'upload',
          r,
          pstorageFirst,
          {
            transfer: async () => {
              await client.uploadFiles(
                id,
                [{ name, data: createReadStream(source, { highWaterMark: MiB }) }],
                { path: '/' },
              )
            },
            verify: async () => check(`${c.backend} PStorage upload`, await stored(name)),
          },
          {
            transfer: () => directUpload(directName),
            verify: async () => check(`${c.backend} direct upload`, await stored(directName)),
          },
        )
        await c.remove?.(directName)
      } else {
        await c.seed?.(name) // read-only: the file is put in place behind the backend
      }

      let digest = ''
      await pair(
        'download',
        r,
        pstorageFirst,
        {
          // Hashed as the bytes arrive, inside the timing, as the direct download is.
          transfer: async () =>
            check(
              `${c.backend} PStorage download`,
              await hashStream(await client.downloadFile(id, `/${name}`)),
            ),
        },
        {
          transfer: async () => {
            digest = await c.directDownload(name)
          },
          verify: async () => check(`${c.backend} direct download`, digest),
        },
      )
      await c.remove?.(name)
    }
    for (const op of c.ops) {
      const s = samples[op]
      const pstorage = median(s.map((x) => x.pstorage))
      const direct = median(s.map((x) => x.direct))
      const rss = Math.max(...s.map((x) => x.rssMB))
      const ratio = pstorage / direct
      const cpu = (pick: (x: Sample) => number) => Math.round(median(s.map(pick)) * 10) / 10
      rows.push({
        backend: c.backend,
        op,
        pstorage_mb_s: Math.round(pstorage * 10) / 10,
        direct_mb_s: Math.round(direct * 10) / 10,
        ratio: Math.round(ratio * 100) / 100,
        server_peak_rss_mb: Math.round(rss),
        target_met: ratio >= TARGET_RATIO && rss < TARGET_RSS_MB,
        cpu_s: {
          pstorage: {
            server: cpu((x) => x.pstorageCpu.server),
            peer: cpu((x) => x.pstorageCpu.peer),
            client: cpu((x) => x.pstorageCpu.client),
          },
          direct: { peer: cpu((x) => x.directCpu.peer), client: cpu((x) => x.directCpu.client) },
        },
      })
    }
  }

  if (values.json) {
    console.log(
      JSON.stringify(
        {
          size_mib: SIZE / MiB,
          runs: RUNS,
          sha256: expected,
          target: { ratio: TARGET_RATIO, server_peak_rss_mb: TARGET_RSS_MB },
          server_idle_rss_mb: idleRssMB,
          notes,
          rows,
        },
        null,
        2,
      ),
    )
  } else {
    console.log(
      `File: ${SIZE / MiB} MiB of noise, medians of ${RUNS} run(s), every transfer verified (sha256 ${expected.slice(0, 12)}…)`,
    )
    console.log(
      `Target: PStorage >= ${TARGET_RATIO}x direct, server peak RSS < ${TARGET_RSS_MB} MB (server RSS before any transfer: ${idleRssMB} MB)\n`,
    )
    console.log(
      '| backend | op | PStorage MB/s | direct MB/s | ratio | server peak RSS MB | target met |',
    )
    console.log('|---|---|---:|---:|---:|---:|---|')
    for (const r of rows) {
      console.log(
        `| ${r.backend} | ${r.op} | ${r.pstorage_mb_s} | ${r.direct_mb_s} | ${r.ratio} | ${r.server_peak_rss_mb} | ${r.target_met ? 'yes' : 'no'} |`,
      )
    }
    console.log(
      '\nCPU seconds per transfer (medians): PStorage server + backend server + client, direct backend server + client\n',
    )
    console.log(
      '| backend | op | PStorage: server | peer | client | total | direct: peer | client | total |',
    )
    console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|')
    for (const r of rows) {
      const p = r.cpu_s.pstorage
      const d = r.cpu_s.direct
      const total = (...xs: number[]) =>
        (Math.round(xs.reduce((a, b) => a + b) * 10) / 10).toString()
      console.log(
        `| ${r.backend} | ${r.op} | ${p.server} | ${p.peer} | ${p.client} | ${total(p.server, p.peer, p.client)} | ${d.peer} | ${d.client} | ${total(d.peer, d.client)} |`,
      )
    }
    console.log('')
    for (const note of notes) console.log(`- ${note}`)
  }
}

try {
  await main()
} finally {
  await cleanup()
}
