/**
 * The in-process baseline: the CPU work of the engine's design and nothing else. Every
 * 4 KiB block of every image is fingerprinted with SHA-256 (node:crypto, one hash per block,
 * as the engine does); a block whose fingerprint was seen is a duplicate; a new block is
 * compressed with LZ4 (`lz4-wasm-nodejs`) and counts its compressed size, or 4 KiB when
 * LZ4 does not shrink it. Nothing is persisted, nothing is read back. One thread, images
 * read with synchronous 4 MiB reads from the page cache.
 *
 * Run as a child process (`node --import ./ts-resolve.ts baseline.ts <paths json>`) so its
 * peak RSS is its own.
 */
import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { compress } from 'lz4-wasm-nodejs'
import type { ImageFile } from './dataset.js'
import type { SystemRun } from './report.js'
import { measure, nodeArgs } from './tools.js'

const BLOCK = 4096
const READ = 4 << 20

/** What the child prints (one JSON line). */
interface BaselineFigures {
  readonly seconds: number
  readonly logical_bytes: number
  readonly stored_bytes: number
  readonly blocks: number
  readonly unique_blocks: number
}

/** Fingerprints, dedupes and compresses every block of `paths`; returns the figures. */
function ingest(paths: readonly string[]): BaselineFigures {
  const seen = new Set<string>()
  const buffer = Buffer.allocUnsafe(READ)
  let logical = 0
  let stored = 0
  let blocks = 0
  const started = process.hrtime.bigint()
  for (const path of paths) {
    const fd = openSync(path, 'r')
    try {
      for (let position = 0; ; ) {
        const n = readSync(fd, buffer, 0, READ, position)
        if (n === 0) break
        position += n
        logical += n
        for (let at = 0; at < n; at += BLOCK) {
          const block = buffer.subarray(at, Math.min(at + BLOCK, n))
          blocks++
          const key = createHash('sha256').update(block).digest('binary')
          if (seen.has(key)) continue
          seen.add(key)
          stored += Math.min(compress(block).length, block.length)
        }
      }
    } finally {
      closeSync(fd)
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return { seconds, logical_bytes: logical, stored_bytes: stored, blocks, unique_blocks: seen.size }
}

/**
 * Runs the baseline over the images in a child node process.
 *
 * @example
 * ```ts
 * const run = await runBaseline(dataset.images)
 * ```
 */
export async function runBaseline(images: readonly ImageFile[]): Promise<SystemRun> {
  const self = fileURLToPath(import.meta.url)
  const paths = JSON.stringify(images.map((i) => i.path))
  const result = await measure(process.execPath, nodeArgs(self, [paths]))
  const figures = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as BaselineFigures
  return {
    ingestSeconds: figures.seconds,
    readSeconds: null,
    physicalBytes: figures.stored_bytes,
    peakRssBytes: result.peakRssBytes,
    verified: null,
    details: { ...figures, cpu_percent: result.cpuPercent },
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const paths = JSON.parse(process.argv[2] ?? '[]') as string[]
  console.log(JSON.stringify(ingest(paths)))
}
