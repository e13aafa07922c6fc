import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFlashEngine, type FlashEngine, type FlashEngineOptions } from '../src/index.js'

/**
 * A temporary data directory; `remove()` deletes it.
 *
 * @example
 * ```ts
 * const dir = tempDir()
 * try { use(dir.path) } finally { dir.remove() }
 * ```
 */
export function tempDir(prefix = 'pstorage-engine-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/**
 * Small, fast defaults for tests: 64 KiB segments, 16 MiB medium, no background work.
 *
 * @example
 * ```ts
 * await createFlashEngine(testOptions(dir.path, { capacityBytes: 1 << 20 }))
 * ```
 */
export function testOptions(
  dataDir: string,
  overrides: Partial<FlashEngineOptions> = {},
): FlashEngineOptions {
  return {
    dataDir,
    segmentSize: 64 * 1024,
    capacityBytes: 16 * 1024 * 1024,
    backgroundMaintenance: false,
    ...overrides,
  }
}

/**
 * Opens an engine on a fresh temp dir.
 *
 * @example
 * ```ts
 * const { engine, remove } = await freshEngine({ capacityBytes: 2 << 20 })
 * ```
 */
export async function freshEngine(
  overrides: Partial<FlashEngineOptions> = {},
): Promise<{ engine: FlashEngine; dir: string; remove: () => void }> {
  const dir = tempDir()
  const engine = await createFlashEngine(testOptions(dir.path, overrides))
  return { engine, dir: dir.path, remove: dir.remove }
}
