import { describe, expect, it } from 'vitest'
import {
  hashToken,
  newApiKey,
  newRefreshToken,
  parseApiKey,
  parseRefreshToken,
  verifyTokenHash,
} from './opaque-tokens.js'

describe('refresh tokens', () => {
  it('are 32 random bytes in base64url, stored as their SHA-256', () => {
    const { token, hash } = newRefreshToken()
    expect(token).toMatch(/^[\w-]{43}$/)
    expect(Buffer.from(token, 'base64url')).toHaveLength(32)
    expect(hash).toBe(hashToken(token))
    expect(hash).toMatch(/^[0-9a-f]{64}$/)
    expect(hash).not.toContain(token)
  })

  it('are unique', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => newRefreshToken().token))
    expect(tokens.size).toBe(1000)
  })

  it('parse only well-formed tokens', () => {
    const { token } = newRefreshToken()
    expect(parseRefreshToken(token)).toBe(token)
    for (const bad of [
      '',
      token.slice(1),
      `${token}A`,
      `${token.slice(0, -1)}+`,
      // 43 chars carry 258 bits: the last character's 2 spare bits must be zero ('B' = 000001).
      `${token.slice(0, -1)}B`,
      'x'.repeat(1_000_000),
      undefined,
      42,
    ]) {
      expect(parseRefreshToken(bad)).toBeUndefined()
    }
  })
})

describe('hashToken and verifyTokenHash', () => {
  it('uses SHA-256 (FIPS 180-4 test vector)', () => {
    expect(hashToken('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    )
  })

  it('accepts the right token and rejects others or a malformed stored hash', () => {
    const { token, hash } = newRefreshToken()
    expect(verifyTokenHash(token, hash)).toBe(true)
    expect(verifyTokenHash(newRefreshToken().token, hash)).toBe(false)
    expect(verifyTokenHash(token, hash.toUpperCase())).toBe(false)
    expect(verifyTokenHash(token, hash.slice(2))).toBe(false)
    expect(verifyTokenHash(token, '')).toBe(false)
  })
})

describe('API keys', () => {
  it('look like psk_<8-char id>_<43-char secret> and store only the hash', () => {
    const key = newApiKey()
    expect(key.id).toMatch(/^[a-z2-7]{8}$/)
    expect(key.secret).toMatch(new RegExp(`^psk_${key.id}_[\\w-]{43}$`))
    expect(Buffer.from(key.secret.slice(13), 'base64url')).toHaveLength(32)
    expect(key.hash).toBe(hashToken(key.secret))
    expect(Object.isFrozen(key)).toBe(true)
  })

  it('have random ids drawn from the whole base32 alphabet', () => {
    const ids = Array.from({ length: 2000 }, () => newApiKey().id)
    expect(new Set(ids).size).toBe(2000)
    expect(new Set(ids.join('')).size).toBe(32)
  })

  it('parse into the public id and the whole key, which verifies against the hash', () => {
    const key = newApiKey()
    const parsed = parseApiKey(key.secret)
    expect(parsed).toEqual({ id: key.id, secret: key.secret })
    expect(verifyTokenHash(parsed!.secret, key.hash)).toBe(true)
  })

  it('bind id and secret: swapping the id part fails verification', () => {
    const a = newApiKey()
    const b = newApiKey()
    const forged = a.secret.replace(a.id, b.id)
    expect(parseApiKey(forged)?.id).toBe(b.id)
    expect(verifyTokenHash(forged, b.hash)).toBe(false)
  })

  it('reject malformed keys by returning undefined, never throwing', () => {
    const { secret, id } = newApiKey()
    const bad: unknown[] = [
      '',
      'psk_',
      secret.replace('psk_', 'psx_'),
      secret.replace('psk_', 'PSK_'),
      secret.replace(id, id.toUpperCase()),
      secret.replace(id, `${id.slice(1)}1`),
      `${secret}A`,
      secret.slice(0, -1),
      `${secret.slice(0, -1)}=`,
      ` ${secret}`,
      `${secret}\n`,
      `psk_abcdefgh_${'A'.repeat(42)}B`, // non-canonical final character
      'x'.repeat(1_000_000),
      null,
      undefined,
      { toString: () => secret },
    ]
    for (const input of bad) expect(parseApiKey(input), String(input)).toBeUndefined()
  })
})
