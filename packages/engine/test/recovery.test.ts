import { closeSync, openSync, readFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { BLOCK_SIZE } from '@pstorage/core'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import SQLite from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { createFlashEngine } from '../src/index.js'
import { tempDir, testOptions } from './helpers.js'

interface OpenSegment {
  id: number
  write_offset: number
}

/** The open host segment, read straight from the metadata of a closed engine. */
function openSegment(dataDir: string): OpenSegment {
  const db = new SQLite(join(dataDir, 'metadata.sqlite'), { readonly: true })
  try {
    return db
      .prepare<[], OpenSegment>(
        `SELECT id, write_offset FROM segments WHERE state = 'open' AND role = 'user'`,
      )
      .get()!
  } finally {
    db.close()
  }
}

describe('recovery of a torn segment tail', () => {
  it('discards bytes appended but never committed, and keeps everything committed', async () => {
    const dir = tempDir()
    try {
      let engine = await createFlashEngine(testOptions(dir.path))
      await engine.createVolume('v', 1024 * 1024)
      const committed = pseudoRandomBytes(3 * BLOCK_SIZE, 1)
      await engine.write('v', 0, committed)
      await engine.close()
      // A crash between the segment fsync and the metadata commit looks like this: whole,
      // valid-looking bytes past the committed end of the open segment.
      const { id, write_offset } = openSegment(dir.path)
      const path = join(dir.path, 'segments', `${String(id).padStart(6, '0')}.seg`)
      const torn = pseudoRandomBytes(5000, 2)
      const fd = openSync(path, 'r+')
      writeSync(fd, torn, 0, torn.length, write_offset)
      closeSync(fd)

      engine = await createFlashEngine(testOptions(dir.path))
      expect((await engine.flashDetails()).recovery.torn_bytes_discarded).toBe(torn.length)
      expect(
        readFileSync(path)
          .subarray(write_offset)
          .every((b) => b === 0),
      ).toBe(true)
      expect(await engine.read('v', 0, committed.length)).toEqual(committed)
      expect(await engine.fsck()).toEqual([])
      // Appends continue at the committed end, over clean space.
      const next = pseudoRandomBytes(BLOCK_SIZE, 3)
      await engine.write('v', 3 * BLOCK_SIZE, next)
      await engine.close()
      engine = await createFlashEngine(testOptions(dir.path))
      expect((await engine.flashDetails()).recovery.torn_bytes_discarded).toBe(0)
      expect(await engine.read('v', 0, 4 * BLOCK_SIZE)).toEqual(
        new Uint8Array(Buffer.concat([committed, next])),
      )
      expect(await engine.fsck()).toEqual([])
      expect(await engine.scrub()).toEqual([])
      await engine.close()
    } finally {
      dir.remove()
    }
  })
})
