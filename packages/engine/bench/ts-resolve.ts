/**
 * Lets plain Node run the benchmark's TypeScript files (type stripping): maps the `.js`
 * specifiers of NodeNext imports to the `.ts` files beside them, like
 * `test/crash/ts-resolve.ts`. `engine.ts` loads it first; child processes get it with
 * `--import` (see `nodeArgs` in tools.ts).
 *
 * @example
 * ```sh
 * node --import ./packages/engine/bench/ts-resolve.ts packages/engine/bench/engine-run.ts '{...}'
 * ```
 */
import { existsSync } from 'node:fs'
import { registerHooks } from 'node:module'
import { fileURLToPath } from 'node:url'

registerHooks({
  resolve(specifier, context, nextResolve) {
    const parent = context.parentURL
    if (parent?.endsWith('.ts') && specifier.startsWith('.') && specifier.endsWith('.js')) {
      const url = new URL(`${specifier.slice(0, -3)}.ts`, parent)
      if (existsSync(fileURLToPath(url))) return nextResolve(url.href, context)
    }
    return nextResolve(specifier, context)
  },
})
