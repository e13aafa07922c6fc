import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createKeyring, type KeyringInput } from './keyring.js'
import { formatKeyring, parseKeyring } from './keyring-text.js'

describe('createKeyring', () => {
  it('accepts a Map or a record and copies the keys', () => {
    const key = randomBytes(32)
    const fromRecord = createKeyring({ current: 2, keys: { 1: key, 2: randomBytes(32) } })
    const fromMap = createKeyring({ current: 1, keys: new Map([[1, key]]) })
    expect([...fromRecord.keys.keys()]).toEqual([1, 2])
    expect(Buffer.from(fromMap.keys.get(1)!)).toEqual(key)
    key.fill(0)
    expect(Buffer.from(fromMap.keys.get(1)!)).not.toEqual(key)
    expect(Object.isFrozen(fromMap)).toBe(true)
  })

  it('throws internal_error for bad versions, key sizes or a missing current', () => {
    const inputs: KeyringInput[] = [
      { current: 1, keys: { 1: randomBytes(33) } },
      { current: 1, keys: { '1.5': randomBytes(32), 1: randomBytes(32) } },
      { current: 3, keys: { 1: randomBytes(32) } },
      { current: 1, keys: {} },
    ]
    for (const input of inputs) {
      expect(() => createKeyring(input)).toThrow(
        expect.objectContaining({ code: 'internal_error' }),
      )
    }
  })
})

describe('parseKeyring and formatKeyring', () => {
  it('round-trips', () => {
    const keyring = createKeyring({ current: 3, keys: { 3: randomBytes(32), 1: randomBytes(32) } })
    const text = formatKeyring(keyring)
    expect(text).toMatch(/^\{"format":"pstorage-keyring\/v1","current":3,"keys":\{"1":/)
    const parsed = parseKeyring(text)
    if (typeof parsed === 'string') throw new Error(parsed)
    expect(parsed.current).toBe(3)
    expect(Buffer.from(parsed.keys.get(1)!)).toEqual(Buffer.from(keyring.keys.get(1)!))
    expect(Buffer.from(parsed.keys.get(3)!)).toEqual(Buffer.from(keyring.keys.get(3)!))
  })

  it('accepts a bare base64 key, with surrounding whitespace', () => {
    const key = randomBytes(32)
    const parsed = parseKeyring(`  ${key.toString('base64')}\n`)
    expect(typeof parsed).toBe('object')
    expect(Buffer.from((parsed as Exclude<typeof parsed, string>).keys.get(1)!)).toEqual(key)
  })

  it('returns an error message naming the problem but no key material', () => {
    const short = randomBytes(16).toString('base64')
    expect(parseKeyring(short)).toMatch(/32 bytes/)
    expect(parseKeyring(`{"current":1,"keys":{"1":"${short}"}}`)).toBe(
      'key version 1 is not base64 of 32 bytes',
    )
    expect(parseKeyring('{"current":"1","keys":{}}')).toBe('invalid keyring JSON at current')
    expect(parseKeyring('{nope')).toBe('not valid JSON')
  })
})
