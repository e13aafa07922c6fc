import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The built `pstorage-server` bin the benchmarks start. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

/**
 * The node flags of the bin's `#!` line (`env -S node <flags>`), so benchmarks run the
 * server exactly as it ships (`--max-semi-space-size=2 --max-old-space-size=512 --expose-gc`).
 */
export function binNodeFlags(): string[] {
  const line = readFileSync(BIN, 'utf8').split('\n', 1)[0] ?? ''
  const match = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)*)$/.exec(line)
  return match?.[1]?.trim().split(' ').filter(Boolean) ?? []
}
