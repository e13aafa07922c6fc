import { describe, expect, it } from 'vitest'
import { createScryptHasher, DEFAULT_SCRYPT_PARAMS } from './password-hasher.js'

// Cheap parameters keep the suite fast; the defaults are exercised once below.
const FAST = { cost: 4, blockSize: 8, parallelization: 1 }
const hasher = createScryptHasher({ params: FAST })
const PASSWORD = 'correct horse battery staple'

describe('createScryptHasher', () => {
  it('encodes parameters, a 16-byte salt and a 64-byte key', async () => {
    const encoded = await hasher.hash(PASSWORD)
    const match = /^scrypt\$ln=4,r=8,p=1\$([\w-]+)\$([\w-]+)$/.exec(encoded)
    expect(match).not.toBeNull()
    expect(Buffer.from(match![1]!, 'base64url')).toHaveLength(16)
    expect(Buffer.from(match![2]!, 'base64url')).toHaveLength(64)
    expect(encoded).not.toContain(PASSWORD)
  })

  it('salts: the same password hashes differently each time', async () => {
    expect(await hasher.hash(PASSWORD)).not.toBe(await hasher.hash(PASSWORD))
  })

  it('verifies the right password and rejects others', async () => {
    const encoded = await hasher.hash(PASSWORD)
    expect(await hasher.verify(PASSWORD, encoded)).toBe(true)
    expect(await hasher.verify(`${PASSWORD} `, encoded)).toBe(false)
    expect(await hasher.verify('Correct horse battery staple', encoded)).toBe(false)
    expect(await hasher.verify('', encoded)).toBe(false)
    expect(await hasher.verify(`${PASSWORD}\0`, encoded)).toBe(false)
    expect(await hasher.verify('x'.repeat(5000), encoded)).toBe(false)
  })

  it('matches NFKC-equivalent spellings', async () => {
    const encoded = await hasher.hash('caf\u00e9 au lait')
    expect(await hasher.verify('cafe\u0301 au lait', encoded)).toBe(true)
  })

  it('derives a key even for an unknown user or rejected input (no timing oracle)', async () => {
    // With one slot and no queue, a verify that derives a key must fail while the slot is
    // held: proof that every path does the work, without a flaky timing measurement.
    const single = createScryptHasher({ params: FAST, maxConcurrent: 1, maxWaiting: 0 })
    const encoded = await single.hash(PASSWORD)
    for (const [password, stored] of [
      [PASSWORD, undefined],
      [PASSWORD, null],
      ['x'.repeat(5000), encoded],
      ['nul\0', encoded],
    ] as const) {
      const busy = single.hash(PASSWORD)
      await expect(single.verify(password, stored)).rejects.toMatchObject({
        code: 'service_unavailable',
      })
      await busy
      expect(await single.verify(password, stored)).toBe(false)
    }
  })

  it('verifies hashes made with other parameters, and flags them for rehash', async () => {
    const old = await createScryptHasher({ params: { ...FAST, cost: 5, keyLength: 32 } }).hash(
      PASSWORD,
    )
    expect(await hasher.verify(PASSWORD, old)).toBe(true)
    expect(hasher.needsRehash(old)).toBe(true)
    expect(hasher.needsRehash(await hasher.hash(PASSWORD))).toBe(false)
    expect(hasher.needsRehash('$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA')).toBe(true)
  })

  it('accepts old short passwords on verify even after the minimum was raised', async () => {
    const lax = createScryptHasher({ params: FAST, policy: { minLength: 4 } })
    const encoded = await lax.hash('abcd')
    expect(await hasher.verify('abcd', encoded)).toBe(true)
    await expect(hasher.hash('abcd')).rejects.toMatchObject({ code: 'validation_error' })
  })

  it('never matches rejected input, even against a hash of the empty password', async () => {
    const empty = await createScryptHasher({ params: FAST, policy: { minLength: 0 } }).hash('')
    expect(await hasher.verify('', empty)).toBe(true)
    expect(await hasher.verify('x'.repeat(5000), empty)).toBe(false)
    expect(await hasher.verify('\0', empty)).toBe(false)
  })

  it('enforces the length policy and NUL on hash with validation_error', async () => {
    const cases: Array<[string, string]> = [
      ['short', 'too_short'],
      ['x'.repeat(1025), 'too_long'],
      ['password\0', 'contains_nul'],
    ]
    for (const [password, reason] of cases) {
      await expect(hasher.hash(password)).rejects.toMatchObject({
        code: 'validation_error',
        details: { field: 'password', reason },
      })
    }
  })

  it('throws data_corruption for a malformed stored hash instead of returning false', async () => {
    const encoded = await hasher.hash(PASSWORD)
    const malformed = [
      'plaintext',
      encoded.replace('scrypt$', 'scrypt2$'),
      encoded.replace('ln=4', 'ln=40'), // refuses a stored cost that would exhaust memory
      encoded.replace('ln=4', 'ln=21'),
      encoded.replace(/\$[\w-]+\$/, '$c2FsdA$'), // 4-byte salt
      `${encoded}=`,
    ]
    for (const value of malformed) {
      await expect(hasher.verify(PASSWORD, value), value).rejects.toMatchObject({
        code: 'data_corruption',
      })
    }
  })

  it('bounds concurrent hashes with a semaphore', async () => {
    const bounded = createScryptHasher({ params: FAST, maxConcurrent: 1, maxWaiting: 2 })
    const runs = Array.from({ length: 4 }, () => bounded.hash(PASSWORD))
    const settled = await Promise.allSettled(runs)
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(3)
    expect(settled[3]).toMatchObject({
      status: 'rejected',
      reason: { code: 'service_unavailable' },
    })
  })

  it('refuses parameters outside safe bounds', () => {
    expect(() => createScryptHasher({ params: { cost: 21 } })).toThrow(/cost/)
    expect(() => createScryptHasher({ params: { saltLength: 8 } })).toThrow(/saltLength/)
    expect(() => createScryptHasher({ params: { cost: 20, blockSize: 8 } })).toThrow(/256 MiB/)
  })

  it('uses N=2^17, r=8, p=1 by default (OWASP minimum)', async () => {
    expect(DEFAULT_SCRYPT_PARAMS).toMatchObject({ cost: 17, blockSize: 8, parallelization: 1 })
    const real = createScryptHasher()
    const encoded = await real.hash(PASSWORD)
    expect(encoded.startsWith('scrypt$ln=17,r=8,p=1$')).toBe(true)
    expect(await real.verify(PASSWORD, encoded)).toBe(true)
    expect(real.needsRehash(encoded)).toBe(false)
    expect(real.needsRehash(await hasher.hash(PASSWORD))).toBe(true)
  })
})
