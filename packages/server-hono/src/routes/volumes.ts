import { createRoute } from '@hono/zod-openapi'
import {
  BufferPool,
  CloneVolumeRequestSchema,
  CreateVolumeRequestSchema,
  ListVolumesQuerySchema,
  type PStorage,
  ReadQuerySchema,
  type ReadResponse,
  ReadResponseSchema,
  ResizeVolumeRequestSchema,
  UpdateVolumeRequestSchema,
  VolumeListSchema,
  VolumeSchema,
  WriteRequestSchema,
  WriteResponseSchema,
} from '@pstorage/core'
import { jsonBody } from '../json-body.js'
import { readDocument } from '../json-read.js'
import type { Router } from '../security/access.js'
import { sendBuffer } from '../send-stream.js'
import { errors, jsonRequest, jsonResponse, SMALL_BODY_BYTES, VolumeIdParams } from './shared.js'

const tags = ['Volumes']
const dataTags = ['Data']
const params = VolumeIdParams

/** The largest JSON body of a write: 16 MiB of data as base64, plus room for the envelope. */
const WRITE_BODY_BYTES = Math.ceil((16 * 1024 * 1024) / 3) * 4 + 64 * 1024

export const createVolume = createRoute({
  method: 'post',
  path: '/api/v1/volumes',
  operationId: 'createVolume',
  tags,
  summary: 'Create a volume',
  description: 'Creates a thin-provisioned volume; `size_gb` is in GiB, at most 1024.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { body: jsonRequest(CreateVolumeRequestSchema) },
  responses: { 201: jsonResponse('The new volume', VolumeSchema), ...errors(400, 409, 413, 422) },
})

export const listVolumes = createRoute({
  method: 'get',
  path: '/api/v1/volumes',
  operationId: 'listVolumes',
  tags,
  summary: 'List volumes',
  description: 'Paged with `limit`/`offset` (alias `skip`); `X-Total-Count` carries the total.',
  request: { query: ListVolumesQuerySchema },
  responses: { 200: jsonResponse('A page of volumes', VolumeListSchema), ...errors(422) },
})

export const getVolume = createRoute({
  method: 'get',
  path: '/api/v1/volumes/{volume_id}',
  operationId: 'getVolume',
  tags,
  summary: 'Get a volume',
  request: { params },
  responses: { 200: jsonResponse('The volume', VolumeSchema), ...errors(404) },
})

export const updateVolume = createRoute({
  method: 'put',
  path: '/api/v1/volumes/{volume_id}',
  operationId: 'updateVolume',
  tags,
  summary: 'Update a volume',
  description:
    'All fields are optional; only those given change. `tags` replaces the existing tags.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params, body: jsonRequest(UpdateVolumeRequestSchema) },
  responses: {
    200: jsonResponse('The updated volume', VolumeSchema),
    ...errors(400, 404, 409, 413, 422),
  },
})

export const deleteVolume = createRoute({
  method: 'delete',
  path: '/api/v1/volumes/{volume_id}',
  operationId: 'deleteVolume',
  tags,
  summary: 'Delete a volume',
  description: 'A volume that still has snapshots is kept (409) until they are deleted.',
  request: { params },
  responses: { 204: { description: 'Deleted' }, ...errors(404, 409) },
})

export const resizeVolume = createRoute({
  method: 'post',
  path: '/api/v1/volumes/{volume_id}/resize',
  operationId: 'resizeVolume',
  tags,
  summary: 'Resize (grow) a volume',
  description: 'Only expansion is supported: the new size must be larger than the current one.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params, body: jsonRequest(ResizeVolumeRequestSchema) },
  responses: {
    200: jsonResponse('The resized volume', VolumeSchema),
    ...errors(400, 404, 413, 422),
  },
})

