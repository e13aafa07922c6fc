/**
 * `pnpm bench:api`: writes and reads one disk-like image through (a) the JSON base64
 * routes in 1 MiB calls, (b) the binary route, (c) the engine called in-process, all in
 * one run on the same machine, and prints MB/s side by side with the HTTP paths as a ratio
 * of the in-process engine. Every read-back is verified by SHA-256.
 *
 *   pnpm bench:api [--size-mib 1024] [--runs 3] [--json]
 *
 * Each mode gets its own data directory: an engine that already holds the image would
 * dedupe it, which would flatter whichever mode ran second. Figures are medians of rounds
 * (each round runs every mode once; ratios are taken within a round).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createCipheriv, createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { PStorageClient } from '@pstorage/client'
import { createFlashEngine } from '@pstorage/engine'
import { BIN, binNodeEnv, binNodeFlags } from './bin.ts'

const MiB = 1024 * 1024
const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
})
const SIZE = Number(values['size-mib']) * MiB
const RUNS = Number(values.runs)
if (!(SIZE >= 16 * MiB) || SIZE % MiB !== 0 || !(RUNS >= 1))
  throw new Error('--size-mib >= 16 and --runs >= 1')

/** Deterministic noise for MiB `i` (AES-CTR keystream, counter = i): unique per chunk, fast. */
function noise(i: number): Buffer {
  const iv = Buffer.alloc(16)
  iv.writeUInt32BE(i, 8)
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, 1), iv).update(Buffer.alloc(MiB))
}
const TEXT = Buffer.from(
  Array.from(
    { length: 40_000 },
    (_, i) => `${i} INFO service=api path=/v1/items/${i % 977} status=200\n`,
  ).join(''),
).subarray(0, MiB)

/**
 * MiB `i` of the image, shaped like a used disk: five in eight unique incompressible MiB,
 * then zeros, logs, and one MiB repeated from earlier in the image (eight in eight: a
 * filler pattern takes the last slot).
 */
function chunk(i: number): Buffer {
  switch (i % 8) {
    case 3:
      return Buffer.alloc(MiB)
    case 4:
      return TEXT
    case 5:
      return noise(i - 5) // a copy of an earlier MiB: dedupe has something to find
    case 6:
      return Buffer.alloc(MiB, 0xe5)
    default:
      return noise(i)
  }
}
const chunks = SIZE / MiB
const expected = (() => {
  const hash = createHash('sha256')
  for (let i = 0; i < chunks; i++) hash.update(chunk(i))
  return hash.digest('hex')
})()

interface Figures {
  write: number
  read: number
  rssMiB: number
}

const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9
const mbps = (bytes: number, s: number) => bytes / MiB / s

/** Peak resident memory of a process, from /proc (Linux). */
function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024
}

/** Starts `pstorage-server` on a free port with its own data directory and a known admin. */
async function startServer(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [...binNodeFlags(), BIN, '--port', '0', '--data-dir', dataDir, '--no-rate-limit'],
    {
      env: {
        ...process.env,
        ...binNodeEnv(),
        PSTORAGE_ADMIN_PASSWORD: 'bench-password',
        PSTORAGE_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (data) => {
      out += data
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match?.[1]) resolve(match[1])
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
  })
  return { url, child }
}

async function viaHttp(mode: 'json' | 'binary', inFlight = 1): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), `pstorage-bench-${mode}-`))
  const { url, child } = await startServer(dataDir)
  try {
    const client = new PStorageClient({ baseUrl: url, retries: 0 })
    await client.login({ username: 'admin', password: 'bench-password' })
    const volume = await client.createVolume({ name: 'image', size_gb: SIZE / 1024 ** 3 })

    let started = process.hrtime.bigint()
    if (mode === 'json') {
      // `inFlight` calls at a time, as an uploader pipelines; the engine commits them as a group.
      let next = 0
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          for (let i = next++; i < chunks; i = next++) {
            await client.writeVolume(volume.id, {
              offset: i * MiB,
              data: chunk(i).toString('base64'),
            })
          }
        }),
      )
    } else {
      let next = 0
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (next === chunks) controller.close()
          else controller.enqueue(chunk(next++))
        },
      })
      await client.uploadVolumeData(volume.id, body, { length: SIZE })
    }
    const write = mbps(SIZE, seconds(started))

    const hash = createHash('sha256')
    started = process.hrtime.bigint()
    if (mode === 'json') {
      // Reads in flight too, hashed in order.
      const pending: Promise<Buffer>[] = []
      const fetchChunk = (i: number) =>
        client
          .readVolume(volume.id, { offset: i * MiB, length: MiB })
          .then((r) => Buffer.from(r.data, 'base64'))
      for (let i = 0; i < Math.min(inFlight, chunks); i++) pending.push(fetchChunk(i))
      for (let i = 0; i < chunks; i++) {
        hash.update(await pending[i]!)
        if (i + inFlight < chunks) pending.push(fetchChunk(i + inFlight))
      }
    } else {
      for await (const piece of await client.downloadVolumeData(volume.id)) hash.update(piece)
    }
    const read = mbps(SIZE, seconds(started))
    if (hash.digest('hex') !== expected) throw new Error(`${mode}: the image read back differs`)
    return { write, read, rssMiB: peakRssMiB(child.pid!) }
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
    rmSync(dataDir, { recursive: true, force: true })
  }
}

