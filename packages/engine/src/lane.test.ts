import { describe, expect, it } from 'vitest'
import { DEFAULT_LANE_DEPTH, Lane, type LaneWrite } from './lane.js'

interface TestWrite extends LaneWrite {
  readonly n: number
}

describe('lane', () => {
  it('groups writes queued during a commit, keeps order, and runs operations alone', async () => {
    const batches: number[][] = []
    const order: string[] = []
    const lane = new Lane<TestWrite>(async (batch) => {
      batches.push(batch.map((w) => w.n))
      order.push(`batch ${batch.map((w) => w.n).join(',')}`)
      await new Promise((r) => setTimeout(r, 5))
    })
    const data = new Uint8Array(1)
    lane.write({ n: 1, data })
    lane.write({ n: 2, data })
    const op = lane.run(async () => {
      order.push('op')
      return 42
    })
    lane.write({ n: 3, data })
    lane.write({ n: 4, data })
    expect(await op).toBe(42)
    await lane.idle()
    expect(batches).toEqual([
      [1, 2],
      [3, 4],
    ])
    expect(order).toEqual(['batch 1,2', 'op', 'batch 3,4'])
  })

  it('prepares up to depth - 1 batches behind the one finishing, and finishes in order', async () => {
    const tick = () => new Promise((r) => setTimeout(r, 1))
    // 8 MiB each: one write per batch.
    const data = new Uint8Array(8 * 1024 * 1024)
    for (const depth of [1, 2, 3]) {
      const prepared: number[] = []
      const finished: number[] = []
      const gates = new Map<number, () => void>()
      let finishing = 0
      let overlap = false
      const lane = new Lane<TestWrite, number>(
        {
          prepare: async (batch) => {
            prepared.push(batch[0]!.n)
            return batch[0]!.n
          },
          finish: (n) =>
            new Promise<void>((resolve) => {
              if (finishing++ > 0) overlap = true
              gates.set(n, () => {
                finishing--
                finished.push(n)
                resolve()
              })
            }),
        },
        depth,
      )
      for (const n of [1, 2, 3, 4, 5]) lane.write({ n, data })
      await tick()
      // Batch 1 finishing holds the pipeline: depth batches in it, no more.
      expect(prepared).toEqual([1, 2, 3].slice(0, depth))
      expect([...gates.keys()]).toEqual([1])
      gates.get(1)!()
      await tick()
      expect(prepared).toEqual([1, 2, 3, 4].slice(0, depth + 1))
      expect([...gates.keys()]).toEqual([1, 2])
      for (const n of [2, 3, 4, 5]) {
        await tick()
        gates.get(n)!()
      }
      await lane.idle()
      expect(finished).toEqual([1, 2, 3, 4, 5])
      expect(prepared).toEqual([1, 2, 3, 4, 5])
      expect(overlap).toBe(false)
    }
    expect(DEFAULT_LANE_DEPTH).toBe(3)
    expect(() => new Lane(async () => {}, 0)).toThrow(RangeError)
  })

  it('gathers small writes into one batch rather than a third small one', async () => {
    const tick = () => new Promise((r) => setTimeout(r, 1))
    const data = new Uint8Array(4096)
    const prepared: number[][] = []
    const gates: (() => void)[] = []
    const lane = new Lane<TestWrite, void>(
      {
        prepare: async (batch) => {
          prepared.push(batch.map((w) => w.n))
        },
        finish: () => new Promise<void>((resolve) => gates.push(resolve)),
      },
      3,
    )
    for (const n of [1, 2]) {
      lane.write({ n, data })
      await tick()
    }
    for (const n of [3, 4, 5]) {
      lane.write({ n, data })
      await tick()
    }
    // Batch 1 finishing, batch 2 prepared: 3-5 wait and gather.
    expect(prepared).toEqual([[1], [2]])
    gates.shift()!()
    await tick()
    expect(prepared).toEqual([[1], [2], [3, 4, 5]])
    while (gates.length > 0) {
      gates.shift()!()
      await tick()
    }
    await lane.idle()
    expect(prepared).toHaveLength(3)
  })

  it('keeps going after a failing operation or commit', async () => {
    let commits = 0
    const lane = new Lane<TestWrite>(async () => {
      commits++
      throw new Error('commit failed')
    })
    lane.write({ n: 1, data: new Uint8Array(1) })
    await expect(lane.run(async () => Promise.reject(new Error('op failed')))).rejects.toThrow(
      'op failed',
    )
    expect(await lane.run(async () => 'still running')).toBe('still running')
    expect(commits).toBe(1)
  })
})
