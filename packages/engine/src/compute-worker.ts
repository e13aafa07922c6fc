/**
 * Entry of a compute worker thread (compute-pool.ts starts it). Run from the TypeScript
 * sources (tests, the crash-test child), Node strips the types but does not map the `.js`
 * specifiers of NodeNext imports to `.ts` files, so a resolve hook doing that is
 * registered first; the bundled dist has no such imports and skips it.
 */
import { existsSync } from 'node:fs'
import * as nodeModule from 'node:module'
import { fileURLToPath } from 'node:url'
import { parentPort } from 'node:worker_threads'

if (import.meta.url.endsWith('.ts')) {
  nodeModule.registerHooks({
    resolve(specifier, context, nextResolve) {
      const parent = context.parentURL
      if (parent?.endsWith('.ts') && specifier.startsWith('.') && specifier.endsWith('.js')) {
        const url = new URL(`${specifier.slice(0, -3)}.ts`, parent)
        if (existsSync(fileURLToPath(url))) return nextResolve(url.href, context)
      }
      return nextResolve(specifier, context)
    },
  })
}

const { runJob } = await import('./compute-jobs.js')
const port = parentPort
if (port) {
  port.on('message', (message: { id: number; job: Parameters<typeof runJob>[0] }) => {
    try {
      const { result, transfer } = runJob(message.job)
      port.postMessage({ id: message.id, result }, transfer)
    } catch (error) {
      port.postMessage({
        id: message.id,
        error: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error),
      })
    }
  })
}
