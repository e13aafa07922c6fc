import { describe, expect, it } from 'vitest'
import { isPStorageError } from '../errors.js'
import {
  checkIscsiName,
  generateIqn,
  ISCSI_NAME_MAX_BYTES,
  isIscsiName,
  normalizeIqn,
} from './iqn.js'

const codeOf = (fn: () => unknown) => {
  try {
    fn()
  } catch (e) {
    return isPStorageError(e) ? e.code : e
  }
  return 'no error'
}

describe('checkIscsiName', () => {
  it('accepts the iqn forms of RFC 3720 and lowercases them', () => {
    for (const name of [
      'iqn.2025-01.com.example:vol1',
      'iqn.1993-08.org.debian:01:c5d1a2b3',
      'iqn.2001-04.com.example',
      'iqn.2025-12.local.pstorage:a.b-c:d',
      'iqn.2025-01.a1.b-2.c:x',
    ])
      expect(checkIscsiName(name)).toEqual({ ok: true, name })
    expect(normalizeIqn('IQN.2025-01.COM.Example:Vol1')).toBe('iqn.2025-01.com.example:vol1')
  })

  it('accepts eui.<16 hex>', () => {
    expect(normalizeIqn('eui.02004567A425678D')).toBe('eui.02004567a425678d')
    expect(isIscsiName('eui.02004567a425678')).toBe(false)
    expect(isIscsiName('eui.02004567a425678d0')).toBe(false)
  })

  it('refuses months outside 01-12, single labels, underscores and bad labels', () => {
    for (const name of [
      'iqn.2025-00.com.example:x',
      'iqn.2025-13.com.example:x',
      'iqn.2025-1.com.example:x',
      'iqn.25-01.com.example:x',
      'iqn.2025-01.example:x',
      'iqn.2025-01.com.exa_mple:x',
      'iqn.2025-01.com.example:vol_1',
      'iqn.2025-01.-com.example:x',
      'iqn.2025-01.com-.example:x',
      'iqn.2025-01.com..example:x',
      'iqn.2025-01.com.example:',
      'iqn.2025-01.com.example:a b',
      'naa.5001405aabbccdd0',
      '',
    ])
      expect(checkIscsiName(name), name).toEqual({ ok: false, problem: 'malformed' })
  })

  it('refuses shell and control characters', () => {
    for (const name of [
      "iqn.2025-01.com.example:a'b",
      'iqn.2025-01.com.example:a;id',
      'iqn.2025-01.com.example:$(id)',
      'iqn.2025-01.com.example:`id`',
      'iqn.2025-01.com.example:a\nb',
      'iqn.2025-01.com.example:a\0',
      'iqn.2025-01.com.example:a/../b',
      'iqn.2025-01.com.example:a=b',
      '-iqn.2025-01.com.example:a',
    ])
      expect(isIscsiName(name), JSON.stringify(name)).toBe(false)
  })

  it('allows exactly 223 bytes', () => {
    const prefix = 'iqn.2025-01.com.example:'
    const max = prefix + 'a'.repeat(ISCSI_NAME_MAX_BYTES - prefix.length)
    expect(Buffer.byteLength(max)).toBe(223)
    expect(checkIscsiName(max).ok).toBe(true)
    expect(checkIscsiName(`${max}a`)).toEqual({ ok: false, problem: 'too_long' })
    // Counted in UTF-8 bytes, before anything else: a 2-byte character counts twice.
    expect(checkIscsiName(`${prefix}${'é'.repeat(100)}`)).toEqual({
      ok: false,
      problem: 'too_long',
    })
  })

  it('refuses non-strings', () => {
    expect(checkIscsiName(42)).toEqual({ ok: false, problem: 'not_a_string' })
    expect(codeOf(() => normalizeIqn(undefined))).toBe('bad_request')
  })

  it('names the field in the error but never echoes the value', () => {
    try {
      normalizeIqn('iqn.2025-01.com.example:$(reboot)', 'initiatorIqn')
      expect.unreachable()
    } catch (e) {
      expect(isPStorageError(e, 'bad_request')).toBe(true)
      const err = e as Error & { details?: unknown }
      expect(err.message).toMatch(/^initiatorIqn /)
      expect(JSON.stringify([err.message, err.details])).not.toContain('reboot')
    }
  })
})

describe('generateIqn', () => {
  it('builds iqn.<yyyy-mm>.<domain>:<name> from the UTC month', () => {
    expect(generateIqn({ createdAt: new Date('2025-01-15T12:00:00Z'), name: 'vol1' })).toBe(
      'iqn.2025-01.local.pstorage:vol1',
    )
    // 23:30 on Dec 31 in UTC-2 is already January in UTC.
    expect(
      generateIqn({
        createdAt: new Date('2025-12-31T23:30:00-02:00'),
        domain: 'com.example',
        name: 'Vol_2',
      }),
    ).toBe('iqn.2026-01.com.example:vol-2')
  })

  it('produces names the validator accepts', () => {
    const iqn = generateIqn({ createdAt: new Date(), name: 'a'.repeat(64) })
    expect(isIscsiName(iqn)).toBe(true)
  })

  it('refuses names, domains and dates that cannot make a valid IQN', () => {
    const createdAt = new Date('2025-01-01T00:00:00Z')
    expect(codeOf(() => generateIqn({ createdAt, name: 'a b' }))).toBe('bad_request')
    expect(codeOf(() => generateIqn({ createdAt, name: '' }))).toBe('bad_request')
    expect(codeOf(() => generateIqn({ createdAt, name: 'x'.repeat(220) }))).toBe('bad_request')
    expect(codeOf(() => generateIqn({ createdAt, domain: 'localhost', name: 'a' }))).toBe(
      'bad_request',
    )
    expect(codeOf(() => generateIqn({ createdAt, domain: 'a..b', name: 'a' }))).toBe('bad_request')
    expect(codeOf(() => generateIqn({ createdAt: new Date(Number.NaN), name: 'a' }))).toBe(
      'bad_request',
    )
  })
})
