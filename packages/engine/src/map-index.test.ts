import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Extent, MapIndex } from './map-index.js'
import { openMetadataDb, type SqliteDatabase } from './metadata-db.js'

const run = (idx: number, n: number, pblock: number, step = 1, tail = 4096): Extent => ({
  idx,
  n,
  tail,
  pblock,
  step: n > 1 ? step : 1,
  pattern: null,
})
const zeros = (idx: number, n: number): Extent => ({
  idx,
  n,
  tail: 4096,
  pblock: null,
  step: 1,
  pattern: Uint8Array.of(0),
})

describe('block maps as extents', () => {
  let dir: string
  let db: SqliteDatabase
  let maps: MapIndex
  let id: number
  const rows = () =>
    maps
      .extents(id, 0, 1 << 30)
      .map((e) => [e.idx, e.n, e.tail, e.pblock, e.pblock === null ? null : e.step])

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pstorage-maps-'))
    db = openMetadataDb(join(dir, 'metadata.sqlite'), 1 << 20)
    maps = new MapIndex(db)
    id = maps.create('volume', 'v', 1 << 30, 'lz4', 0)
  })
  afterEach(() => {
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('joins sequential writes into one run and reports no released references', () => {
    expect(maps.write(id, 0, 8, [run(0, 8, 100)])).toEqual({ released: [], usedDelta: 8 * 4096 })
    expect(maps.write(id, 8, 16, [run(8, 8, 108)]).released).toEqual([])
    expect(rows()).toEqual([[0, 16, 4096, 100, 1]])
    expect(maps.write(id, 16, 20, [zeros(16, 2), zeros(18, 2)]).usedDelta).toBe(4 * 4096)
    expect(rows()).toEqual([
      [0, 16, 4096, 100, 1],
      [16, 4, 4096, null, null],
    ])
  })

  it('splits the extents an overwrite covers and releases exactly the covered references', () => {
    maps.write(id, 0, 16, [run(0, 16, 100)])
    const { released, usedDelta } = maps.write(id, 4, 6, [run(4, 2, 500)])
    expect(released).toEqual([{ pblock: 104, step: 1, n: 2 }])
    expect(usedDelta).toBe(0)
    expect(rows()).toEqual([
      [0, 4, 4096, 100, 1],
      [4, 2, 4096, 500, 1],
      [6, 10, 4096, 106, 1],
    ])
    // Writing the old blocks back joins the three into one run again.
    maps.write(id, 4, 6, [run(4, 2, 104)])
    expect(rows()).toEqual([[0, 16, 4096, 100, 1]])
    expect(maps.entry(id, 7)).toEqual({ len: 4096, pblock: 107, pattern: null })
    expect(maps.entry(id, 16)).toBeUndefined()
  })

  it('keeps a repeated block as one run of step 0, and a partial last block as the tail', () => {
    maps.write(id, 0, 4, [run(0, 4, 9, 0)])
    expect(rows()).toEqual([[0, 4, 4096, 9, 0]])
    const { released, usedDelta } = maps.write(id, 3, 4, [run(3, 1, 20, 1, 12)])
    expect(released).toEqual([{ pblock: 9, step: 1, n: 1 }])
    expect(usedDelta).toBe(12 - 4096)
    expect(rows()).toEqual([
      [0, 3, 4096, 9, 0],
      [3, 1, 12, 20, 1],
    ])
    const last = maps.last(id)!
    expect((last.idx + last.n - 1) * 4096 + last.tail).toBe(3 * 4096 + 12)
    // Nothing joins after a partial block.
    maps.write(id, 4, 5, [run(4, 1, 21)])
    expect(rows().length).toBe(3)
  })
})
