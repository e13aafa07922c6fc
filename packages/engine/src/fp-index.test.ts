import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BlockIndex } from './block-index.js'
import { FingerprintIndex } from './fp-index.js'
import { MetaTable, openMetadataDb } from './metadata-db.js'

const fp = (i: number) => createHash('sha256').update(`block ${i}`).digest()
/** The fingerprint as the Int32Array words an analysed write holds. */
const words = (id: number) => new Int32Array(Uint8Array.from(fp(id)).buffer)

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A metadata database path in a fresh directory, removed after the test. */
function freshPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pstorage-fpindex-'))
  dirs.push(dir)
  return join(dir, 'metadata.sqlite')
}

/** The database at `path` opened, with its block index. */
function openAt(path: string) {
  const db = openMetadataDb(path, 1 << 20)
  return { db, blocks: new BlockIndex(db) }
}

describe('the staged dedupe index', () => {
  it('stages new fingerprints in memory, merges them into SQLite in batches, survives reopen', () => {
    const path = freshPath()
    let { db, blocks } = openAt(path)
    let index = new FingerprintIndex(db, blocks, new MetaTable(db), 1, 8)
    let next = 1
    const commit = (n: number) => {
      const ids = Array.from({ length: n }, () => next++)
      db.transaction(() => blocks.insert(ids.map((id) => ({ id, fp: fp(id), slot: 0, refs: 1 }))))()
      index.reserve(n, next)
      for (const id of ids) stage(id)
    }
    const stage = (id: number) => index.put(words(id), 0, id)
    commit(5)
    expect(index.watermark).toBe(1)
    expect(index.stagedBytes(fp(3))).toBe(3)
    commit(5) // 10 > 8: everything below id 11 goes to SQLite
    expect(index.watermark).toBe(11)
    expect(index.stagedCount).toBe(0)
    // The filter holds every merged key (1-5 from the staging table, 6-10 from `put`), not fp(99).
    for (let id = 1; id <= 10; id++) expect(index.mayBeIndexed(words(id), 0)).toBe(true)
    expect(index.mayBeIndexed(words(99), 0)).toBe(false)
    const probe = Buffer.concat([fp(2), fp(99), fp(10)])
    expect(blocks.probe(probe, 3)).toEqual([
      { i: 0, id: 2 },
      { i: 2, id: 10 },
    ])
    commit(3)
    expect(index.stagedBytes(fp(12))).toBe(12)
    expect(blocks.probe(fp(12), 1)).toEqual([])
    db.close()
    // Reopen: blocks above the watermark are staged again from pblocks.
    ;({ db, blocks } = openAt(path))
    index = new FingerprintIndex(db, blocks, new MetaTable(db), next, 8)
    expect(index.watermark).toBe(11)
    expect(index.stagedBytes(fp(12))).toBe(12)
    expect(blocks.probe(fp(4), 1)).toEqual([{ i: 0, id: 4 }])
    // A dead block leaves the index with its row.
    db.transaction(() => {
      blocks.addRefs(4, 4, -1)
      blocks.deleteDead()
    })()
    expect(blocks.probe(fp(4), 1)).toEqual([])
    db.close()
  })

  it('merges at open when many blocks were left staged, and its filter holds their keys', () => {
    const path = freshPath()
    let { db, blocks } = openAt(path)
    new FingerprintIndex(db, blocks, new MetaTable(db), 1, 8)
    // 12 committed blocks, never merged (a crash before the merge).
    db.transaction(() =>
      blocks.insert(
        Array.from({ length: 12 }, (_, i) => ({ id: i + 1, fp: fp(i + 1), slot: 0, refs: 1 })),
      ),
    )()
    db.close()
    ;({ db, blocks } = openAt(path))
    const index = new FingerprintIndex(db, blocks, new MetaTable(db), 13, 8)
    expect(index.watermark).toBe(13)
    expect(index.stagedCount).toBe(0)
    for (let id = 1; id <= 12; id++) expect(index.mayBeIndexed(words(id), 0)).toBe(true)
    expect(blocks.probe(fp(7), 1)).toEqual([{ i: 0, id: 7 }])
    db.close()
  })
})
