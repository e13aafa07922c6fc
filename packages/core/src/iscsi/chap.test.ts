import { describe, expect, it } from 'vitest'
import { isPStorageError } from '../errors.js'
import {
  assertChapSecret,
  assertChapUser,
  CHAP_SECRET_SYMBOLS,
  generateChapSecret,
} from './chap.js'
import { ChapSecretSchema, ChapUserSchema, IscsiNameSchema, LunNameSchema } from './schemas.js'

const refused = (fn: () => void) => {
  try {
    fn()
    return false
  } catch (e) {
    return isPStorageError(e, 'bad_request')
  }
}

describe('assertChapSecret', () => {
  it('accepts 12 to 16 characters of the policy', () => {
    for (const s of ['Abc123Def456', 'a'.repeat(16), 'x-y_z.w+v12345', '+-._+-._+-._'])
      assertChapSecret(s)
  })

  it('refuses lengths outside 12..16 and every excluded character', () => {
    expect(refused(() => assertChapSecret('a'.repeat(11)))).toBe(true)
    expect(refused(() => assertChapSecret('a'.repeat(17)))).toBe(true)
    for (const c of [' ', "'", '"', '=', '\\', '$', '`', '#', '%', '@', ':', '/', ';', '\n', 'é'])
      expect(
        refused(() => assertChapSecret(`Abc123Def45${c}`)),
        JSON.stringify(c),
      ).toBe(true)
    expect(refused(() => assertChapSecret(123456789012))).toBe(true)
  })

  it('never puts the secret in the error', () => {
    try {
      assertChapSecret('hunter2hunter2 ')
      expect.unreachable()
    } catch (e) {
      const err = e as Error & { details?: unknown }
      expect(JSON.stringify([err.message, err.details])).not.toContain('hunter2')
    }
  })
})

describe('assertChapUser', () => {
  it('accepts plain and IQN-style user names', () => {
    for (const u of ['node1', 'N.o_d-e:1', 'iqn.1993-08.org.debian:01:abcdef', 'a'.repeat(223)])
      assertChapUser(u)
  })

  it('refuses separators of targetcli and the shell', () => {
    for (const u of ['', 'a b', 'a=b', "a'b", 'a$b', '-a', 'a'.repeat(224), 'a\nb'])
      expect(
        refused(() => assertChapUser(u)),
        JSON.stringify(u),
      ).toBe(true)
  })
})

describe('generateChapSecret', () => {
  it('makes 16 policy characters by default, 12..16 on request', () => {
    for (let i = 0; i < 200; i++) assertChapSecret(generateChapSecret())
    expect(generateChapSecret()).toHaveLength(16)
    expect(generateChapSecret(12)).toHaveLength(12)
    expect(refused(() => generateChapSecret(11))).toBe(true)
    expect(refused(() => generateChapSecret(17))).toBe(true)
  })

  it('starts with a letter or digit and uses the whole alphabet', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 2000; i++) {
      const s = generateChapSecret()
      expect(s[0]).toMatch(/[A-Za-z0-9]/)
      for (const c of s) seen.add(c)
    }
    // 66 characters; 30 000 draws miss one with probability ~ 66·e^-450.
    expect(seen.size).toBe(62 + CHAP_SECRET_SYMBOLS.length)
  })

  it('does not repeat', () => {
    const secrets = new Set(Array.from({ length: 1000 }, () => generateChapSecret()))
    expect(secrets.size).toBe(1000)
  })
})

describe('schemas', () => {
  it('agree with the assertions', () => {
    expect(IscsiNameSchema.safeParse('IQN.2025-01.com.example:a').success).toBe(true)
    expect(IscsiNameSchema.safeParse('iqn.2025-13.com.example:a').success).toBe(false)
    expect(LunNameSchema.safeParse('vol_1').success).toBe(true)
    expect(LunNameSchema.safeParse('Vol').success).toBe(false)
    expect(ChapUserSchema.safeParse('node1').success).toBe(true)
    expect(ChapUserSchema.safeParse('node 1').success).toBe(false)
    expect(ChapSecretSchema.safeParse(generateChapSecret()).success).toBe(true)
    expect(ChapSecretSchema.safeParse('Abc123Def45$').success).toBe(false)
  })
})
