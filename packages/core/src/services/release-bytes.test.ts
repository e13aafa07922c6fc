import { describe, expect, it } from 'vitest'
import { releaseBytes } from './release-bytes.js'

describe('releaseBytes', () => {
  it("detaches a whole buffer of the caller's: every view of it is empty afterwards", () => {
    const bytes = Buffer.allocUnsafeSlow(1 << 20).fill(7)
    const other = new Uint8Array(bytes.buffer, 100, 10)
    expect(releaseBytes(bytes)).toBe(true)
    expect(bytes.length).toBe(0)
    expect(other.length).toBe(0)
    expect((bytes.buffer as ArrayBuffer & { detached: boolean }).detached).toBe(true)
  })

  it('also takes a view of part of a buffer it may free (zlib answers such views)', () => {
    const whole = new Uint8Array(1 << 20)
    expect(releaseBytes(whole.subarray(0, 1000))).toBe(true)
    expect(whole.length).toBe(0)
  })

  it("refuses what could be another caller's: Buffer pool slices, shared and empty buffers", () => {
    const pooled = Buffer.from('a small string, from the shared pool')
    expect(pooled.buffer.byteLength).toBeLessThanOrEqual(Buffer.poolSize)
    expect(releaseBytes(pooled)).toBe(false)
    expect(pooled.toString()).toBe('a small string, from the shared pool')
    const shared = new Uint8Array(new SharedArrayBuffer(1 << 20))
    expect(releaseBytes(shared)).toBe(false)
    expect(shared.length).toBe(1 << 20)
    expect(releaseBytes(new Uint8Array(0))).toBe(false)
    // No larger than the pool (Buffer.poolSize, which a program may raise): refused too.
    const small = new Uint8Array(Buffer.poolSize)
    expect(releaseBytes(small)).toBe(false)
    expect(small.length).toBe(Buffer.poolSize)
  })

  it('refuses a second time: a detached buffer is empty', () => {
    const bytes = new Uint8Array(1 << 20)
    expect(releaseBytes(bytes)).toBe(true)
    expect(releaseBytes(bytes)).toBe(false)
  })
})
