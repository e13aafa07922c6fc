import { isPStorageError, PStorageError } from '@pstorage/core'
import { describe, expect, it } from 'vitest'
import { connectionFailure, errorCodeOf, isMissing, s3Code, toStorageError } from './s3-errors.js'

/** An error shaped like the SDK's: `name` is the S3 code, `$metadata` the HTTP status. */
const s3Error = (name: string, status?: number) =>
  Object.assign(new Error(`${name}: contains SECRET-VALUE from the wire`), {
    name,
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
  })
const netError = (code: string) => Object.assign(new Error(`connect ${code}`), { code })

describe('s3 errors', () => {
  it('maps S3 codes, bodiless statuses and socket errors to stable codes', () => {
    const cases: [unknown, string][] = [
      [s3Error('NoSuchKey', 404), 'not_found'],
      [s3Error('NotFound', 404), 'not_found'],
      [s3Error('NoSuchBucket', 404), 'service_unavailable'],
      [s3Error('AccessDenied', 403), 'forbidden'],
      [s3Error('SignatureDoesNotMatch', 403), 'forbidden'],
      [s3Error('Unknown', 403), 'forbidden'],
      [s3Error('PreconditionFailed', 412), 'conflict'],
      [s3Error('ConditionalRequestConflict', 409), 'conflict'],
      [s3Error('InvalidRange', 416), 'range_not_satisfiable'],
      [s3Error('EntityTooLarge', 400), 'payload_too_large'],
      [s3Error('KeyTooLongError', 400), 'bad_request'],
      [s3Error('NotImplemented', 501), 'not_applicable'],
      [s3Error('SlowDown', 503), 'service_unavailable'],
      [s3Error('InternalError', 500), 'service_unavailable'],
      [s3Error('Whatever', 502), 'service_unavailable'],
      [s3Error('MalformedXML', 400), 'internal_error'],
      [netError('ECONNREFUSED'), 'service_unavailable'],
      [netError('ENOTFOUND'), 'service_unavailable'],
      [Object.assign(new Error('t'), { name: 'TimeoutError' }), 'service_unavailable'],
      [new TypeError('a bug'), 'internal_error'],
    ]
    for (const [error, code] of cases) expect(errorCodeOf(error), String(error)).toBe(code)
  })

  it('words errors with the API path only, keeping the SDK error as cause', () => {
    const cause = s3Error('AccessDenied', 403)
    const e = toStorageError(cause, '/isos/a.iso')
    expect(e).toBeInstanceOf(PStorageError)
    expect(e.message).toBe('[pstorage] [s3] /isos/a.iso: access denied by the S3 store')
    expect(e.message).not.toContain('SECRET')
    expect(e.cause).toBe(cause)
    expect(toStorageError(s3Error('NoSuchKey', 404), '/a').message).toBe(
      '[pstorage] [s3] /a not found',
    )
    expect(toStorageError(s3Error('NoSuchBucket', 404), '/a').message).toMatch(
      /bucket does not exist/,
    )
    const own = new PStorageError('conflict', 'mine')
    expect(toStorageError(own, '/a')).toBe(own)
    expect(isPStorageError(toStorageError(new Error('x'), '/a'), 'internal_error')).toBe(true)
  })

  it('tells a missing object from a missing bucket', () => {
    expect(isMissing(s3Error('NoSuchKey', 404))).toBe(true)
    expect(isMissing(s3Error('NotFound', 404))).toBe(true)
    expect(isMissing(s3Error('NoSuchBucket', 404))).toBe(false)
    expect(isMissing(s3Error('AccessDenied', 403))).toBe(false)
  })

  it('explains connection failures without echoing the error', () => {
    const cases: [unknown, RegExp][] = [
      [netError('ECONNREFUSED'), /unreachable/],
      [s3Error('NoSuchBucket', 404), /bucket does not exist/],
      [s3Error('InvalidAccessKeyId', 403), /access key ID is not known/],
      [s3Error('SignatureDoesNotMatch', 403), /secret access key does not match/],
      [s3Error('RequestTimeTooSkewed', 403), /clock/],
      [s3Error('PermanentRedirect', 301), /another region/],
      [s3Error('Unknown', 403), /Access denied/],
      [s3Error('InternalError', 500), /unavailable/],
      [s3Error('Odd', 418), /refused the request \(HTTP 418\)/],
    ]
    for (const [error, message] of cases) {
      expect(connectionFailure(error)).toMatch(message)
      expect(connectionFailure(error)).not.toContain('SECRET')
    }
    expect(s3Code(s3Error('SignatureDoesNotMatch', 403))).toBe('SignatureDoesNotMatch')
    expect(s3Code(s3Error('<script>', 400))).toBeUndefined()
  })
})
