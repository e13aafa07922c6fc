import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createLocalDriver } from '../backends/local-driver.js'
import type { BackendDriver } from '../ports/backend-driver.js'
import { runBackendDriverSuite } from './backend-driver-suite.js'

// The suite's read-only mode, proven on a read-only view of the local driver: the shape an
// HTTP index driver will have (no write/mkdir/delete/move/stats, fixtures through `seed`).
const roots = new Map<BackendDriver, string>()

runBackendDriverSuite({
  name: 'read-only view (suite self-test)',
  capabilities: { write: false, move: false, stats: false },
  async create() {
    const root = await mkdtemp(join(tmpdir(), 'pstorage-ro-'))
    const local = createLocalDriver({ root })
    const view: BackendDriver = {
      name: 'readonly',
      capabilities: Object.freeze({ write: false, rangeRead: true, move: false, stats: false }),
      test: () => local.test(),
      list: (path, options) => local.list(path, options),
      stat: (path) => local.stat(path),
      read: (path, options) => local.read(path, options),
      close: () => local.close(),
    }
    roots.set(view, root)
    return view
  },
  async seed(driver, entries) {
    const root = roots.get(driver)!
    for (const e of entries) {
      const abs = join(root, ...e.path.split('/').filter(Boolean))
      if (e.data === undefined) await mkdir(abs, { recursive: true })
      else {
        await mkdir(dirname(abs), { recursive: true })
        await writeFile(abs, e.data)
      }
    }
  },
  skip: [
    {
      reason: 'the writable local run streams 32 MiB already; this run proves the seed path',
      tests: ['streams a 32 MiB file intact (SHA-256)'],
    },
  ],
  async destroy(driver) {
    await rm(roots.get(driver)!, { recursive: true, force: true })
    roots.delete(driver)
  },
})
