import { createHash } from 'node:crypto'
import { createServer } from 'node:net'
import type { S3Client } from '@aws-sdk/client-s3'
import {
  type BackendDriver,
  bytesSource,
  isPStorageError,
  readAllBytes,
  releaseBytes,
  requireOp,
} from '@pstorage/core'
import { pseudoRandomBytes, runBackendDriverSuite, TRAVERSAL_CASES } from '@pstorage/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createS3Driver, DRIVER_NAME, type S3DriverOptions } from '../src/index.js'
import { type S3rverHandle, startS3rver } from '../src/testing.js'
import { bucketKeys, putRaw, rawClient, recordingClient } from './s3-kit.js'

const MiB = 1024 * 1024
const enc = new TextEncoder()
const dec = new TextDecoder()
/** The suite's backend root: a prefix, so every test also proves prefix confinement. */
const PREFIX = 'tenants/t1/'
/** Keys outside the prefix, two of them sharing its leading characters. */
const SENTINELS = ['outside.txt', 'tenants/t1', 'tenants/t1-sibling/x.txt', 'tenants/t10/y.iso']

let s3: S3rverHandle
let raw: S3Client
let buckets = 0
let bucket = ''

beforeAll(async () => {
  s3 = await startS3rver()
  raw = rawClient(s3)
})
afterAll(async () => {
  raw?.destroy()
  await s3?.stop()
})

async function freshBucket(): Promise<string> {
  const name = `t-${++buckets}-${process.pid}`
  await s3.createBucket(name)
  return name
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => (isPStorageError(e) ? e.code : String(e)),
  )
}

const text = async (d: BackendDriver, path: string) =>
  dec.decode(await readAllBytes((await d.read(path)).stream))

