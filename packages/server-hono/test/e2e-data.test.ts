import { request as httpRequest } from 'node:http'
import type { PStorageClient } from '@pstorage/client'
import { pseudoRandomBytes } from '@pstorage/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminClient, apiError, type ServerProcess, startServerProcess } from './server-process.js'

/** The binary data path end to end: `PUT`/`GET /api/v1/volumes/{id}/data`, streamed, with ranges. */
let server: ServerProcess
let client: PStorageClient
let volumeId: string
const MiB = 1024 * 1024
const SIZE = 64 * MiB

beforeAll(async () => {
  server = await startServerProcess()
  client = await adminClient(server.url)
  volumeId = (await client.createVolume({ name: 'disk', size_gb: SIZE / 1024 ** 3 })).id
})
afterAll(() => server?.stop())

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  return Buffer.from(await new Response(stream).arrayBuffer())
}

/** A raw PUT with full control of the headers (what curl would send). */
function put(path: string, body: Buffer, headers: Record<string, string>) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = httpRequest(`${server.url}${path}`, {
      method: 'PUT',
      headers: { ...bearer(), ...headers },
    })
    request.on('response', (response) => {
      let text = ''
      response.on('data', (chunk) => {
        text += chunk
      })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }))
    })
    request.on('error', (error: NodeJS.ErrnoException) => {
      // The server may answer a bad request before reading the body, then close.
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error)
    })
    request.end(body)
  })
}

const dataUrl = () => `${server.url}/api/v1/volumes/${volumeId}/data`
const bearer = () => ({ authorization: `Bearer ${client.tokens?.access_token}` })
/** A GET of the data route with the session's credentials. */
const getData = (headers: Record<string, string> = {}) =>
  fetch(dataUrl(), { headers: { ...bearer(), ...headers } })

