import { runBlockEngineSuite } from '@pstorage/core/testing'
import { createFlashEngine } from '../src/index.js'
import { tempDir, testOptions } from './helpers.js'

let dir: ReturnType<typeof tempDir> | undefined

runBlockEngineSuite({
  name: 'flash engine',
  create: () => {
    dir = tempDir()
    // Background maintenance on, as in production.
    return createFlashEngine(testOptions(dir.path, { backgroundMaintenance: true }))
  },
  reopen: async (engine) => {
    await engine.close()
    if (!dir) throw new Error('no data directory')
    return createFlashEngine(testOptions(dir.path, { backgroundMaintenance: true }))
  },
  destroy: () => {
    dir?.remove()
    dir = undefined
  },
})
