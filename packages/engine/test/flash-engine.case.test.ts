import { runBlockEngineSuite } from '@pstorage/core/testing'
import { createFlashEngine, type FlashEngineOptions } from '../src/index.js'
import { tempDir, testOptions } from './helpers.js'

/** The conformance suite, with compute workers (the default) and without (computeThreads 0). */
for (const [name, extra] of [
  ['flash engine', {}],
  ['flash engine, no compute workers', { computeThreads: 0 }],
] as [string, Partial<FlashEngineOptions>][]) {
  let dir: ReturnType<typeof tempDir> | undefined
  // Background maintenance on, as in production.
  const options = (path: string) => testOptions(path, { backgroundMaintenance: true, ...extra })
  runBlockEngineSuite({
    name,
    create: () => {
      dir = tempDir()
      return createFlashEngine(options(dir.path))
    },
    reopen: async (engine) => {
      await engine.close()
      if (!dir) throw new Error('no data directory')
      return createFlashEngine(options(dir.path))
    },
    destroy: () => {
      dir?.remove()
      dir = undefined
    },
  })
}