describe('binary data path', () => {
  const image = Buffer.concat([
    Buffer.from(pseudoRandomBytes(9 * MiB + 123, 5)),
    Buffer.alloc(2 * MiB),
  ])

  it('uploads a buffer and reads it back whole and by range', async () => {
    const result = await client.uploadVolumeData(volumeId, image, { offset: 0 })
    expect(result).toMatchObject({ volume_id: volumeId, offset: 0, size: image.length })
    expect(result.reduction_ratio).toBeGreaterThanOrEqual(1)

    const whole = await getData()
    expect(whole.status).toBe(200)
    expect(whole.headers.get('content-type')).toBe('application/octet-stream')
    expect(whole.headers.get('content-length')).toBe(String(SIZE))
    expect(whole.headers.get('accept-ranges')).toBe('bytes')
    const all = Buffer.from(await whole.arrayBuffer())
    expect(all.length).toBe(SIZE)
    expect(all.subarray(0, image.length).equals(image)).toBe(true)
    expect(all.subarray(image.length).every((b) => b === 0)).toBe(true)

    const slice = await bytesOf(
      await client.downloadVolumeData(volumeId, { offset: 5 * MiB + 7, length: 3 * MiB }),
    )
    expect(slice.equals(image.subarray(5 * MiB + 7, 8 * MiB + 7))).toBe(true)
    const ranged = await getData({ range: 'bytes=100-199' })
    expect(ranged.status).toBe(206)
    expect(ranged.headers.get('content-range')).toBe(`bytes 100-199/${SIZE}`)
    expect(Buffer.from(await ranged.arrayBuffer()).equals(image.subarray(100, 200))).toBe(true)
    const suffix = await getData({ range: 'bytes=-10' })
    expect(suffix.headers.get('content-range')).toBe(`bytes ${SIZE - 10}-${SIZE - 1}/${SIZE}`)
    expect((await suffix.arrayBuffer()).byteLength).toBe(10)
  })

  it('uploads a stream at an offset; JSON reads see the same bytes', async () => {
    const chunk = Buffer.from(pseudoRandomBytes(3 * MiB, 9))
    async function* pieces() {
      for (let at = 0; at < chunk.length; at += 100_000) yield chunk.subarray(at, at + 100_000)
    }
    const offset = 40 * MiB
    const result = await client.uploadVolumeData(volumeId, pieces(), {
      offset,
      length: chunk.length,
    })
    expect(result).toMatchObject({ offset, size: chunk.length })
    const json = await client.readVolume(volumeId, { offset: offset + 4096, length: 1000 })
    expect(Buffer.from(json.data, 'base64').equals(chunk.subarray(4096, 5096))).toBe(true)
  })

  it('answers a JSON read with one exact document, as c.json would', async () => {
    // The read route writes its base64 straight to the socket: check the framing by hand.
    const offset = 45 * MiB
    const bytes = Buffer.from(pseudoRandomBytes(3 * MiB + 5, 11))
    await client.uploadVolumeData(volumeId, bytes, { offset })
    const response = await fetch(
      `${server.url}/api/v1/volumes/${volumeId}/read?offset=${offset}&length=${bytes.length}`,
      { headers: bearer() },
    )
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json')
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    const text = await response.text()
    expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(text))
    const document = JSON.parse(text)
    expect(Object.keys(document)).toEqual(['volume_id', 'offset', 'size', 'data'])
    expect(document).toMatchObject({ volume_id: volumeId, offset, size: bytes.length })
    expect(Buffer.compare(Buffer.from(document.data, 'base64'), bytes)).toBe(0)
  })

  it('accepts Content-Range for the offset, as curl uploads do', async () => {
    const body = Buffer.from('raw bytes via content-range')
    const offset = 50 * MiB
    const response = await put(`/api/v1/volumes/${volumeId}/data`, body, {
      'content-type': 'application/octet-stream',
      'content-length': String(body.length),
      'content-range': `bytes ${offset}-${offset + body.length - 1}/*`,
    })
    expect(response.status).toBe(200)
    expect(JSON.parse(response.body)).toMatchObject({ offset, size: body.length })
    const read = await client.readVolume(volumeId, { offset, length: body.length })
    expect(Buffer.from(read.data, 'base64')).toEqual(body)
  })

  it('has the same reduction accounting as the JSON write', async () => {
    // The same composition through each path (zeros, a pattern, unique blocks and one
    // repeated block), with different random bytes so neither dedupes against the other.
    const dataset = (seed: number) => {
      const unique = pseudoRandomBytes(8 * 4096, seed)
      const pattern = Buffer.alloc(4 * 4096, 'abcd')
      return Buffer.concat([Buffer.alloc(4 * 4096), pattern, unique, unique.subarray(0, 4096)])
    }
    const metrics = async () => (await client.getReductionMetrics()).pattern_removal
    const results = []
    for (const [path, seed] of [
      ['json', 1001],
      ['binary', 1002],
    ] as const) {
      const target = await client.createVolume({ name: `accounting-${path}`, size_gb: 0.01 })
      const before = await metrics()
      const data = dataset(seed)
      const result =
        path === 'json'
          ? await client.writeVolume(target.id, { offset: 0, data: data.toString('base64') })
          : await client.uploadVolumeData(target.id, data)
      const after = await metrics()
      results.push({
        ...result,
        volume_id: undefined,
        zero_blocks: after.zero_blocks_found - before.zero_blocks_found,
        pattern_blocks: after.pattern_blocks_found - before.pattern_blocks_found,
        used_bytes: (await client.getVolume(target.id)).used_bytes,
      })
    }
    expect(results[0]).toMatchObject({ zero_blocks: 4, pattern_blocks: 4, was_deduplicated: true })
    expect(results[1]).toEqual(results[0])
  })

  it('serialises concurrent writes to one block: the block ends whole, as one of them', async () => {
    const offset = 30 * MiB
    const versions = Array.from({ length: 8 }, (_, i) =>
      Buffer.from(pseudoRandomBytes(4096, 500 + i)),
    )
    await Promise.all(
      versions.map((v) => client.writeVolume(volumeId, { offset, data: v.toString('base64') })),
    )
    const block = Buffer.from(
      (await client.readVolume(volumeId, { offset, length: 4096 })).data,
      'base64',
    )
    expect(versions.some((v) => v.equals(block))).toBe(true)
    // Concurrent writes to different volumes all land.
    const others = await Promise.all(
      [0, 1, 2].map((i) => client.createVolume({ name: `parallel-${i}`, size_gb: 0.01 })),
    )
    await Promise.all(
      others.map((v, i) =>
        client.writeVolume(v.id, { offset: 0, data: versions[i]!.toString('base64') }),
      ),
    )
    for (const [i, v] of others.entries()) {
      const read = await client.readVolume(v.id, { offset: 0, length: 4096 })
      expect(Buffer.from(read.data, 'base64').equals(versions[i]!)).toBe(true)
      await client.deleteVolume(v.id)
    }
  })

  describe('bad input changes nothing', () => {
    const untouched = async () => {
      const head = await bytesOf(
        await client.downloadVolumeData(volumeId, { offset: 0, length: 8192 }),
      )
      expect(head.equals(image.subarray(0, 8192))).toBe(true)
      const tail = await bytesOf(await client.downloadVolumeData(volumeId, { offset: SIZE - 8192 }))
      expect(tail.every((b) => b === 0)).toBe(true)
    }

    it.each([
      ['unaligned offset', 100],
      ['offset past the end', SIZE],
      ['a body past the end', SIZE - 4096],
    ])('%s → 400', async (_label, offset) => {
      const body = Buffer.alloc(8192, 1)
      const response = await put(`/api/v1/volumes/${volumeId}/data?offset=${offset}`, body, {
        'content-type': 'application/octet-stream',
        'content-length': String(body.length),
      })
      expect(response.status).toBe(400)
      expect(JSON.parse(response.body).error).toBe('bad_request')
      await untouched()
    })

    it('wrong media type → 415, no Content-Length → 411, unknown volume → 404, range mismatch → 400', async () => {
      const body = Buffer.alloc(4096, 1)
      const json = await put(`/api/v1/volumes/${volumeId}/data`, body, {
        'content-type': 'application/json',
        'content-length': '4096',
      })
      expect([json.status, JSON.parse(json.body).error]).toEqual([415, 'unsupported_media_type'])
      const chunked = await put(`/api/v1/volumes/${volumeId}/data`, body, {
        'content-type': 'application/octet-stream',
        'transfer-encoding': 'chunked',
      })
      expect([chunked.status, JSON.parse(chunked.body).error]).toEqual([411, 'length_required'])
      const missing = await apiError(
        client.uploadVolumeData('00000000-0000-4000-8000-000000000000', body),
      )
      expect(missing.status).toBe(404)
      const mismatch = await put(`/api/v1/volumes/${volumeId}/data`, body, {
        'content-type': 'application/octet-stream',
        'content-length': '4096',
        'content-range': 'bytes 0-99/*',
      })
      expect(mismatch.status).toBe(400)
      await untouched()
    })

    it('ranges: unsatisfiable → 416 with the size, several or malformed → 400', async () => {
      const beyond = await getData({ range: `bytes=${SIZE}-` })
      expect(beyond.status).toBe(416)
      expect(beyond.headers.get('content-range')).toBe(`bytes */${SIZE}`)
      expect(((await beyond.json()) as { error: string }).error).toBe('range_not_satisfiable')
      for (const [range, status] of [
        ['bytes=0-1,5-9', 400],
        ['items=0-5', 400],
        ['bytes=-', 400],
        ['bytes=9-1', 416],
      ] as const) {
        const response = await getData({ range })
        expect(response.status, range).toBe(status)
        await response.body?.cancel()
      }
    })
  })
})
