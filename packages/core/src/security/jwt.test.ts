import { randomBytes } from 'node:crypto'
import { generateKeyPair, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import type { Clock } from '../ports/clock.js'
import { createJwtService, type JwtServiceOptions } from './jwt.js'

const T0 = new Date('2025-01-15T10:00:00Z')
const T0_S = T0.getTime() / 1000
const SECRET = randomBytes(32)
const ISS = 'https://pstorage.test'
const AUD = 'pstorage-api'
const USER = { sub: 'user-1', role: 'operator', tv: 3 } as const

function fakeClock(start = T0) {
  let now = start.getTime()
  const clock: Clock = { now: () => new Date(now) }
  const advance = (seconds: number) => {
    now += seconds * 1000
  }
  return { clock, advance }
}

function service(overrides: Partial<JwtServiceOptions> = {}) {
  const time = fakeClock()
  const jwt = createJwtService({
    secret: SECRET,
    issuer: ISS,
    audience: AUD,
    clock: time.clock,
    ...overrides,
  })
  return { jwt, ...time }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A token signed with SECRET (or `key`) but otherwise fully under the test's control. */
function craft(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: Uint8Array = SECRET,
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', ...header } as { alg: string })
    .sign(key)
}

const goodClaims = () => ({
  sub: 'user-1',
  role: 'operator',
  tv: 3,
  jti: 'j-1',
  iss: ISS,
  aud: AUD,
  iat: T0_S,
  exp: T0_S + 900,
})

async function rejection(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, 'expected a rejection').toMatchObject({ code: 'unauthorized' })
  return (error as { details: { reason: string } }).details.reason
}

describe('createJwtService', () => {
  it('issues HS256 at+jwt tokens with the required claims and a 15-minute default', async () => {
    const { jwt } = service()
    const { token, claims } = await jwt.issue(USER)
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()))
    expect(header).toEqual({ alg: 'HS256', typ: 'at+jwt' })
    expect(payload).toEqual({
      ...USER,
      iss: ISS,
      aud: AUD,
      iat: T0_S,
      exp: T0_S + 900,
      jti: claims.jti,
    })
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/)
    expect(await jwt.verify(token)).toEqual(claims)
  })

  it('gives every token a distinct jti', async () => {
    const { jwt } = service()
    const a = await jwt.issue(USER)
    const b = await jwt.issue(USER)
    expect(a.claims.jti).not.toBe(b.claims.jti)
  })

  it('accepts a token crafted with exactly the expected shape', async () => {
    const { jwt } = service()
    expect((await jwt.verify(await craft({ typ: 'at+jwt' }, goodClaims()))).tv).toBe(3)
  })

  it('rejects an expired token, honouring up to 60 s of skew', async () => {
    const { jwt, advance } = service()
    const { token } = await jwt.issue(USER)
    advance(900 + 59)
    expect((await jwt.verify(token)).sub).toBe('user-1')
    advance(2)
    expect(await rejection(jwt.verify(token))).toBe('expired')
  })

  it('honours a smaller configured skew', async () => {
    const { jwt, advance } = service({ clockToleranceSeconds: 10 })
    const { token } = await jwt.issue(USER)
    advance(900 + 11)
    expect(await rejection(jwt.verify(token))).toBe('expired')
  })

  it('rejects tokens issued in the future beyond the skew', async () => {
    const { jwt } = service()
    const claims = { ...goodClaims(), iat: T0_S + 30, exp: T0_S + 930 }
    expect((await jwt.verify(await craft({ typ: 'at+jwt' }, claims))).iat).toBe(T0_S + 30)
    const later = { ...goodClaims(), iat: T0_S + 120, exp: T0_S + 1020 }
    expect(await rejection(jwt.verify(await craft({ typ: 'at+jwt' }, later)))).toBe('invalid')
  })

  it('caps the usable life at ttl even if exp is far away', async () => {
    const { jwt, advance } = service()
    const token = await craft({ typ: 'at+jwt' }, { ...goodClaims(), exp: T0_S + 86_400 })
    advance(900 + 61)
    await rejection(jwt.verify(token))
  })

  it('rejects alg "none"', async () => {
    const { jwt } = service()
    const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(goodClaims())}.`
    expect(await rejection(jwt.verify(token))).toBe('invalid')
  })

  it('rejects other algorithms even with the same key', async () => {
    const { jwt } = service()
    for (const alg of ['HS384', 'HS512']) {
      await rejection(jwt.verify(await craft({ alg, typ: 'at+jwt' }, goodClaims())))
    }
  })

  it('rejects asymmetric algorithms (no HS/RS confusion)', async () => {
    const { jwt } = service()
    const { privateKey } = await generateKeyPair('ES256')
    const token = await new SignJWT(goodClaims())
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .sign(privateKey)
    expect(await rejection(jwt.verify(token))).toBe('invalid')
  })

  it('rejects a token signed with another key', async () => {
    const { jwt } = service()
    await rejection(jwt.verify(await craft({ typ: 'at+jwt' }, goodClaims(), randomBytes(32))))
    const other = service({ secret: randomBytes(32) }).jwt
    await rejection(jwt.verify((await other.issue(USER)).token))
  })

  it('rejects a tampered payload', async () => {
    const { jwt } = service()
    const { token } = await jwt.issue(USER)
    const [h, , s] = token.split('.')
    await rejection(jwt.verify(`${h}.${b64({ ...goodClaims(), role: 'admin' })}.${s}`))
  })

  it('rejects wrong or missing typ, so refresh or ID tokens never pass as access', async () => {
    const { jwt } = service()
    for (const typ of ['JWT', 'refresh+jwt', 'rt+jwt', undefined]) {
      const header = typ === undefined ? {} : { typ }
      await rejection(jwt.verify(await craft(header, goodClaims())))
    }
  })

  it('rejects a wrong issuer or audience', async () => {
    const { jwt } = service()
    await rejection(jwt.verify(await craft({ typ: 'at+jwt' }, { ...goodClaims(), iss: 'evil' })))
    await rejection(jwt.verify(await craft({ typ: 'at+jwt' }, { ...goodClaims(), aud: 'other' })))
    const elsewhere = service({ audience: 'pstorage-admin' }).jwt
    await rejection(elsewhere.verify((await service().jwt.issue(USER)).token))
  })

  it('rejects missing or malformed claims', async () => {
    const { jwt } = service()
    const broken: Array<Record<string, unknown>> = []
    for (const claim of ['sub', 'role', 'tv', 'jti', 'iat', 'exp', 'iss', 'aud']) {
      const claims: Record<string, unknown> = goodClaims()
      delete claims[claim]
      broken.push(claims)
    }
    broken.push(
      { ...goodClaims(), role: 'root' },
      { ...goodClaims(), tv: '3' },
      { ...goodClaims(), sub: '' },
    )
    for (const claims of broken) {
      await rejection(jwt.verify(await craft({ typ: 'at+jwt' }, claims)))
    }
  })

  it('rejects garbage and oversized input without throwing anything but unauthorized', async () => {
    const { jwt } = service()
    for (const token of ['', 'abc', 'a.b.c', `${'a'.repeat(5000)}.b.c`, 42 as unknown as string]) {
      expect(await rejection(jwt.verify(token))).toBe('invalid')
    }
  })

  it('refuses a key shorter than 256 bits and other unsafe settings', () => {
    expect(() => service({ secret: randomBytes(31) })).toThrow(/at least 32/)
    expect(() => service({ clockToleranceSeconds: 61 })).toThrow(/clockTolerance/)
    expect(() => service({ ttlSeconds: 0 })).toThrow(/ttl/)
    expect(() => service({ issuer: '' })).toThrow(/issuer/)
  })

  it('is not affected by later changes to the secret buffer', async () => {
    const secret = randomBytes(32)
    const { jwt } = service({ secret })
    const { token } = await jwt.issue(USER)
    secret.fill(0)
    expect((await jwt.verify(token)).sub).toBe('user-1')
  })
})
