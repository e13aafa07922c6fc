import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'

/** The verdict of {@link checkSigV4}: `ok`, unsigned, or the S3 error code to answer. */
export type SigV4Verdict =
  | 'ok'
  | 'unsigned'
  | 'InvalidAccessKeyId'
  | 'SignatureDoesNotMatch'
  | 'AuthorizationHeaderMalformed'

/** A request as received: method, raw target (`/bucket/key?query`), headers. */
export interface SignedRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest()

/** RFC 3986 encoding, as SigV4 canonical query strings use it. */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

function canonicalQuery(query: string): string {
  const pairs = query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=')
      const [k, v] = i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)]
      return [uriEncode(decodeURIComponent(k)), uriEncode(decodeURIComponent(v))] as const
    })
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
  return pairs.map(([k, v]) => `${k}=${v}`).join('&')
}

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name]
  return (Array.isArray(v) ? v.join(',') : (v ?? '')).trim().replace(/\s+/g, ' ')
}

/**
 * Verifies the AWS Signature Version 4 of a header-signed request (AWS General Reference,
 * "Create a signed AWS API request"), which s3rver 3.7 does not: it accepts any secret.
 * The canonical URI is the path exactly as sent (S3 does not normalise or re-encode it),
 * and the payload hash is the `x-amz-content-sha256` the client signed; the body itself is
 * not hashed. Query-string (presigned) signatures are reported as `unsigned`.
 *
 * @example
 * ```ts
 * if (checkSigV4(req, { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }) !== 'ok') deny(res)
 * ```
 */
export function checkSigV4(
  req: SignedRequest,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
): SigV4Verdict {
  const authorization = req.headers.authorization
  if (authorization === undefined) return 'unsigned'
  const m = AUTHORIZATION.exec(authorization)
  if (!m) return 'AuthorizationHeaderMalformed'
  const [, keyId, date = '', region = '', service = '', signedHeaders = '', signature = ''] = m
  if (keyId !== credentials.accessKeyId) return 'InvalidAccessKeyId'
  const q = req.url.indexOf('?')
  const path = q < 0 ? req.url : req.url.slice(0, q)
  let query: string
  try {
    query = canonicalQuery(q < 0 ? '' : req.url.slice(q + 1))
  } catch {
    return 'AuthorizationHeaderMalformed' // a malformed %-escape
  }
  const names = signedHeaders.split(';')
  const canonical = [
    req.method,
    path,
    query,
    names.map((n) => `${n}:${headerValue(req.headers, n)}\n`).join(''),
    signedHeaders,
    headerValue(req.headers, 'x-amz-content-sha256') || 'UNSIGNED-PAYLOAD',
  ].join('\n')
  const scope = `${date}/${region}/${service}/aws4_request`
  const toSign = [
    'AWS4-HMAC-SHA256',
    headerValue(req.headers, 'x-amz-date'),
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n')
  let key = hmac(`AWS4${credentials.secretAccessKey}`, date)
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part)
  const expected = Buffer.from(hmac(key, toSign).toString('hex'))
  return timingSafeEqual(expected, Buffer.from(signature)) ? 'ok' : 'SignatureDoesNotMatch'
}
