import type { ServerResponse } from 'node:http'

/** The part of s3rver's file store the listing reads (s3rver 3.7 `FilesystemStore`). */
export interface S3rverStore {
  getBucket(name: string): Promise<unknown>
  listObjects(
    bucket: string,
    options: { prefix?: string; maxKeys?: number },
  ): Promise<{
    objects: { key: string; size: number; lastModifiedDate: Date; metadata: { etag?: string } }[]
  }>
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
}
const xml = (s: string) => s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!)
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))
const tag = (name: string, value: string | number | undefined) =>
  value === undefined ? '' : `<${name}>${xml(String(value))}</${name}>`

/**
 * True for a ListObjectsV2 request (`GET /bucket?list-type=2`), which {@link listObjectsV2}
 * answers instead of s3rver.
 *
 * @example
 * ```ts
 * if (isListObjectsV2('GET', url)) return listObjectsV2(store, url, res)
 * ```
 */
export function isListObjectsV2(method: string, url: URL): boolean {
  return method === 'GET' && url.searchParams.get('list-type') === '2' && bucketOf(url) !== ''
}

function bucketOf(url: URL): string {
  const m = /^\/([^/]+)\/?$/.exec(url.pathname)
  return m ? decodeURIComponent(m[1]!) : ''
}

/**
 * Answers ListObjectsV2 like S3 does, from s3rver's store: keys in UTF-8 byte order,
 * `Delimiter` roll-up into `CommonPrefixes`, `MaxKeys` counting keys and prefixes alike,
 * `StartAfter`, and continuation tokens (base64url of the last entry returned). s3rver's own
 * answer cannot be used: it encrypts its tokens with DES, which OpenSSL 3 (Node ≥ 17) refuses,
 * so every truncated listing fails with a 500, and it lists in directory-walk order.
 *
 * @example
 * ```ts
 * await listObjectsV2(s3rver.store, new URL(req.url, 'http://h'), res)
 * ```
 */
export async function listObjectsV2(
  store: S3rverStore,
  url: URL,
  res: ServerResponse,
): Promise<void> {
  const q = url.searchParams
  const bucket = bucketOf(url)
  res.setHeader('Content-Type', 'application/xml')
  if (!(await store.getBucket(bucket))) {
    res.statusCode = 404
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchBucket</Code>` +
        `<Message>The specified bucket does not exist</Message>${tag('BucketName', bucket)}</Error>`,
    )
    return
  }
  const prefix = q.get('prefix') ?? ''
  const delimiter = q.get('delimiter') ?? ''
  const maxKeys = Math.min(1000, Math.max(0, Number(q.get('max-keys') ?? 1000) || 0))
  const token = q.get('continuation-token')
  const after = token
    ? Buffer.from(token, 'base64url').toString('utf8')
    : (q.get('start-after') ?? '')
  const enc = q.get('encoding-type') === 'url' ? encodeURIComponent : (s: string) => s
  const { objects } = await store.listObjects(bucket, { prefix, maxKeys: Number.POSITIVE_INFINITY })
  objects.sort((a, b) => byteOrder(a.key, b.key))
  const contents: string[] = []
  const prefixes: string[] = []
  let last = ''
  let truncated = false
  for (const o of objects) {
    const cut = delimiter === '' ? -1 : o.key.indexOf(delimiter, prefix.length)
    const entry = cut < 0 ? o.key : o.key.slice(0, cut + delimiter.length)
    // Past the start; a prefix is returned once (a token naming it skips its keys).
    if (byteOrder(entry, after) <= 0 || entry === last) continue
    if (contents.length + prefixes.length === maxKeys) {
      truncated = maxKeys > 0
      break
    }
    last = entry
    if (cut >= 0) prefixes.push(`<CommonPrefixes>${tag('Prefix', enc(entry))}</CommonPrefixes>`)
    else
      contents.push(
        `<Contents>${tag('Key', enc(o.key))}${tag('LastModified', o.lastModifiedDate.toISOString())}` +
          `${tag('ETag', o.metadata.etag)}${tag('Size', o.size)}<StorageClass>STANDARD</StorageClass></Contents>`,
      )
  }
  res.statusCode = 200
  res.end(
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      tag('Name', bucket) +
      tag('Prefix', enc(prefix)) +
      (delimiter ? tag('Delimiter', enc(delimiter)) : '') +
      tag('MaxKeys', maxKeys) +
      tag('KeyCount', contents.length + prefixes.length) +
      tag('IsTruncated', String(truncated)) +
      (token ? tag('ContinuationToken', token) : '') +
      (q.has('start-after') ? tag('StartAfter', enc(q.get('start-after') ?? '')) : '') +
      (truncated ? tag('NextContinuationToken', Buffer.from(last).toString('base64url')) : '') +
      (q.get('encoding-type') === 'url' ? tag('EncodingType', 'url') : '') +
      contents.join('') +
      prefixes.join('') +
      '</ListBucketResult>',
  )
}
