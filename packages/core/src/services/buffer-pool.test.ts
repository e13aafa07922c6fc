import { describe, expect, it } from 'vitest'
import { BufferPool } from './buffer-pool.js'

describe('BufferPool', () => {
  it('hands out views of the size asked, backed by shared memory', () => {
    const pool = new BufferPool(1 << 20)
    const view = pool.take(1000)
    expect(view.length).toBe(1000)
    expect(view.buffer).toBeInstanceOf(SharedArrayBuffer)
    expect(pool.take(0).length).toBe(0)
  })

  it('reuses a given-back buffer for a request it fits, and only once', () => {
    const pool = new BufferPool(1 << 20)
    const first = pool.take(4096)
    pool.give(first)
    pool.give(first) // twice: kept once
    expect(pool.retainedBytes).toBe(4096)
    const again = pool.take(3000)
    expect(again.buffer).toBe(first.buffer)
    expect(again.length).toBe(3000)
    expect(pool.retainedBytes).toBe(0)
    expect(pool.take(3000).buffer).not.toBe(first.buffer)
  })

  it('does not serve a small request from a buffer more than twice its size', () => {
    const pool = new BufferPool(1 << 20)
    const big = pool.take(64 * 1024)
    pool.give(big)
    expect(pool.take(1024).buffer).not.toBe(big.buffer)
    expect(pool.take(40 * 1024).buffer).toBe(big.buffer)
  })

  it('makes plain ArrayBuffers when not shared', () => {
    const pool = new BufferPool(1 << 20, { shared: false })
    const view = pool.take(100)
    expect(view.buffer).toBeInstanceOf(ArrayBuffer)
    pool.give(view)
    expect(pool.take(80).buffer).toBe(view.buffer)
  })

  it('keeps at most its retain budget, and ignores memory it does not own', () => {
    const pool = new BufferPool(10_000)
    const a = pool.take(6000)
    const b = pool.take(6000)
    pool.give(a)
    pool.give(b)
    expect(pool.retainedBytes).toBe(6000)
    pool.give(new Uint8Array(100))
    pool.give(new Uint8Array(new SharedArrayBuffer(100)))
    expect(pool.retainedBytes).toBe(6000)
  })
})
