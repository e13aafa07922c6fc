import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import { describe, expect, it } from 'vitest'
import { COPY_OBJECT_MAX_BYTES, copyObject, copyRanges, copySource, mapLimit } from './s3-copy.js'

const GiB = 1024 ** 3

type Sent = { readonly command: object; readonly input: Record<string, unknown> }

/** A client whose `send` records commands and answers like S3 (UploadPartCopy may fail). */
function stubClient(failPart?: number) {
  const sent: Sent[] = []
  let inFlight = 0
  let maxInFlight = 0
  const client = {
    async send(command: { input: Record<string, unknown> }) {
      sent.push({ command, input: command.input })
      if (command instanceof CreateMultipartUploadCommand) return { UploadId: 'up-1' }
      if (command instanceof UploadPartCopyCommand) {
        inFlight++
        maxInFlight = Math.max(maxInFlight, inFlight)
        await new Promise((r) => setTimeout(r, 1))
        inFlight--
        const part = command.input.PartNumber as number
        if (part === failPart) throw Object.assign(new Error('slow down'), { name: 'SlowDown' })
        return { CopyPartResult: { ETag: `"etag-${part}"` } }
      }
      return {}
    },
  }
  return {
    client: client as unknown as Pick<S3Client, 'send'>,
    sent,
    maxInFlight: () => maxInFlight,
  }
}

const info = (size: number) => ({
  key: 'pfx/big dir/disk+1.img',
  size,
  modified: new Date(),
  etag: '"src-etag"',
})

describe('s3 copy', () => {
  it('copies up to 5 GiB with one conditional CopyObject', async () => {
    const { client, sent } = stubClient()
    const opts = { ifNoneMatch: true, contentType: 'x/y' }
    await copyObject(client, 'bkt', info(COPY_OBJECT_MAX_BYTES), 'pfx/to.img', opts)
    expect(sent).toHaveLength(1)
    expect(sent[0]!.command).toBeInstanceOf(CopyObjectCommand)
    expect(sent[0]!.input).toEqual({
      Bucket: 'bkt',
      Key: 'pfx/to.img',
      CopySource: 'bkt/pfx/big%20dir/disk%2B1.img',
      CopySourceIfMatch: '"src-etag"',
      IfNoneMatch: '*',
    })
  })

  it('copies larger objects part by part (UploadPartCopy) and completes in order', async () => {
    const { client, sent, maxInFlight } = stubClient()
    const size = 12 * GiB + 7
    await copyObject(client, 'bkt', info(size), 'pfx/to.img', {
      ifNoneMatch: false,
      contentType: 'application/x-raw-disk-image',
    })
    const create = sent.filter((s) => s.command instanceof CreateMultipartUploadCommand)
    expect(create.map((s) => s.input.ContentType)).toEqual(['application/x-raw-disk-image'])
    const parts = sent.filter((s) => s.command instanceof UploadPartCopyCommand)
    expect(parts).toHaveLength(25) // 24 parts of 512 MiB and 7 bytes
    let next = 0
    for (const p of [...parts].sort(
      (a, b) => (a.input.PartNumber as number) - (b.input.PartNumber as number),
    )) {
      const [, start, end] = /^bytes=(\d+)-(\d+)$/.exec(p.input.CopySourceRange as string)!
      expect(Number(start)).toBe(next) // contiguous, no gap, no overlap
      next = Number(end) + 1
      expect(p.input).toMatchObject({ UploadId: 'up-1', CopySourceIfMatch: '"src-etag"' })
    }
    expect(next).toBe(size)
    expect(maxInFlight()).toBeLessThanOrEqual(4)
    const complete = sent.at(-1)!
    expect(complete.command).toBeInstanceOf(CompleteMultipartUploadCommand)
    const done = complete.input.MultipartUpload as { Parts: { PartNumber: number; ETag: string }[] }
    expect(done.Parts.map((p) => p.PartNumber)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1))
    expect(done.Parts[24]!.ETag).toBe('"etag-25"')
    expect(complete.input.IfNoneMatch).toBeUndefined()
  })

  it('aborts the multipart copy when a part fails, and reports the part error', async () => {
    const { client, sent } = stubClient(5)
    const error = await copyObject(client, 'bkt', info(6 * GiB), 'to', {
      ifNoneMatch: true,
      contentType: 'x/y',
    }).catch((e: unknown) => e)
    expect((error as Error).name).toBe('SlowDown')
    expect(sent.some((s) => s.command instanceof CompleteMultipartUploadCommand)).toBe(false)
    expect(sent.at(-1)!.command).toBeInstanceOf(AbortMultipartUploadCommand)
    expect(sent.at(-1)!.input).toEqual({ Bucket: 'bkt', Key: 'to', UploadId: 'up-1' })
  })

  it('keeps parts within S3 limits up to 50 TB', () => {
    for (const size of [COPY_OBJECT_MAX_BYTES + 1, 1024 * GiB, 50e12]) {
      const ranges = copyRanges(size)
      expect(ranges.length).toBeLessThanOrEqual(10_000)
      for (const r of ranges.slice(0, -1)) expect(r.end - r.start + 1).toBeLessThanOrEqual(5 * GiB)
      expect(ranges.at(-1)!.end).toBe(size - 1)
    }
  })

  it('encodes copy sources segment by segment', () => {
    expect(copySource('b', 'a dir/caf\u00e9?#%.txt')).toBe('b/a%20dir/caf%C3%A9%3F%23%25.txt')
  })

  it('mapLimit bounds concurrency and settles every call before rejecting', async () => {
    let running = 0
    let peak = 0
    let finished = 0
    const error = await mapLimit([1, 2, 3, 4, 5, 6], 3, async (n) => {
      running++
      peak = Math.max(peak, running)
      await new Promise((r) => setTimeout(r, n === 2 ? 1 : 5))
      running--
      finished++
      if (n === 2) throw new Error('two')
    }).catch((e: unknown) => e)
    expect((error as Error).message).toBe('two')
    expect(peak).toBe(3)
    expect(running).toBe(0) // nothing still in flight when it rejected
    expect(finished).toBeLessThan(6) // and no new item started after the failure
  })
})
