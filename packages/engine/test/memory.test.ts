import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

const run = promisify(execFile)
const resolver = fileURLToPath(new URL('./crash/ts-resolve.ts', import.meta.url))
const writer = fileURLToPath(new URL('./memory/sequential-writer.ts', import.meta.url))

/**
 * Memory must not grow with the data stored (issue 3). A child process with `--expose-gc`
 * writes 192 MiB sequentially; afterwards the live ArrayBuffers must be a small, bounded
 * amount (caches, one batch), not the data written.
 */
it('does not keep written data alive: memory stays bounded after 192 MiB of sequential writes', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pstorage-memory-'))
  try {
    const { stdout } = await run(process.execPath, [
      '--expose-gc',
      '--import',
      resolver,
      writer,
      dataDir,
      '192',
    ])
    const { arrayBuffers } = JSON.parse(stdout.trim()) as { arrayBuffers: number }
    expect(arrayBuffers).toBeLessThan(48 * 1024 * 1024)
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}, 120_000)
