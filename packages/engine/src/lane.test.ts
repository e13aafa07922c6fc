import { describe, expect, it } from 'vitest'
import { Lane, type LaneWrite } from './lane.js'

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
