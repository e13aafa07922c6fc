import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BlockIndex } from './block-index.js'
import { openMetadataDb } from './metadata-db.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function open() {
  const dir = mkdtempSync(join(tmpdir(), 'pstorage-blocks-'))
  dirs.push(dir)
  const db = openMetadataDb(join(dir, 'metadata.sqlite'), 1 << 20)
  return { db, blocks: new BlockIndex(db) }
}

/** Fingerprints with NUL bytes in them (and one of only zeros): blobs, not text. */
const fp = (i: number) => {
  if (i === 3) return Buffer.alloc(32)
  const bytes = createHash('sha256').update(`block ${i}`).digest()
  bytes[0] = 0
  bytes[17] = 0
  return bytes
}

describe('BlockIndex.following (the prefetch of a clone run)', () => {
  it('answers the next blocks in id order with their fingerprints byte-exact, gaps or not', () => {
    const { db, blocks } = open()
    db.transaction(() =>
      blocks.insert(
        Array.from({ length: 20 }, (_, k) => ({ id: k + 1, fp: fp(k + 1), slot: 0, refs: 1 })),
      ),
    )()
    const run = blocks.following(1, 5) // contiguous ids 2..6
    expect(run.ids).toEqual([2, 3, 4, 5, 6])
    expect(run.fps.equals(Buffer.concat([2, 3, 4, 5, 6].map(fp)))).toBe(true)
    // Blocks 8 and 9 die: the run after 6 has a gap.
    db.transaction(() => {
      blocks.addRefs(8, 9, -1)
      blocks.deleteDead()
    })()
    const gapped = blocks.following(6, 4)
    expect(gapped.ids).toEqual([7, 10, 11, 12])
    expect(gapped.fps.equals(Buffer.concat([7, 10, 11, 12].map(fp)))).toBe(true)
    expect(blocks.following(18, 10).ids).toEqual([19, 20]) // fewer than asked
    expect(blocks.following(20, 10)).toEqual({ ids: [], fps: Buffer.alloc(0) })
    db.close()
  })
})
