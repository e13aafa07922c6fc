import { createRoute, z } from '@hono/zod-openapi'
import { type PStorage, PStorageError, WriteResponseSchema } from '@pstorage/core'
import { parseContentRange, parseRange } from '../ranges.js'
import type { Router } from '../security/access.js'
import { sendStream } from '../send-stream.js'
import { errors, jsonResponse, VolumeIdParams } from './shared.js'

const tags = ['Data']
const Binary = z.string().meta({ format: 'binary', example: '<raw bytes>' })
const octets = (description: string) => ({
  description,
  content: { 'application/octet-stream': { schema: Binary } },
})

export const putVolumeData = createRoute({
  method: 'put',
  path: '/api/v1/volumes/{volume_id}/data',
  operationId: 'putVolumeData',
  tags,
  summary: 'Write raw bytes (binary data path)',
  description:
    'Streams an `application/octet-stream` body into the volume at `offset` (query) or at the start of `Content-Range: bytes a-b/*`, which must be 4096-aligned. `Content-Length` is required, so the whole range is checked before anything is written. Same reduction accounting as the JSON write. Example: `curl -T disk.raw -H "Content-Type: application/octet-stream" .../data`.',
  request: {
    params: VolumeIdParams,
    query: z.strictObject({
      offset: z.coerce
        .number()
        .int()
        .min(0)
        .optional()
        .meta({ description: 'Byte offset, a multiple of 4096', example: 0 }),
    }),
    body: { required: true, content: { 'application/octet-stream': { schema: Binary } } },
  },
  responses: {
    200: jsonResponse('What the data path did with the whole body', WriteResponseSchema),
    ...errors(400, 404, 411, 413, 415, 422, 507),
  },
})

export const getVolumeData = createRoute({
  method: 'get',
  path: '/api/v1/volumes/{volume_id}/data',
  operationId: 'getVolumeData',
  tags,
  summary: 'Read raw bytes (binary data path)',
  description:
    'Streams the volume as `application/octet-stream`: all of it (200), or one `Range: bytes=a-b` (206 with `Content-Range`). Unwritten space reads as zeros.',
  request: { params: VolumeIdParams },
  responses: {
    200: octets('The whole volume'),
    206: octets('The requested range'),
    ...errors(400, 404, 416),
  },
})

/** Mounts the binary data path: streamed, with ranges, the same accounting as the JSON routes. */
export function dataRoutes(r: Router, pstorage: PStorage): void {
  const { volumes } = pstorage

  r.mount('operator', putVolumeData, async (c) => {
    const id = c.req.valid('param').volume_id
    const type = c.req.header('content-type') ?? ''
    if (!/^application\/octet-stream\s*(;|$)/i.test(type)) {
      throw new PStorageError('unsupported_media_type', 'The body must be application/octet-stream')
    }
    const lengthHeader = c.req.header('content-length')
    if (lengthHeader === undefined || !/^\d{1,16}$/.test(lengthHeader)) {
      throw new PStorageError(
        'length_required',
        'Content-Length is required, so the range can be checked before writing',
      )
    }
    const length = Number(lengthHeader)
    const rangeHeader = c.req.header('content-range')
    const queryOffset = c.req.valid('query').offset
    const start =
      rangeHeader === undefined ? (queryOffset ?? 0) : parseContentRange(rangeHeader, length).start
    if (rangeHeader !== undefined && queryOffset !== undefined && queryOffset !== start) {
      throw new PStorageError('bad_request', 'The offset query and Content-Range disagree')
    }
    const body = c.req.raw.body
    if (!body || length === 0) throw new PStorageError('bad_request', 'The body is empty')
    return c.json(await volumes.writeStream(id, start, length, body), 200)
  })

  r.mount('viewer', getVolumeData, async (c) => {
    const id = c.req.valid('param').volume_id
    const { size_bytes: size } = await volumes.get(id)
    const range = parseRange(c.req.header('range'), size)
    const { start, length } = range ?? { start: 0, length: size }
    const chunks = await volumes.readStream(id, start, length)
    c.header('Content-Type', 'application/octet-stream')
    c.header('Content-Length', String(length))
    c.header('Accept-Ranges', 'bytes')
    if (range) c.header('Content-Range', `bytes ${start}-${start + length - 1}/${size}`)
    const status = range ? 206 : 200
    return sendStream(c, status, chunks)
  })
}
