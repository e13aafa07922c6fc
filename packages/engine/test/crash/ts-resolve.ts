/**
 * Lets plain Node run this package's TypeScript sources (type stripping, Node >= 22.18):
 * maps the `.js` specifiers of NodeNext imports to the `.ts` files beside them. Used by
 * the crash-test child process, which must run outside vitest to be killable.
 *
 * @example
 * ```sh
 * node --import ./test/crash/ts-resolve.ts test/crash/crash-writer.ts <dataDir> <seed>
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
