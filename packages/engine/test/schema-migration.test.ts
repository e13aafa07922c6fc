import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isPStorageError } from '@pstorage/core'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import SQLite from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import type { ChunkRow } from '../src/block-index.js'
import { expectation } from '../src/chunk-reader.js'
import { DIGEST_CONTENT, DIGEST_MEMBERS, verifyChunk } from '../src/compute.js'
import { createFlashEngine } from '../src/index.js'
import { SCHEMA_VERSION } from '../src/metadata-db.js'
import { same, tempDir, testOptions } from './helpers.js'

const KiB = 1024
const MiB = 1024 * KiB

const segmentFile = (dataDir: string, id: number) =>
  join(dataDir, 'segments', `${String(id).padStart(6, '0')}.seg`)

/**
 * Turns a closed engine's data directory into what schema 2 wrote: no `digest` column,
 * and every chunk's `sha` the SHA-256 of its decoded content (decoded here, checked
 * against the member digest it had first).
 */
function downgradeToSchema2(dataDir: string): number {
  const db = new SQLite(join(dataDir, 'metadata.sqlite'))
  try {
    const rows = db.prepare<[], ChunkRow>('SELECT * FROM chunks').all()
    const update = db.prepare('UPDATE chunks SET sha = ? WHERE id = ?')
    db.transaction(() => {
      for (const row of rows) {
        expect(row.digest).toBe(DIGEST_MEMBERS)
        const content = verifyChunk(
          expectation(row),
          readFileSync(segmentFile(dataDir, row.segment)),
          row.offset,
        )
        if (typeof content === 'string') throw new Error(`chunk ${row.id}: ${content}`)
        update.run(createHash('sha256').update(content).digest(), row.id)
      }
      db.exec('ALTER TABLE chunks DROP COLUMN digest')
      db.pragma('user_version = 2')
    })()
    return rows.length
  } finally {
    db.close()
  }
}

describe('metadata schema 2 -> 3', () => {
  it('keeps reading chunks hashed by content, and writes new ones hashed by members', async () => {
    const dir = tempDir()
    try {
      const options = testOptions(dir.path, { segmentSize: MiB, capacityBytes: 32 * MiB })
      let engine = await createFlashEngine(options)
      await engine.createVolume('v', 4 * MiB)
      const text = new TextEncoder().encode('schema migration '.repeat(40_000))
      const old = Buffer.concat([pseudoRandomBytes(MiB, 1), text.subarray(0, MiB)])
      await engine.write('v', 0, old)
      await engine.write('v', 2 * MiB, new TextEncoder().encode('Hello World!'))
      await engine.close()
      expect(downgradeToSchema2(dir.path)).toBeGreaterThan(2)

      engine = await createFlashEngine(options)
      same(await engine.read('v', 0, old.length), old)
      expect(new TextDecoder().decode(await engine.read('v', 2 * MiB, 12))).toBe('Hello World!')
      // A write after the migration: its chunks carry member digests; both kinds read back.
      const fresh = pseudoRandomBytes(256 * KiB, 2)
      await engine.write('v', 3 * MiB, fresh)
      same(await engine.read('v', 3 * MiB, fresh.length), fresh)
      expect(await engine.scrub()).toEqual([])
      expect(await engine.fsck()).toEqual([])
      await engine.close()

      const db = new SQLite(join(dir.path, 'metadata.sqlite'), { readonly: true })
      let legacy: ChunkRow
      try {
        expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
        const kinds = db
          .prepare<[], { digest: number; n: number }>(
            'SELECT digest, COUNT(*) AS n FROM chunks GROUP BY digest ORDER BY digest',
          )
          .all()
        expect(kinds.map((k) => k.digest)).toEqual([DIGEST_CONTENT, DIGEST_MEMBERS])
        legacy = db.prepare<[], ChunkRow>('SELECT * FROM chunks WHERE digest = 0 LIMIT 1').get()!
      } finally {
        db.close()
      }
      // A wrong content hash of a legacy chunk is still caught.
      const rw = new SQLite(join(dir.path, 'metadata.sqlite'))
      const bad = Buffer.from(legacy.sha)
      bad[0]! ^= 1
      rw.prepare('UPDATE chunks SET sha = ? WHERE id = ?').run(bad, legacy.id)
      rw.close()
      engine = await createFlashEngine(options)
      const error = await engine.read('v', 0, old.length).catch((e: unknown) => e)
      expect(isPStorageError(error) && error.code).toBe('data_corruption')
      expect((await engine.scrub()).length).toBeGreaterThan(0)
      await engine.close()
    } finally {
      dir.remove()
    }
  })
})
