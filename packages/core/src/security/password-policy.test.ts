import { describe, expect, it } from 'vitest'
import { checkPassword } from './password-policy.js'

describe('checkPassword', () => {
  it('accepts passwords within 8..1024 code points', () => {
    expect(checkPassword('12345678')).toEqual({ ok: true, password: '12345678' })
    expect(checkPassword('x'.repeat(1024)).ok).toBe(true)
  })

  it('counts code points, not UTF-16 units', () => {
    expect(checkPassword('🔑'.repeat(7))).toEqual({ ok: false, problem: 'too_short' })
    expect(checkPassword('🔑'.repeat(1024)).ok).toBe(true)
    expect(checkPassword('🔑'.repeat(1025))).toEqual({ ok: false, problem: 'too_long' })
  })

  it('refuses short, long, NUL-bearing and non-string input', () => {
    expect(checkPassword('1234567')).toEqual({ ok: false, problem: 'too_short' })
    expect(checkPassword('x'.repeat(1025))).toEqual({ ok: false, problem: 'too_long' })
    expect(checkPassword('x'.repeat(10_000_000))).toEqual({ ok: false, problem: 'too_long' })
    expect(checkPassword('password\0suffix')).toEqual({ ok: false, problem: 'contains_nul' })
    expect(checkPassword(12345678)).toEqual({ ok: false, problem: 'not_a_string' })
  })

  it('normalizes to NFKC', () => {
    expect(checkPassword('ｐａｓｓｗｏｒｄ')).toEqual({ ok: true, password: 'password' })
    expect(checkPassword('cafe\u0301 au lait')).toEqual({ ok: true, password: 'caf\u00e9 au lait' })
  })

  it('honours a custom policy', () => {
    expect(checkPassword('abc', { minLength: 3, maxLength: 3 }).ok).toBe(true)
    expect(checkPassword('abcd', { minLength: 3, maxLength: 3 }).ok).toBe(false)
  })
})
