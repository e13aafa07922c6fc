/**
 * The engine's side of the benchmark, run in a child node process so its peak RSS is its
 * own: one engine (`@pstorage/engine`, the built dist) with one volume per image, all images
 * written in aligned `writeBytes` writes (`writesInFlight` at a time, as a pipelining
 * uploader does), then every volume read back and checked against the image's SHA-256.
 * The clones dedupe against the golden image because they share the engine.
 *
 * `node --import ./ts-resolve.ts engine-run.ts <config json>` prints one JSON line of
 * {@link EngineFigures}.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { EngineStats } from '@pstorage/core'
import { createFlashEngine, type FlashDetails } from '@pstorage/engine'
import type { ImageFile } from './dataset.js'
import type { SystemRun } from './report.js'
import { duBytes, measure, nodeArgs } from './tools.js'

/** What the parent asks the child to do. */
export interface EngineRunConfig {
  readonly dataDir: string
  readonly policy: 'lz4' | 'dense'
  readonly images: readonly ImageFile[]
  readonly writeBytes: number
  readonly writesInFlight: number
  readonly readBytes: number
  readonly readsInFlight: number
  /**
   * `writeFrom`: each write's bytes are read from the image straight into a buffer the
   * engine lends (its shared memory, no copy); `write`: into one of the benchmark's reused
   * buffers, which `write()` copies before it returns.
   */
  readonly writeApi: 'writeFrom' | 'write'
}

/** What the child prints. */
interface EngineFigures {
  readonly ingest_seconds: number
  /** Wall seconds of each image's ingest, in order (the golden image, then the clones). */
  readonly ingest_seconds_per_image: readonly number[]
  readonly read_seconds: number
  /** CPU seconds of the process (all threads) during each phase. */
  readonly ingest_cpu_seconds: number
  readonly read_cpu_seconds: number
  readonly mismatches: readonly string[]
  readonly stats: EngineStats
  readonly flash: FlashDetails
}

/** Runs `step(i)` for i in [0, count) with at most `depth` in flight; results in order. */
async function pipeline<T>(
  count: number,
  depth: number,
  step: (i: number) => Promise<T>,
  consume: (value: T) => void,
): Promise<void> {
  const window: Promise<T>[] = []
  for (let i = 0; i < count; i++) {
    window.push(step(i))
    if (window.length >= depth) consume(await window.shift()!)
  }
  for (const pending of window) consume(await pending)
}

const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1e6
}

async function child(config: EngineRunConfig): Promise<EngineFigures> {
  const logical = config.images.reduce((n, i) => n + i.bytes, 0)
  const engine = await createFlashEngine({
    dataDir: config.dataDir,
    // Room for every byte even without reduction; the default (90% of free space) also works.
    capacityBytes: logical + (1 << 30),
  })
  try {
    for (const image of config.images)
      await engine.createVolume(image.name, image.bytes, { policy: config.policy })
    let started = process.hrtime.bigint()
    let cpu = process.cpuUsage()
    // With `write`, read buffers are reused, as a file-reading client does: the engine
    // copies a write's data before write() returns.
    const buffers: Buffer[] = []
    const perImage: number[] = []
    for (const image of config.images) {
      const imageStarted = process.hrtime.bigint()
      const file = await open(image.path, 'r')
      try {
        const count = Math.ceil(image.bytes / config.writeBytes)
        await pipeline(
          count,
          config.writesInFlight,
          async (i) => {
            const at = i * config.writeBytes
            const length = Math.min(config.writeBytes, image.bytes - at)
            const readAt = async (target: Uint8Array) => {
              const { bytesRead } = await file.read(target, 0, length, at)
              if (bytesRead !== length) throw new Error(`short read of ${image.path}`)
            }
            if (config.writeApi === 'writeFrom')
              return engine.writeFrom(image.name, at, length, readAt)
            const buffer = buffers.pop() ?? Buffer.allocUnsafe(config.writeBytes)
            await readAt(buffer.subarray(0, length))
            const written = engine.write(image.name, at, buffer.subarray(0, length))
            buffers.push(buffer)
            return written
          },
          () => {},
        )
      } finally {
        await file.close()
      }
      perImage.push(seconds(imageStarted))
    }
    const ingest = seconds(started)
    const ingestCpu = cpuSeconds(cpu)
    buffers.length = 0
    // Reads reuse their buffers too (readInto), as a streaming reader does: a new buffer
    // per 8 MiB read would be garbage the process carries until V8 collects it.
    const readAll = (image: ImageFile, consume: (bytes: Uint8Array) => void) =>
      pipeline(
        Math.ceil(image.bytes / config.readBytes),
        config.readsInFlight,
        async (i) => {
          const at = i * config.readBytes
          const buffer = buffers.pop() ?? Buffer.allocUnsafe(config.readBytes)
          const length = Math.min(config.readBytes, image.bytes - at)
          await engine.readInto(image.name, at, buffer.subarray(0, length))
          return { buffer, length }
        },
        ({ buffer, length }) => {
          consume(buffer.subarray(0, length))
          buffers.push(buffer)
        },
      )
    // The timed read-back delivers every byte (the engine verifies each chunk's SHA-256 as
    // it reads); like the restored files of restic and borg, the bytes are checked against
    // the images' SHA-256 after the timing, in a second pass.
    started = process.hrtime.bigint()
    cpu = process.cpuUsage()
    let delivered = 0
    for (const image of config.images)
      await readAll(image, (bytes) => {
        delivered += bytes.length
      })
    const read = seconds(started)
    const readCpu = cpuSeconds(cpu)
    const mismatches: string[] = []
    if (delivered !== logical) mismatches.push(`read back ${delivered} of ${logical} bytes`)
    for (const image of config.images) {
      const hash = createHash('sha256')
      await readAll(image, (bytes) => hash.update(bytes))
      if (hash.digest('hex') !== image.sha256) mismatches.push(image.name)
    }
    return {
      ingest_seconds: ingest,
      ingest_seconds_per_image: perImage,
      read_seconds: read,
      ingest_cpu_seconds: ingestCpu,
      read_cpu_seconds: readCpu,
      mismatches,
      stats: await engine.stats(),
      flash: await engine.flashDetails(),
    }
  } finally {
    await engine.close()
  }
}

