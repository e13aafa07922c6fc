import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isPStorageError, type PStorageError } from '../errors.js'
import { createAesGcmVault } from './aes-gcm-vault.js'
import { createKeyring } from './keyring.js'

const CTX = 'backend:42|secret_access_key'
const k1 = randomBytes(32)
const k2 = randomBytes(32)

function vaultWith(current: number, keys: Record<number, Uint8Array>) {
  return createAesGcmVault({ keyring: createKeyring({ current, keys }) })
}

async function failure(promise: Promise<unknown>): Promise<PStorageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isPStorageError(error)) throw new Error(`expected a PStorageError, got ${String(error)}`)
  return error
}

/** Flips one bit of the base64url segment `index` of a sealed value. */
function flip(sealed: string, index: number): string {
  const parts = sealed.split('.')
  const bytes = Buffer.from(parts[index]!, 'base64url')
  bytes[0]! ^= 1
  parts[index] = bytes.toString('base64url')
  return parts.join('.')
}

describe('createAesGcmVault', () => {
  const vault = vaultWith(1, { 1: k1 })

  it('round-trips unicode and empty plaintexts', async () => {
    for (const plain of ['s3cr3t', '', 'pässwörd 🔑', 'x'.repeat(10_000)]) {
      expect(await vault.open(await vault.seal(plain, CTX), CTX)).toBe(plain)
    }
  })

  it('produces the compact v1 format and never contains the plaintext', async () => {
    const plain = 'AKIAIOSFODNN7EXAMPLE'
    const sealed = await vault.seal(plain, CTX)
    expect(sealed).toMatch(/^v1\.1\.[\w-]{16}\.[\w-]{22}\.[\w-]+$/)
    expect(sealed).not.toContain(plain)
    expect(sealed).not.toContain(Buffer.from(plain).toString('base64url'))
    expect(sealed.split('.')[4]).toHaveLength(Math.ceil((plain.length * 4) / 3))
  })

  it('uses a fresh IV on every seal', async () => {
    const ivs = new Set<string>()
    for (let i = 0; i < 100; i++) ivs.add((await vault.seal('same', CTX)).split('.')[2]!)
    expect(ivs.size).toBe(100)
  })

  it('refuses to open under another context', async () => {
    const sealed = await vault.seal('s3cr3t', 'backend:42|secret_access_key')
    for (const other of ['backend:43|secret_access_key', 'backend:42|access_key_id', 'x']) {
      const error = await failure(vault.open(sealed, other))
      expect(error.code).toBe('data_corruption')
      expect(error.details).toEqual({ reason: 'authentication_failed' })
    }
  })

  it('detects tampering with the IV, tag or ciphertext', async () => {
    const sealed = await vault.seal('s3cr3t', CTX)
    for (const index of [2, 3, 4]) {
      const error = await failure(vault.open(flip(sealed, index), CTX))
      expect(error.details?.reason).toBe('authentication_failed')
    }
  })

  it('rejects relabelling the key version (it is part of the AAD)', async () => {
    const both = vaultWith(2, { 1: k1, 2: k1 })
    const sealed = await both.seal('s3cr3t', CTX)
    const relabelled = sealed.replace(/^v1\.2\./, 'v1.1.')
    expect((await failure(both.open(relabelled, CTX))).details?.reason).toBe(
      'authentication_failed',
    )
  })

  it('rejects malformed values with data_corruption', async () => {
    const sealed = await vault.seal('s3cr3t', CTX)
    const [, , iv, tag, ct] = sealed.split('.')
    const malformed = [
      '',
      's3cr3t',
      sealed.replace(/^v1/, 'v2'),
      sealed.replace(/^v1\.1/, 'v1.0'),
      sealed.replace(/^v1\.1/, 'v1.01'),
      `v1.1.${iv}.${tag}`,
      `v1.1.${iv}.${tag!.slice(1)}.${ct}`,
      `v1.1.${iv}.${tag}.${ct}.extra`,
      `v1.1.${iv}.${tag}.${ct}=`,
    ]
    for (const value of malformed) {
      const error = await failure(vault.open(value, CTX))
      expect(error.code, value).toBe('data_corruption')
      expect(error.details?.reason, value).toBe('malformed')
    }
  })

  it('fails with internal_error for a key version the keyring lacks', async () => {
    const sealed = await vaultWith(2, { 2: k2 }).seal('s3cr3t', CTX)
    const error = await failure(vault.open(sealed, CTX))
    expect(error.code).toBe('internal_error')
    expect(error.details?.reason).toBe('unknown_key_version')
    expect(error.message).toContain('key version 2')
  })

  it('does not open with another key of the same version', async () => {
    const sealed = await vault.seal('s3cr3t', CTX)
    const other = vaultWith(1, { 1: k2 })
    expect((await failure(other.open(sealed, CTX))).details?.reason).toBe('authentication_failed')
  })

  it('requires a non-empty context', async () => {
    expect((await failure(vault.seal('s3cr3t', ''))).details?.reason).toBe('invalid_context')
  })

  it('rotates: seals with current, opens old versions, reseals under current', async () => {
    const old = await vault.seal('s3cr3t', CTX)
    const rotated = vaultWith(2, { 1: k1, 2: k2 })
    expect(rotated.needsReseal(old)).toBe(true)
    expect(rotated.keyVersionOf(old)).toBe(1)
    expect(await rotated.open(old, CTX)).toBe('s3cr3t')

    const fresh = await rotated.reseal(old, CTX)
    expect(fresh.startsWith('v1.2.')).toBe(true)
    expect(rotated.needsReseal(fresh)).toBe(false)
    expect(await rotated.open(fresh, CTX)).toBe('s3cr3t')
    // Once version 1 is retired, only the resealed value still opens.
    const retired = vaultWith(2, { 2: k2 })
    expect(await retired.open(fresh, CTX)).toBe('s3cr3t')
    expect((await failure(retired.open(old, CTX))).details?.reason).toBe('unknown_key_version')
  })

  it('reseal refuses to launder a value across contexts', async () => {
    const sealed = await vault.seal('s3cr3t', CTX)
    expect((await failure(vault.reseal(sealed, 'backend:43|x'))).code).toBe('data_corruption')
  })

  it('is isolated from later mutation of the caller keyring', async () => {
    const keys = new Map<number, Uint8Array>([[1, Uint8Array.from(k1)]])
    const mutable = createAesGcmVault({ keyring: { current: 1, keys } })
    const sealed = await mutable.seal('s3cr3t', CTX)
    keys.get(1)!.fill(0)
    keys.set(1, k2)
    expect(await mutable.open(sealed, CTX)).toBe('s3cr3t')
  })

  it('refuses an invalid keyring', () => {
    expect(() => vaultWith(1, { 1: randomBytes(16) })).toThrow(/32 bytes/)
    expect(() => vaultWith(2, { 1: k1 })).toThrow(/current key version 2/)
    expect(() => vaultWith(1, { 1: k1, 0: k2 })).toThrow(/positive integer/)
  })
})
