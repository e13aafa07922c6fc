import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The built `pstorage-server` bin the benchmarks start. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

/** The `#!` line's `env -S` split: environment assignments, then node's flags. */
const LAUNCH = /^#!\/usr\/bin\/env -S((?: [A-Z_]+=\S+)*) node((?: --[\w-]+(?:=\S+)?)*)$/

function launchLine(): RegExpExecArray {
  const line = readFileSync(BIN, 'utf8').split('\n', 1)[0] ?? ''
  const match = LAUNCH.exec(line)
  if (!match) throw new Error(`${BIN}: unexpected #! line ${JSON.stringify(line)}`)
  return match
}

/**
 * The node flags of the bin's `#!` line (`env -S [NAME=value ...] node <flags>`), so
 * benchmarks run the server exactly as it ships (with {@link binNodeEnv}).
 */
export function binNodeFlags(): string[] {
  return (launchLine()[2] ?? '').trim().split(' ').filter(Boolean)
}

/** The environment the bin's `#!` line sets (glibc's malloc tuning), to add to a child's. */
export function binNodeEnv(): Record<string, string> {
  const pairs = (launchLine()[1] ?? '').trim().split(' ').filter(Boolean)
  return Object.fromEntries(
    pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  )
}