export const cloneVolume = createRoute({
  method: 'post',
  path: '/api/v1/volumes/{volume_id}/clone',
  operationId: 'cloneVolume',
  tags,
  summary: 'Clone a volume',
  description:
    'Creates an instant copy-on-write clone: an independent volume with the same content.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params, body: jsonRequest(CloneVolumeRequestSchema) },
  responses: { 201: jsonResponse('The clone', VolumeSchema), ...errors(400, 404, 409, 413, 422) },
})

export const writeVolume = createRoute({
  method: 'post',
  path: '/api/v1/volumes/{volume_id}/write',
  operationId: 'writeVolume',
  tags: dataTags,
  summary: 'Write data',
  description:
    'Writes base64 data at a byte offset aligned to 4096, at most 16 MiB per call. A final partial block keeps its used length.',
  middleware: [jsonBody(WRITE_BODY_BYTES)] as const,
  request: { params, body: jsonRequest(WriteRequestSchema) },
  responses: {
    200: jsonResponse('What the data path did with the write', WriteResponseSchema),
    ...errors(400, 404, 413, 422, 507),
  },
})

export const readVolume = createRoute({
  method: 'get',
  path: '/api/v1/volumes/{volume_id}/read',
  operationId: 'readVolume',
  tags: dataTags,
  summary: 'Read data',
  description:
    'Reads base64 data at `offset`. With `length`, exactly that many bytes (zeros where nothing was written); without it, up to the end of written data. At most 16 MiB per call.',
  request: { params, query: ReadQuerySchema },
  responses: { 200: jsonResponse('The data', ReadResponseSchema), ...errors(400, 404, 413, 422) },
})

/** Bodies of JSON reads kept for reuse: a few 1 MiB calls in flight reuse theirs. */
const READ_BODY_RETAIN_BYTES = 12 * 1024 * 1024

/** Mounts the volume and data routes of seeds/001 on `app`. */
export function volumeRoutes(r: Router, pstorage: PStorage): void {
  const { volumes } = pstorage
  const readBodies = new BufferPool(READ_BODY_RETAIN_BYTES, { shared: false })
  r.mount('operator', createVolume, async (c) =>
    c.json(await volumes.create(c.req.valid('json')), 201),
  )
  r.mount('viewer', listVolumes, async (c) => {
    const page = await volumes.list(c.req.valid('query'))
    c.header('X-Total-Count', String(page.total))
    return c.json(page, 200)
  })
  r.mount('viewer', getVolume, async (c) =>
    c.json(await volumes.get(c.req.valid('param').volume_id), 200),
  )
  r.mount('operator', updateVolume, async (c) =>
    c.json(await volumes.update(c.req.valid('param').volume_id, c.req.valid('json')), 200),
  )
  r.mount('operator', deleteVolume, async (c) => {
    await volumes.delete(c.req.valid('param').volume_id)
    return c.body(null, 204)
  })
  r.mount('operator', resizeVolume, async (c) =>
    c.json(await volumes.resize(c.req.valid('param').volume_id, c.req.valid('json')), 200),
  )
  r.mount('operator', cloneVolume, async (c) =>
    c.json(await volumes.clone(c.req.valid('param').volume_id, c.req.valid('json')), 201),
  )
  r.mount('operator', writeVolume, async (c) =>
    c.json(await volumes.write(c.req.valid('param').volume_id, c.req.valid('json')), 200),
  )
  r.mount('viewer', readVolume, async (c) => {
    const { offset, length } = c.req.valid('query')
    const id = c.req.valid('param').volume_id
    // The document c.json would send, built in a reused buffer (see json-read.ts).
    const { result: body } = await volumes.readWith(id, offset, length, (bytes) =>
      readDocument(readBodies, id, offset, bytes),
    )
    c.header('Content-Type', 'application/json')
    const response = await sendBuffer(c, 200, body, () => readBodies.give(body))
    // The typed router expects c.json's response type; the body is that document.
    return response as unknown as ReturnType<typeof c.json<ReadResponse, 200>>
  })
}
