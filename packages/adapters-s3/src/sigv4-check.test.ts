import { describe, expect, it } from 'vitest'
import { checkSigV4 } from './sigv4-check.js'

// The worked examples of the S3 API reference, "Signature calculations for the Authorization
// header: transferring payload in a single chunk (AWS Signature Version 4)".
const CREDENTIALS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
}
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
const auth = (signedHeaders: string, signature: string) =>
  `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signedHeaders},Signature=${signature}`

const getObject = {
  method: 'GET',
  url: '/test.txt',
  headers: {
    host: 'examplebucket.s3.amazonaws.com',
    range: 'bytes=0-9',
    'x-amz-content-sha256': EMPTY_SHA256,
    'x-amz-date': '20130524T000000Z',
    authorization: auth(
      'host;range;x-amz-content-sha256;x-amz-date',
      'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    ),
  },
}

const listObjects = {
  method: 'GET',
  url: '/?max-keys=2&prefix=J',
  headers: {
    host: 'examplebucket.s3.amazonaws.com',
    'x-amz-content-sha256': EMPTY_SHA256,
    'x-amz-date': '20130524T000000Z',
    authorization: auth(
      'host;x-amz-content-sha256;x-amz-date',
      '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
    ),
  },
}

describe('SigV4 check (test harness)', () => {
  it('accepts the signatures of the S3 API reference examples', () => {
    expect(checkSigV4(getObject, CREDENTIALS)).toBe('ok')
    expect(checkSigV4(listObjects, CREDENTIALS)).toBe('ok')
  })

  it('refuses a wrong secret, a tampered request and an unknown key', () => {
    expect(checkSigV4(getObject, { ...CREDENTIALS, secretAccessKey: 'nope' })).toBe(
      'SignatureDoesNotMatch',
    )
    const tampered = { ...getObject, headers: { ...getObject.headers, range: 'bytes=0-99' } }
    expect(checkSigV4(tampered, CREDENTIALS)).toBe('SignatureDoesNotMatch')
    expect(checkSigV4({ ...listObjects, url: '/?max-keys=3&prefix=J' }, CREDENTIALS)).toBe(
      'SignatureDoesNotMatch',
    )
    expect(checkSigV4(getObject, { ...CREDENTIALS, accessKeyId: 'OTHER' })).toBe(
      'InvalidAccessKeyId',
    )
  })

  it('passes unsigned requests on and flags malformed headers', () => {
    const { authorization: _, ...unsigned } = getObject.headers
    expect(checkSigV4({ ...getObject, headers: unsigned }, CREDENTIALS)).toBe('unsigned')
    const malformed = { ...getObject.headers, authorization: 'AWS AKIA:c2ln' }
    expect(checkSigV4({ ...getObject, headers: malformed }, CREDENTIALS)).toBe(
      'AuthorizationHeaderMalformed',
    )
  })
})