async function inProcess(): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pstorage-bench-engine-'))
  const engine = await createFlashEngine({ dataDir })
  try {
    await engine.createVolume('image', SIZE)
    // The server hands the engine 4 MiB batches; so does this baseline.
    let started = process.hrtime.bigint()
    for (let i = 0; i < chunks; i += 4) {
      await engine.write(
        'image',
        i * MiB,
        Buffer.concat([chunk(i), chunk(i + 1), chunk(i + 2), chunk(i + 3)]),
      )
    }
    const write = mbps(SIZE, seconds(started))
    const hash = createHash('sha256')
    started = process.hrtime.bigint()
    for (let at = 0; at < SIZE; at += MiB) hash.update(await engine.read('image', at, MiB))
    const read = mbps(SIZE, seconds(started))
    if (hash.digest('hex') !== expected) throw new Error('engine: the image read back differs')
    return { write, read, rssMiB: peakRssMiB(process.pid) }
  } finally {
    await engine.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const modes = {
  'engine (in-process)': inProcess,
  'binary route (PUT/GET /data)': () => viaHttp('binary'),
  'JSON routes (1 MiB calls, 4 in flight)': () => viaHttp('json', 4),
  'JSON routes (1 MiB calls, one at a time)': () => viaHttp('json', 1),
} as const
// Rounds, not runs per mode: each round runs every mode once, and each ratio is taken
// within its round, so a machine that slows down or speeds up between rounds (a shared,
// noisy one) moves both sides of a ratio alike. Reported: medians over the rounds.
const rounds: Record<string, Figures>[] = []
for (let r = 0; r < RUNS; r++) {
  const round: Record<string, Figures> = {}
  for (const [name, run] of Object.entries(modes)) round[name] = await run()
  rounds.push(round)
}
const rows = Object.keys(modes).map((name) => {
  const of = (f: (round: Record<string, Figures>) => number) => median(rounds.map(f))
  const base = (round: Record<string, Figures>) => round['engine (in-process)']!
  return {
    mode: name,
    write_mb_s: Math.round(of((round) => round[name]!.write) * 10) / 10,
    read_mb_s: Math.round(of((round) => round[name]!.read) * 10) / 10,
    write_vs_engine: Math.round(of((round) => round[name]!.write / base(round).write) * 100) / 100,
    read_vs_engine: Math.round(of((round) => round[name]!.read / base(round).read) * 100) / 100,
    // The in-process engine shares this process with the clients of the other modes: its
    // peak is only its own in the first round, before any of them ran.
    peak_rss_mib: Math.round(
      name === 'engine (in-process)'
        ? rounds[0]![name]!.rssMiB
        : Math.max(...rounds.map((round) => round[name]!.rssMiB)),
    ),
  }
})
if (values.json) {
  console.log(JSON.stringify({ size_mib: SIZE / MiB, runs: RUNS, sha256: expected, rows }, null, 2))
} else {
  console.log(
    `Image: ${SIZE / MiB} MiB, medians of ${RUNS} round(s) (ratios taken within each round), read-backs verified (sha256 ${expected.slice(0, 12)}…)\n`,
  )
  console.log('| mode | write MB/s | read MB/s | write vs engine | read vs engine | peak RSS MiB |')
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const r of rows) {
    console.log(
      `| ${r.mode} | ${r.write_mb_s} | ${r.read_mb_s} | ${r.write_vs_engine} | ${r.read_vs_engine} | ${r.peak_rss_mib} |`,
    )
  }
}
