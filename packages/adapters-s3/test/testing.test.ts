import { existsSync } from 'node:fs'
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type S3rverHandle, startS3rver } from '../src/testing.js'
import { putRaw, rawClient } from './s3-kit.js'

describe('startS3rver (test harness)', () => {
  let s3: S3rverHandle
  beforeAll(async () => {
    s3 = await startS3rver({ buckets: ['harness'] })
  })
  afterAll(() => s3?.stop())

  it('listens on loopback with s3rver credentials and a data directory', () => {
    expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect([s3.region, s3.accessKeyId, s3.secretAccessKey]).toEqual([
      'us-east-1',
      'S3RVER',
      'S3RVER',
    ])
    expect(existsSync(s3.directory)).toBe(true)
    expect(s3.driverOptions('b', 'p/')).toMatchObject({
      bucket: 'b',
      prefix: 'p/',
      forcePathStyle: true,
    })
  })

  it('refuses a wrongly signed PUT and stores nothing', async () => {
    const bad = rawClient(s3, { accessKeyId: 'S3RVER', secretAccessKey: 'wrong' })
    const error = await bad
      .send(new PutObjectCommand({ Bucket: 'harness', Key: 'x', Body: 'payload' }))
      .catch((e: unknown) => e as Error)
    expect((error as Error).name).toBe('SignatureDoesNotMatch')
    const good = rawClient(s3)
    const head = await good
      .send(new HeadObjectCommand({ Bucket: 'harness', Key: 'x' }))
      .catch((e: unknown) => e as Error)
    expect((head as Error).name).toBe('NotFound')
    bad.destroy()
    good.destroy()
  })

  it('lists like S3: byte order, delimiter roll-up, MaxKeys over keys and prefixes, tokens', async () => {
    const raw = rawClient(s3)
    await s3.createBucket('order')
    // '\uff21' < '\u{1f600}' in UTF-8 (and code points), the reverse in UTF-16.
    await putRaw(raw, 'order', ['p/\u{1f600}', 'p/\uff21', 'p/a-b', 'p/a/1', 'p/a/2', 'p/a.b', 'q'])
    const seen: string[] = []
    let token: string | undefined
    do {
      const page = await raw.send(
        new ListObjectsV2Command({
          Bucket: 'order',
          Prefix: 'p/',
          Delimiter: '/',
          MaxKeys: 2,
          ContinuationToken: token,
        }),
      )
      expect(page.KeyCount).toBeLessThanOrEqual(2)
      seen.push(...(page.CommonPrefixes ?? []).map((p) => `${p.Prefix}`))
      seen.push(...(page.Contents ?? []).map((o) => `${o.Key}`))
      token = page.NextContinuationToken
    } while (token !== undefined)
    expect(seen.sort()).toEqual(['p/a-b', 'p/a.b', 'p/a/', 'p/\uff21', 'p/\u{1f600}'].sort())
    const all = await raw.send(new ListObjectsV2Command({ Bucket: 'order', Prefix: 'p/' }))
    expect(all.Contents?.map((o) => o.Key)).toEqual([
      'p/a-b',
      'p/a.b',
      'p/a/1',
      'p/a/2',
      'p/\uff21',
      'p/\u{1f600}',
    ])
    const after = await raw.send(
      new ListObjectsV2Command({ Bucket: 'order', Prefix: 'p/', StartAfter: 'p/a/1' }),
    )
    expect(after.Contents?.map((o) => o.Key)).toEqual(['p/a/2', 'p/\uff21', 'p/\u{1f600}'])
    const missing = await raw
      .send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' }))
      .catch((e: unknown) => e as Error)
    expect((missing as Error).name).toBe('NoSuchBucket')
    raw.destroy()
  })

  it('stops idempotently, deleting its directory and closing its port', async () => {
    const other = await startS3rver()
    const raw = rawClient(other)
    await other.createBucket('gone')
    await Promise.all([other.stop(), other.stop()])
    expect(existsSync(other.directory)).toBe(false)
    const error = await raw
      .send(new ListObjectsV2Command({ Bucket: 'gone' }))
      .catch((e: unknown) => e as Error)
    expect((error as { code?: string }).code).toBe('ECONNREFUSED')
    raw.destroy()
  })
})
