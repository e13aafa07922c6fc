import { describe, expect, it } from 'vitest'
import type { Clock } from '../ports/clock.js'
import { createRateLimiter, type RateLimiterOptions, rateLimitHeaders } from './rate-limiter.js'

const T0 = Date.parse('2025-01-15T10:00:00Z')
const T0_S = T0 / 1000

function setup(options: Partial<Omit<RateLimiterOptions, 'clock'>> = {}) {
  let now = T0
  const clock: Clock = { now: () => new Date(now) }
  const limiter = createRateLimiter({ limit: 5, windowMs: 60_000, clock, ...options })
  const advance = (ms: number) => {
    now += ms
  }
  const setNow = (ms: number) => {
    now = ms
  }
  return { limiter, advance, setNow }
}

describe('createRateLimiter', () => {
  it('allows a burst of `limit`, then denies with header values', () => {
    const { limiter } = setup()
    const results = Array.from({ length: 6 }, () => limiter.take('alice'))
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false])
    expect(results.map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0, 0])
    expect(results[0]).toEqual({
      allowed: true,
      limit: 5,
      remaining: 4,
      resetAt: T0_S + 12, // one request drains in windowMs / limit
      retryAfterSeconds: 0,
    })
    expect(results[5]).toEqual({
      allowed: false,
      limit: 5,
      remaining: 0,
      resetAt: T0_S + 60,
      retryAfterSeconds: 12,
    })
  })

  it('refills continuously at limit per window', () => {
    const { limiter, advance } = setup()
    for (let i = 0; i < 5; i++) limiter.take('alice')
    advance(11_999)
    const early = limiter.take('alice')
    expect(early.allowed).toBe(false)
    expect(early.retryAfterSeconds).toBe(1) // 1 ms left, rounded up to a whole second
    advance(1)
    expect(limiter.take('alice')).toMatchObject({ allowed: true, remaining: 0 })
    expect(limiter.take('alice').allowed).toBe(false)
    advance(60_000)
    expect(limiter.take('alice')).toMatchObject({ allowed: true, remaining: 4 })
  })

  it('does not let denied requests extend the penalty', () => {
    const { limiter, advance } = setup()
    for (let i = 0; i < 5; i++) limiter.take('alice')
    for (let i = 0; i < 100; i++) {
      expect(limiter.take('alice').allowed).toBe(false)
      advance(100)
    }
    advance(2_000) // 12 s after the burst
    expect(limiter.take('alice').allowed).toBe(true)
  })

  it('keeps keys independent', () => {
    const { limiter } = setup({ limit: 1 })
    expect(limiter.take('alice').allowed).toBe(true)
    expect(limiter.take('alice').allowed).toBe(false)
    expect(limiter.take('bob').allowed).toBe(true)
  })

  it('is exact with limits that do not divide the window', () => {
    const { limiter, advance } = setup({ limit: 3, windowMs: 1_000 })
    for (let round = 0; round < 1000; round++) {
      for (let i = 0; i < 3; i++) expect(limiter.take('k').allowed).toBe(true)
      expect(limiter.take('k').allowed).toBe(false)
      advance(1_000)
    }
    // Exactly one request per 333.33… ms sustained: 3 per second, never 4.
    const { limiter: steady, advance: tick } = setup({ limit: 3, windowMs: 1_000 })
    for (let i = 0; i < 3; i++) steady.take('k')
    let allowed = 0
    for (let ms = 0; ms < 10_000; ms++) {
      tick(1)
      if (steady.take('k').allowed) allowed++
    }
    expect(allowed).toBe(30)
  })

  it('reset() restores the full budget', () => {
    const { limiter } = setup({ limit: 2 })
    limiter.take('alice')
    limiter.take('alice')
    limiter.reset('alice')
    expect(limiter.take('alice')).toMatchObject({ allowed: true, remaining: 1 })
  })

  it('evicts idle keys (a full bucket is the same as none)', () => {
    const { limiter, advance } = setup()
    for (let i = 0; i < 100; i++) limiter.take(`ip-${i}`)
    expect(limiter.size).toBe(100)
    advance(30_000)
    limiter.take('fresh')
    expect(limiter.size).toBe(101)
    advance(30_000)
    limiter.take('another')
    expect(limiter.size).toBe(2) // the 100 idle for a full window are gone
  })

  it('caps the number of keys, evicting the least recently used', () => {
    const { limiter } = setup({ limit: 1, maxKeys: 3 })
    limiter.take('a')
    limiter.take('b')
    limiter.take('c')
    limiter.take('a') // touch a: b is now the least recently used
    limiter.take('d')
    expect(limiter.size).toBe(3)
    expect(limiter.take('a').allowed).toBe(false) // still tracked
    expect(limiter.take('b').allowed).toBe(true) // was evicted, starts full
    for (let i = 0; i < 10_000; i++) limiter.take(`flood-${i}`)
    expect(limiter.size).toBe(3)
  })

  it('does not grant budget when the clock steps backwards', () => {
    const { limiter, setNow } = setup({ limit: 1 })
    limiter.take('alice')
    setNow(T0 - 3_600_000)
    expect(limiter.take('alice').allowed).toBe(false)
  })

  it('rejects invalid options', () => {
    expect(() => setup({ limit: 0 })).toThrow(/limit/)
    expect(() => setup({ windowMs: 1.5 })).toThrow(/windowMs/)
    expect(() => setup({ maxKeys: -1 })).toThrow(/maxKeys/)
    expect(() => setup({ limit: 2 ** 40, windowMs: 2 ** 20 })).toThrow(/too large/)
  })
})

describe('rateLimitHeaders', () => {
  it('maps a result to X-RateLimit-* and Retry-After only when denied', () => {
    const { limiter } = setup({ limit: 1 })
    expect(rateLimitHeaders(limiter.take('a'))).toEqual({
      'X-RateLimit-Limit': '1',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': String(T0_S + 60),
    })
    expect(rateLimitHeaders(limiter.take('a'))).toEqual({
      'X-RateLimit-Limit': '1',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': String(T0_S + 60),
      'Retry-After': '60',
    })
  })
})
