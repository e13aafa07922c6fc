import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
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

/**
 * Damages the medium behind the engine's back: finds `needle` (bytes of a block stored raw)
 * in the segment files of a closed engine and XORs the byte `delta` bytes from its start.
 * Returns the path of the segment changed; throws if no segment holds the needle.
 *
 * @example
 * ```ts
 * flipSegmentByte(dir.path, data.subarray(0, 64), 10)
 * ```
 */
export function flipSegmentByte(dataDir: string, needle: Uint8Array, delta: number): string {
  const segments = join(dataDir, 'segments')
  for (const name of readdirSync(segments)) {
    const path = join(segments, name)
    const bytes = readFileSync(path)
    const at = bytes.indexOf(Buffer.from(needle))
    if (at < 0) continue
    bytes[at + delta]! ^= 0x5a
    writeFileSync(path, bytes)
    return path
  }
  throw new Error('bytes not found in any segment')
}

/**
 * Byte equality of large arrays (`toEqual` walks them element by element: seconds per MiB).
 *
 * @example
 * ```ts
 * same(await engine.read('v', 0, data.length), data)
 * ```
 */
export function same(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length)
  expect(Buffer.compare(actual, expected)).toBe(0)
}