runBackendDriverSuite({
  name: DRIVER_NAME,
  async create() {
    bucket = await freshBucket()
    await putRaw(raw, bucket, SENTINELS)
    return createS3Driver(s3.driverOptions(bucket, PREFIX))
  },
  async destroy() {
    // Whatever the test did through the driver, nothing outside its prefix changed.
    const outside = (await bucketKeys(raw, bucket)).filter((k) => !k.startsWith(PREFIX))
    expect(outside.map((k) => k.split(' ')[0])).toEqual([...SENTINELS].sort())
  },
  extra(get) {
    describe('s3: keys, prefixes and foreign objects', () => {
      it('stores objects at prefix + path, markers for folders, and nothing else', async () => {
        const d = get()
        await requireOp(d, 'write')('/isos/alpine.iso', bytesSource(enc.encode('iso')))
        await requireOp(d, 'mkdir')('/empty')
        expect((await bucketKeys(raw, bucket, PREFIX)).map((k) => k.split(' ')[0])).toEqual([
          'tenants/t1/empty/',
          'tenants/t1/isos/alpine.iso',
        ])
      })

      it('keeps to prefix a/: never sees or touches keys outside it', async () => {
        const b = await freshBucket()
        const outside = ['outside.txt', 'a', 'ab.txt', 'a-b/c.txt', 'b/a/x', 'b/keep.txt']
        await putRaw(raw, b, [...outside, 'a/inside.txt'])
        const before = (await bucketKeys(raw, b)).filter((k) => !k.startsWith('a/'))
        const d = createS3Driver(s3.driverOptions(b, 'a'))
        try {
          expect((await d.list('/')).items.map((i) => i.path)).toEqual(['/inside.txt'])
          expect(await codeOf(d.stat('/outside.txt'))).toBe('not_found')
          expect(await codeOf(d.stat('/a-b'))).toBe('not_found')
          await requireOp(d, 'write')('/b/a/x', bytesSource(enc.encode('mine')))
          await requireOp(d, 'write')('/b/keep.txt', bytesSource(enc.encode('mine')))
          await requireOp(d, 'mkdir')('/d')
          await requireOp(d, 'move')('/inside.txt', '/d/moved.txt')
          await requireOp(d, 'move')('/d', '/e')
          expect(await requireOp(d, 'stats')()).toMatchObject({ file_count: 3, used_bytes: 20 })
          const del = await requireOp(d, 'delete')(['/b', '/e'])
          expect(del.every((r) => r.deleted)).toBe(true)
          expect(await d.list('/')).toEqual({ items: [] })
          // The raw bucket: everything outside a/ as it was (same ETags), and a/ now empty.
          expect((await bucketKeys(raw, b)).filter((k) => !k.startsWith('a/'))).toEqual(before)
          expect(await bucketKeys(raw, b, 'a/')).toEqual([])
        } finally {
          await d.close()
        }
      })

      it('creates or deletes no key anywhere for any traversal case', async () => {
        const b = await freshBucket()
        await putRaw(raw, b, ['etc/passwd', 'a/b/ok.txt', 'a/secret.txt'])
        const before = await bucketKeys(raw, b)
        const d = createS3Driver(s3.driverOptions(b, 'a/b/'))
        try {
          const source = async function* () {
            yield enc.encode('x')
          }
          for (const c of TRAVERSAL_CASES) {
            const calls = [
              requireOp(d, 'write')(c.path, source(), { overwrite: true }),
              requireOp(d, 'mkdir')(c.path),
              requireOp(d, 'delete')([c.path]),
              requireOp(d, 'move')('/ok.txt', c.path, { overwrite: true }),
              requireOp(d, 'move')(c.path, '/x'),
            ]
            for (const call of calls) expect(await codeOf(call), c.note).toBe('bad_request')
          }
          expect(await bucketKeys(raw, b)).toEqual(before)
        } finally {
          await d.close()
        }
      })

      it('refuses paths whose key would pass 1024 bytes, before any request', async () => {
        const { client, calls } = recordingClient(s3)
        const d = createS3Driver({ ...s3.driverOptions(bucket, PREFIX), client })
        // 1205 bytes: within the API's limits (4096, 255 per name), past S3's 1024-byte keys.
        const long = `/${['d', 'e', 'f', 'g', 'h', 'i'].map((c) => c.repeat(200)).join('/')}`
        try {
          expect(await codeOf(d.stat(long))).toBe('bad_request')
          expect(await codeOf(requireOp(d, 'write')(long, bytesSource(enc.encode('x'))))).toBe(
            'bad_request',
          )
          expect(await codeOf(requireOp(d, 'delete')(['/ok', long]))).toBe('bad_request')
          expect(calls).toEqual([])
        } finally {
          await d.close()
          client.destroy()
        }
      })

      it('hides foreign keys the API cannot address, and prefers a file over a folder', async () => {
        await putRaw(raw, bucket, [
          `${PREFIX}cafe\u0301.txt`, // NFD: the API would store it as NFC
          `${PREFIX}back\\slash`,
          `${PREFIX}pct%2e%2e`,
          `${PREFIX}f`,
          `${PREFIX}f/x`,
          `${PREFIX}ok.txt`,
        ])
        const d = get()
        expect((await d.list('/')).items.map((i) => [i.name, i.type])).toEqual([
          ['f', 'directory'],
          ['f', 'file'],
          ['ok.txt', 'file'],
        ])
        expect((await d.stat('/f')).type).toBe('file')
        expect(await text(d, '/f/x')).toBe(`${PREFIX}f/x`)
        expect(await requireOp(d, 'delete')(['/f'])).toEqual([{ path: '/f', deleted: true }])
        expect(await codeOf(d.stat('/f'))).toBe('not_found')
        expect(await codeOf(d.stat('/f/x'))).toBe('not_found')
      })

      it('pages through many folders and files in name order, whatever the page size', async () => {
        // S3 orders prefixes as 'a b/' < 'a-b/' < 'a.b/' < 'a/' ('/' is 0x2F); names sort
        // 'a' < 'a b' < 'a-b' < 'a.b'. Pages must follow names, and cut anywhere.
        // Folders f2d/, f5d/… sit between files in key order: a files-only scan past a file
        // cursor meets them and must keep reading until it has enough files.
        const dirs = ['a', 'a b', 'a-b', 'a.b', 'f2d', 'f5d', 'f8d', 'f10d']
        dirs.push(...Array.from({ length: 17 }, (_, i) => `d${i}`))
        const files = Array.from({ length: 12 }, (_, i) => `f${i}`)
        await putRaw(raw, bucket, [
          ...dirs.map((d) => `${PREFIX}${d}/x`),
          ...files.map((f) => `${PREFIX}${f}`),
        ])
        const d = get()
        const full = (await d.list('/')).items.map((i) => i.name)
        expect(full.slice(0, 4)).toEqual(['a', 'a b', 'a-b', 'a.b'])
        expect(full).toHaveLength(dirs.length + files.length)
        for (const limit of [1, 4, 7, 25, 26]) {
          const seen: string[] = []
          let cursor: string | undefined
          do {
            const page = await d.list('/', cursor === undefined ? { limit } : { limit, cursor })
            expect(page.items.length).toBeLessThanOrEqual(limit)
            seen.push(...page.items.map((i) => i.name))
            cursor = page.next_cursor
          } while (cursor !== undefined)
          expect(seen, `limit ${limit}`).toEqual(full)
        }
      }, 60_000)

      it('reads ranges of an empty object as zero bytes', async () => {
        const d = get()
        await requireOp(d, 'write')('/empty', bytesSource(new Uint8Array(0)))
        for (const range of [{ length: 3 }, { offset: 0, length: 0 }, { offset: 0 }]) {
          const r = await d.read('/empty', range)
          expect([r.size, r.offset, r.length]).toEqual([0, 0, 0])
          expect((await readAllBytes(r.stream)).length).toBe(0)
        }
        expect(await codeOf(d.read('/empty', { offset: 1 }))).toBe('range_not_satisfiable')
      })

      it('hands out read chunks the consumer owns, each in a buffer of its own', async () => {
        const d = get()
        const data = pseudoRandomBytes(6 * MiB + 123, 6)
        await requireOp(d, 'write')('/owned.bin', bytesSource(data))
        const r = await d.read('/owned.bin')
        expect(r.ownedChunks).toBe(true)
        const buffers = new Set<ArrayBufferLike>()
        const hash = createHash('sha256')
        let freed = 0
        // Node's default pool size (vitest's workers raise it): releaseBytes frees chunks
        // larger than 8 KiB, as it would in the server.
        const poolSize = Buffer.poolSize
        Buffer.poolSize = 8 * 1024
        try {
          for await (const chunk of r.stream as AsyncIterable<Uint8Array>) {
            // At the start of a buffer no other chunk shares (a socket read's may be longer).
            expect(chunk.byteOffset).toBe(0)
            expect(buffers.has(chunk.buffer)).toBe(false)
            buffers.add(chunk.buffer)
            hash.update(chunk)
            // What a consumer told so may do: free each chunk once used. Later ones stay whole.
            if (releaseBytes(chunk)) freed++
          }
        } finally {
          Buffer.poolSize = poolSize
        }
        expect(freed).toBeGreaterThan(1)
        expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'))
      })

      it('bounds stats and says so', async () => {
        const d = get()
        for (const n of ['a.iso', 'b.iso', 'c.iso'])
          await requireOp(d, 'write')(`/${n}`, bytesSource(enc.encode('x')))
        const bounded = createS3Driver({ ...s3.driverOptions(bucket, PREFIX), statsMaxObjects: 2 })
        const stats = await requireOp(bounded, 'stats')()
        expect(stats).toMatchObject({ truncated: true, file_count: 2 })
        expect((await requireOp(d, 'stats')()).truncated).toBeUndefined()
        await bounded.close()
      })
    })

    describe('s3: writes', () => {
      it('sends If-None-Match: * exactly on non-overwriting creates', async () => {
        const { client, calls } = recordingClient(s3)
        const opts = { ...s3.driverOptions(bucket, PREFIX), client }
        const d = createS3Driver(opts)
        const off = createS3Driver({ ...opts, conditionalWrites: false })
        try {
          await requireOp(d, 'write')('/a.txt', bytesSource(enc.encode('1')))
          await requireOp(d, 'write')('/a.txt', bytesSource(enc.encode('2')), { overwrite: true })
          await requireOp(d, 'mkdir')('/dir')
          await requireOp(d, 'move')('/a.txt', '/b.txt')
          await requireOp(off, 'write')('/c.txt', bytesSource(enc.encode('3')))
          const conditional = calls
            .filter((c) => ['PutObjectCommand', 'CopyObjectCommand'].includes(c.name))
            .map((c) => [c.name, c.input.Key, c.input.IfNoneMatch])
          expect(conditional).toEqual([
            ['PutObjectCommand', `${PREFIX}a.txt`, '*'],
            ['PutObjectCommand', `${PREFIX}a.txt`, undefined],
            ['PutObjectCommand', `${PREFIX}dir/`, '*'],
            ['CopyObjectCommand', `${PREFIX}b.txt`, '*'],
            ['PutObjectCommand', `${PREFIX}c.txt`, undefined],
          ])
        } finally {
          await d.close()
          client.destroy()
        }
      })

      it('streams 64 MiB as a multipart upload, never buffering it, and reads it back', async () => {
        const partSizeBytes = 8 * MiB
        let uploaded = 0
        const { client, calls } = recordingClient(s3, (call) => {
          if (call.name === 'UploadPartCommand')
            uploaded += (call.input.Body as Uint8Array).byteLength
        })
        const d = createS3Driver({ ...s3.driverOptions(bucket, PREFIX), client, partSizeBytes })
        const data = pseudoRandomBytes(64 * MiB, 64)
        let pulled = 0
        let maxAhead = 0
        const source = async function* () {
          for (let at = 0; at < data.length; at += MiB) {
            maxAhead = Math.max(maxAhead, pulled - uploaded)
            pulled += MiB
            yield data.subarray(at, at + MiB)
          }
        }
        try {
          const st = await requireOp(d, 'write')('/big/disk.img', source())
          expect(st).toMatchObject({ size: 64 * MiB, mime_type: 'application/x-raw-disk-image' })
          const names = calls.map((c) => c.name)
          expect(names.filter((n) => n === 'CreateMultipartUploadCommand')).toHaveLength(1)
          expect(names.filter((n) => n === 'UploadPartCommand')).toHaveLength(8)
          expect(names.filter((n) => n === 'CompleteMultipartUploadCommand')).toHaveLength(1)
          expect(names).not.toContain('PutObjectCommand')
          // At most 4 parts in flight plus the one filling (and a chunk): never the whole file.
          expect(maxAhead).toBeLessThanOrEqual(5 * partSizeBytes + MiB)
          const read = await d.read('/big/disk.img')
          const hash = createHash('sha256')
          for await (const chunk of read.stream as AsyncIterable<Uint8Array>) hash.update(chunk)
          expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'))
          // A range across the boundary of parts 1 and 2.
          const r = await d.read('/big/disk.img', { offset: partSizeBytes - 100, length: MiB })
          expect([r.size, r.offset, r.length]).toEqual([64 * MiB, partSizeBytes - 100, MiB])
          const bytes = await readAllBytes(r.stream)
          expect(
            Buffer.from(bytes).equals(
              data.subarray(partSizeBytes - 100, partSizeBytes - 100 + MiB),
            ),
          ).toBe(true)
        } finally {
          await d.close()
          client.destroy()
        }
      }, 60_000)

      it('cuts parts from chunks of any size into at most three reused part buffers', async () => {
        const partSizeBytes = 5 * MiB
        const { client, calls } = recordingClient(s3)
        // The part buffers each UploadPart was sent from, taken when the call is made.
        const sentFrom: ArrayBufferLike[] = []
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const body = (args.input as { Body?: unknown }).Body
            if (context.commandName === 'UploadPartCommand' && body instanceof Uint8Array)
              sentFrom.push(body.buffer)
            return next(args)
          },
          { step: 'initialize', name: 'partBuffers' },
        )
        const d = createS3Driver({ ...s3.driverOptions(bucket, PREFIX), client, partSizeBytes })
        const data = pseudoRandomBytes(37 * MiB + 12_345, 37)
        const piece = 300 * 1024 + 7 // parts never align with chunks
        try {
          const source = async function* () {
            for (let at = 0; at < data.length; at += piece) yield data.subarray(at, at + piece)
          }
          const st = await requireOp(d, 'write')('/odd.bin', source())
          expect(st.size).toBe(data.length)
          const parts = calls.filter((c) => c.name === 'UploadPartCommand').map((c) => c.input)
          expect(parts.map((p) => p.PartNumber)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
          expect(parts.map((p) => p.ContentLength)).toEqual([
            ...Array(7).fill(partSizeBytes),
            data.length - 7 * partSizeBytes,
          ])
          expect(sentFrom).toHaveLength(8)
          expect(new Set(sentFrom).size).toBeLessThanOrEqual(3)
          const complete = calls.find((c) => c.name === 'CompleteMultipartUploadCommand')!.input
          const listed = (complete.MultipartUpload as { Parts: { PartNumber: number }[] }).Parts
          expect(listed.map((p) => p.PartNumber)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
          const back = Buffer.from(await readAllBytes((await d.read('/odd.bin')).stream))
          expect(back.equals(data)).toBe(true)
        } finally {
          await d.close()
          client.destroy()
        }
      }, 60_000)

      it('sends exactly one part as a single PUT, and one byte more as two parts', async () => {
        const partSizeBytes = 5 * MiB
        const { client, calls } = recordingClient(s3)
        const d = createS3Driver({ ...s3.driverOptions(bucket, PREFIX), client, partSizeBytes })
        try {
          for (const size of [0, partSizeBytes, partSizeBytes + 1]) {
            calls.length = 0
            const data = pseudoRandomBytes(size, size)
            await requireOp(d, 'write')(`/s${size}.bin`, bytesSource(data))
            const names = calls.map((c) => c.name).filter((n) => n !== 'HeadObjectCommand')
            if (size <= partSizeBytes) {
              expect(names).toContain('PutObjectCommand')
              expect(names).not.toContain('CreateMultipartUploadCommand')
            } else {
              expect(names.filter((n) => n === 'UploadPartCommand')).toHaveLength(2)
              expect(names).toContain('CompleteMultipartUploadCommand')
            }
            const back = Buffer.from(await readAllBytes((await d.read(`/s${size}.bin`)).stream))
            expect(back.equals(Buffer.from(data))).toBe(true)
          }
        } finally {
          await d.close()
          client.destroy()
        }
      }, 60_000)

      it('aborts the upload and keeps the old object when the store fails a part', async () => {
        const partSizeBytes = 5 * MiB
        const { client, calls } = recordingClient(s3, (call) => {
          if (call.name === 'UploadPartCommand' && call.input.PartNumber === 2)
            throw new Error('connection reset by the store')
        })
        const d = createS3Driver({ ...s3.driverOptions(bucket, PREFIX), client, partSizeBytes })
        try {
          await requireOp(d, 'write')('/keep2.bin', bytesSource(enc.encode('old')))
          const err = await requireOp(d, 'write')(
            '/keep2.bin',
            bytesSource(pseudoRandomBytes(4 * partSizeBytes, 5)),
            { overwrite: true },
          ).catch((e: unknown) => e)
          expect(isPStorageError(err)).toBe(true)
          const names = calls.map((c) => c.name)
          expect(names).toContain('AbortMultipartUploadCommand')
          expect(names).not.toContain('CompleteMultipartUploadCommand')
          // Nothing was started after the failure was seen: at most the parts in flight.
          expect(names.filter((n) => n === 'UploadPartCommand').length).toBeLessThanOrEqual(3)
          expect(await text(d, '/keep2.bin')).toBe('old')
        } finally {
          await d.close()
          client.destroy()
        }
      }, 60_000)

      it('keeps the old object when a multipart upload fails mid-way', async () => {
        const d = get()
        await requireOp(d, 'write')('/keep.bin', bytesSource(enc.encode('old')))
        const boom = new Error('client went away')
        const failing = async function* () {
          yield pseudoRandomBytes(20 * MiB, 3) // more than two parts: the upload is multipart
          throw boom
        }
        const err = await requireOp(d, 'write')('/keep.bin', failing(), { overwrite: true }).catch(
          (e: unknown) => e,
        )
        expect(err).toBe(boom)
        expect(await text(d, '/keep.bin')).toBe('old')
        expect((await d.list('/')).items.map((i) => i.name)).toEqual(['keep.bin'])
      })
    })

    describe('s3: big directories', () => {
      it('lists, moves and deletes a folder of more than 1000 keys', async () => {
        const keys = Array.from(
          { length: 1005 },
          (_, i) => `${PREFIX}big/k${String(i).padStart(4, '0')}`,
        )
        await putRaw(raw, bucket, keys)
        const { client, calls } = recordingClient(s3)
        const d = createS3Driver({ ...s3.driverOptions(bucket, PREFIX), client })
        try {
          const seen: string[] = []
          let cursor: string | undefined
          do {
            const page = await d.list(
              '/big',
              cursor === undefined ? { limit: 400 } : { limit: 400, cursor },
            )
            seen.push(...page.items.map((i) => i.name))
            cursor = page.next_cursor
          } while (cursor !== undefined)
          expect(seen).toEqual(keys.map((k) => k.slice(`${PREFIX}big/`.length)))
          await requireOp(d, 'move')('/big', '/moved')
          expect(await bucketKeys(raw, bucket, `${PREFIX}big/`)).toEqual([])
          expect(await bucketKeys(raw, bucket, `${PREFIX}moved/`)).toHaveLength(1005)
          expect(await text(d, '/moved/k1004')).toBe(`${PREFIX}big/k1004`)
          calls.length = 0
          expect(await requireOp(d, 'delete')(['/moved'])).toEqual([
            { path: '/moved', deleted: true },
          ])
          expect(calls.filter((c) => c.name === 'DeleteObjectsCommand')).toHaveLength(2)
          expect(await bucketKeys(raw, bucket, PREFIX)).toEqual([])
        } finally {
          await d.close()
          client.destroy()
        }
      }, 60_000)
    })
  },
})

