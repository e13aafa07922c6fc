import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DedupeCache, FpTable } from './fp-table.js'

/** `n` fingerprints back to back, as an Int32Array of 8 words each. */
function fingerprints(n: number, seed = 0): Int32Array {
  const bytes = new Uint8Array(n * 32)
  for (let i = 0; i < n; i++)
    bytes.set(createHash('sha256').update(`${seed}:${i}`).digest(), i * 32)
  return new Int32Array(bytes.buffer)
}

describe('fingerprint table', () => {
  it('maps fingerprints to ids, updates, deletes, and tells keys apart by all 32 bytes', () => {
    const table = new FpTable(64)
    const fps = fingerprints(20)
    for (let i = 0; i < 20; i++) expect(table.set(fps, i * 8, i + 1)).toBe(true)
    expect(table.size).toBe(20)
    for (let i = 0; i < 20; i++) expect(table.get(fps, i * 8)).toBe(i + 1)
    expect(table.get(fingerprints(1, 99), 0)).toBe(0)
    table.set(fps, 0, 42)
    expect(table.get(fps, 0)).toBe(42)
    table.delete(fps, 8)
    expect(table.get(fps, 8)).toBe(0)
    expect(table.get(fps, 16)).toBe(3) // probing goes past the tombstone
    // Same first word, different rest: two entries.
    const twin = Int32Array.from(fps.subarray(0, 8))
    twin[7]! ^= 1
    table.set(twin, 0, 7)
    expect(table.get(twin, 0)).toBe(7)
    expect(table.get(fps, 0)).toBe(42)
    const bytes = new Uint8Array(fps.buffer, 4 * 8, 32)
    expect(table.getBytes(bytes)).toBe(0)
    table.setBytes(bytes, 5)
    expect(table.get(fps, 8)).toBe(5)
  })

  it('refuses entries past half its capacity; the dedupe cache clears itself instead', () => {
    const table = new FpTable(32)
    const fps = fingerprints(40)
    let stored = 0
    for (let i = 0; i < 40; i++) if (table.set(fps, i * 8, i + 1)) stored++
    expect(stored).toBe(table.limit)
    const cache = new DedupeCache(32)
    for (let i = 0; i < 40; i++) cache.remember(fps, i * 8, i + 1)
    expect(cache.size).toBeLessThanOrEqual(16)
    expect(cache.lookup(fps, 39 * 8)).toBe(40)
    cache.forgetBytes(new Uint8Array(fps.buffer, 39 * 32, 32))
    expect(cache.lookup(fps, 39 * 8)).toBe(0)
  })
})