/**
 * Runs the engine over the images with `policy` in a child process, in a fresh data
 * directory under `workDir` (removed afterwards). Physical bytes: `du` of the data
 * directory after close (segment files and SQLite metadata).
 *
 * @example
 * ```ts
 * const run = await runEngine(dataset.images, { policy: 'lz4', workDir: tmpdir() })
 * ```
 */
export async function runEngine(
  images: readonly ImageFile[],
  options: Omit<EngineRunConfig, 'dataDir' | 'images'> & {
    readonly workDir: string
    /** Flags for the child's node (the table: those of the server's #! line). */
    readonly nodeFlags?: readonly string[]
    /** Environment added to the child's (glibc malloc tuning, as the server's #! line sets). */
    readonly nodeEnv?: Readonly<Record<string, string>>
  },
): Promise<SystemRun> {
  const { workDir, nodeFlags = [], nodeEnv = {}, ...rest } = options
  const dataDir = mkdtempSync(join(workDir, `engine-${options.policy}-`))
  try {
    const config: EngineRunConfig = { ...rest, dataDir, images }
    const self = fileURLToPath(import.meta.url)
    const result = await measure(
      process.execPath,
      nodeArgs(self, [JSON.stringify(config)], nodeFlags),
      { env: { ...process.env, ...nodeEnv } },
    )
    const figures = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as EngineFigures
    const metadata = await duBytes(join(dataDir, 'metadata.sqlite'))
    const { stats, flash } = figures
    return {
      ingestSeconds: figures.ingest_seconds,
      readSeconds: figures.read_seconds,
      physicalBytes: await duBytes(dataDir),
      peakRssBytes: result.peakRssBytes,
      verified: figures.mismatches.length === 0,
      details: {
        mismatches: figures.mismatches,
        ingest_seconds_per_image: figures.ingest_seconds_per_image.map((s) => Number(s.toFixed(3))),
        ingest_cpu_percent: Math.round((100 * figures.ingest_cpu_seconds) / figures.ingest_seconds),
        read_cpu_percent: Math.round((100 * figures.read_cpu_seconds) / figures.read_seconds),
        child_cpu_percent: result.cpuPercent,
        metadata_bytes: metadata,
        live_record_bytes: flash.capacity.live_bytes,
        reduction: stats.reduction,
        write_amplification: flash.write_amplification,
        segments: flash.segments,
        cache: flash.cache,
        settings: { ...rest, nodeFlags, nodeEnv },
      },
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = JSON.parse(process.argv[2] ?? '{}') as EngineRunConfig
  console.log(JSON.stringify(await child(config)))
}