// The same contract with the backend root at the bucket root (no prefix).
runBackendDriverSuite({
  name: `${DRIVER_NAME} (bucket root)`,
  async create() {
    return createS3Driver(s3.driverOptions(await freshBucket()))
  },
})

describe('s3 driver: connection test and failures', () => {
  const secret = 'this-secret-must-never-leak'
  let b = ''
  beforeAll(async () => {
    b = await freshBucket()
  })

  async function closedPort(): Promise<number> {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    await new Promise((resolve) => server.close(resolve))
    return port
  }

  async function check(options: S3DriverOptions, message: RegExp, code: string) {
    const d = createS3Driver({ ...options, requestTimeoutMs: 5000 })
    try {
      const result = await d.test()
      expect(result.ok).toBe(false)
      expect(result.message).toMatch(message)
      expect(result.latency_ms).toBeGreaterThanOrEqual(0)
      expect(JSON.stringify(result)).not.toContain(secret)
      // Operations fail with a stable code, and their errors carry no secret either.
      const error = await d.list('/').catch((e: unknown) => e)
      expect(isPStorageError(error) ? error.code : error).toBe(code)
      expect(String((error as Error).message)).not.toContain(secret)
      expect((error as Error).message).toMatch(/^\[pstorage\] \[s3\] \//)
    } finally {
      await d.close()
    }
  }

  it('answers ok with a latency for a good config', async () => {
    const d = createS3Driver(s3.driverOptions(b, 'some/prefix'))
    const result = await d.test()
    expect(result).toMatchObject({ ok: true, message: 'Connected' })
    expect(result.latency_ms).toBeGreaterThanOrEqual(0)
    await d.close()
  })

  it('answers ok: false for a wrong secret', async () => {
    await check(
      { ...s3.driverOptions(b), secretAccessKey: secret },
      /secret access key does not match/,
      'forbidden',
    )
  })

  it('answers ok: false for an unknown access key', async () => {
    await check(
      { ...s3.driverOptions(b), accessKeyId: 'NOSUCHKEY', secretAccessKey: secret },
      /access key ID is not known/,
      'forbidden',
    )
  })

  it('answers ok: false for a missing bucket', async () => {
    await check(
      { ...s3.driverOptions('no-such-bucket'), secretAccessKey: 'S3RVER' },
      /bucket does not exist/,
      'service_unavailable',
    )
  })

  it('answers ok: false for a closed port', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`
    await check(
      { ...s3.driverOptions(b), endpoint, secretAccessKey: secret },
      /unreachable/,
      'service_unavailable',
    )
  })

  it('refuses invalid configs with bad_request, never echoing the secret', () => {
    const good = s3.driverOptions(b)
    for (const bad of [
      { ...good, bucket: '' },
      { ...good, region: '' },
      { ...good, accessKeyId: '' },
      { ...good, secretAccessKey: '' },
      { ...good, endpoint: `ftp://${secret}@host` },
      { ...good, prefix: `../${secret}` },
      { ...good, partSizeBytes: MiB },
      { ...good, requestTimeoutMs: 0 },
    ]) {
      let error: unknown
      try {
        createS3Driver(bad)
      } catch (e) {
        error = e
      }
      expect(isPStorageError(error, 'bad_request'), JSON.stringify(Object.keys(bad))).toBe(true)
      expect((error as Error).message).not.toContain(secret)
    }
  })

  it('normalises the prefix to end with one slash', async () => {
    await putRaw(raw, b, ['p/q/file.txt'])
    for (const prefix of ['p/q', '/p/q/', 'p/q/']) {
      const d = createS3Driver(s3.driverOptions(b, prefix))
      expect((await d.list('/')).items.map((i) => i.path)).toEqual(['/file.txt'])
      await d.close()
    }
  })
})
