import { describe, expect, it } from 'vitest'
import { settleAll } from './compute-pool.js'

describe('settleAll', () => {
  it('resolves with every result, in order', async () => {
    const late = new Promise<number>((resolve) => setTimeout(() => resolve(1), 5))
    expect(await settleAll([late, Promise.resolve(2)])).toEqual([1, 2])
  })

  it('rejects with the first failure only once every job settled', async () => {
    const events: string[] = []
    const slow = new Promise<void>((resolve) =>
      setTimeout(() => {
        events.push('slow job done')
        resolve()
      }, 20),
    )
    const failing = Promise.reject(new Error('piece failed'))
    await settleAll([slow, failing]).catch((error: Error) => events.push(error.message))
    // Promise.all would have rejected first, with the slow job still writing.
    expect(events).toEqual(['slow job done', 'piece failed'])
  })
})
