import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isPStorageError } from '@pstorage/core'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createFlashEngine } from '../src/index.js'
import { WalFile } from '../src/metadata-db.js'
import { tempDir, testOptions } from './helpers.js'

/**
 * A write batch commits with `synchronous=NORMAL` and then fsyncs SQLite's write-ahead log
 * off the main thread (`WalFile.sync`): the write must not be acknowledged before that
 * fsync, and fails if it fails. A power loss cannot be staged here, so these tests hold the
 * fsync back or fail it and watch the acknowledgement.
 */
describe('write acknowledgement waits for the log fsync', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('resolves a write only once the log is synced', async () => {
    const dir = tempDir()
    const engine = await createFlashEngine(testOptions(dir.path))
    try {
      await engine.createVolume('v', 1 << 20)
      const sync = WalFile.prototype.sync
      let release: () => void = () => undefined
      let held = 0
      vi.spyOn(WalFile.prototype, 'sync').mockImplementation(async function (this: WalFile) {
        held++
        await new Promise<void>((resolve) => {
          release = resolve
        })
        return sync.call(this)
      })
      let acknowledged = false
      const write = engine.write('v', 0, pseudoRandomBytes(8192, 1)).then((result) => {
        acknowledged = true
        return result
      })
      await vi.waitFor(() => expect(held).toBe(1))
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(acknowledged).toBe(false)
      release()
      expect((await write).size).toBe(8192)
      expect(acknowledged).toBe(true)
    } finally {
      await engine.close()
      dir.remove()
    }
  })

  it('fails the write when the log cannot be synced', async () => {
    const dir = tempDir()
    const engine = await createFlashEngine(testOptions(dir.path))
    try {
      await engine.createVolume('v', 1 << 20)
      vi.spyOn(WalFile.prototype, 'sync').mockRejectedValueOnce(new Error('EIO'))
      const error = await engine.write('v', 0, pseudoRandomBytes(8192, 2)).catch((e: unknown) => e)
      expect(isPStorageError(error) && error.code).toBe('service_unavailable')
      // The next write syncs again and is acknowledged.
      expect((await engine.write('v', 8192, pseudoRandomBytes(4096, 3))).size).toBe(4096)
      expect(await engine.fsck()).toEqual([])
    } finally {
      await engine.close()
      dir.remove()
    }
  })
})

describe('WalFile', () => {
  it('syncs the file at its path, never a stale handle of a replaced or removed one', async () => {
    const dir = tempDir()
    try {
      const path = join(dir.path, 'metadata.sqlite-wal')
      writeFileSync(path, 'first')
      const wal = new WalFile(path)
      await wal.sync()
      writeFileSync(join(dir.path, 'next'), 'second')
      renameSync(join(dir.path, 'next'), path)
      await wal.sync() // another inode at the path: that one is opened and synced
      await wal.sync()
      // Gone: the open handle still works, but it is not the log any more.
      rmSync(path)
      await expect(wal.sync()).rejects.toThrow()
      writeFileSync(path, 'third')
      await wal.sync()
      await wal.close()
      await expect(new WalFile(join(dir.path, 'missing')).sync()).rejects.toThrow()
    } finally {
      dir.remove()
    }
  })
})
