import { Readable } from 'node:stream'
import { createRoute, z } from '@hono/zod-openapi'
import {
  asAsyncIterable,
  CreateFolderRequestSchema,
  DeleteFilesRequestSchema,
  DeleteFilesResponseSchema,
  DownloadFileQuerySchema,
  FileListSchema,
  ListFilesQuerySchema,
  MoveFilesRequestSchema,
  MoveFilesResponseSchema,
  type PStorage,
  PStorageError,
  type StorageFile,
  StorageFileSchema,
  UploadFilesResponseSchema,
} from '@pstorage/core'
import { paced } from '../gc-assist.js'
import { jsonBody } from '../json-body.js'
import { streamMultipart } from '../multipart.js'
import { parseRange } from '../ranges.js'
import type { Router } from '../security/access.js'
import { sendStream } from '../send-stream.js'
import { BackendIdParams } from './backends.js'
import { errors, jsonRequest, jsonResponse, SMALL_BODY_BYTES } from './shared.js'

const tags = ['File browser']
const Binary = z.string().meta({ format: 'binary', example: '<raw bytes>' })
const octets = (description: string) => ({
  description,
  content: { 'application/octet-stream': { schema: Binary } },
})

export const listFiles = createRoute({
  method: 'get',
  path: '/api/v1/storage/backends/{backend_id}/files',
  operationId: 'listFiles',
  tags,
  summary: 'List a directory',
  description:
    'Direct children of `path`, directories first, then by name; pages of `limit` (default and max 1000) with `next_cursor`. `iscsi` backends are block storage: 400 `not_applicable`.',
  request: { params: BackendIdParams, query: ListFilesQuerySchema },
  responses: {
    200: jsonResponse('One page of the directory', FileListSchema),
    ...errors(400, 403, 404, 422, 503),
  },
})

/**
 * The upload form, as a plain OpenAPI schema: a zod schema here would make the router parse
 * (and buffer) the whole multipart body before the handler runs; the handler streams it.
 */
const UploadForm: { type: 'object'; properties: Record<string, object>; required: string[] } = {
  type: 'object',
  properties: {
    path: { type: 'string', description: 'Target directory (default `/`)' },
    overwrite: { type: 'string', enum: ['true', 'false'] },
    file: { type: 'string', format: 'binary', description: 'One or more file parts, last' },
  },
  required: ['file'],
}

export const uploadFiles = createRoute({
  method: 'post',
  path: '/api/v1/storage/backends/{backend_id}/files',
  operationId: 'uploadFiles',
  tags,
  summary: 'Upload files (multipart)',
  description:
    'A `multipart/form-data` body: optional fields `path` (target directory, created if missing; or `?path=`) and `overwrite` (`true` replaces existing files), then one or more file parts. Streamed to the backend as it arrives, never held whole in memory; each file is stored atomically. The backend upload policy applies (extension and sniffed content type → 415, size → 413). An existing file without `overwrite` → 409. Rate-limited as an upload.',
  request: {
    params: BackendIdParams,
    query: z.strictObject({
      path: z.string().max(4096).optional(),
      overwrite: z.enum(['true', 'false']).optional(),
    }),
    body: { required: true, content: { 'multipart/form-data': { schema: UploadForm } } },
  },
  responses: {
    201: jsonResponse('The stored files', UploadFilesResponseSchema),
    ...errors(400, 403, 404, 409, 413, 415, 422, 503, 507),
  },
})

export const downloadFile = createRoute({
  method: 'get',
  path: '/api/v1/storage/backends/{backend_id}/files/download',
  operationId: 'downloadFile',
  tags,
  summary: 'Download a file',
  description:
    'Streams the file with `Content-Disposition: attachment`; one `Range: bytes=a-b` gives a 206 with `Content-Range`.',
  request: { params: BackendIdParams, query: DownloadFileQuerySchema },
  responses: {
    200: octets('The file'),
    206: octets('The requested range'),
    ...errors(400, 403, 404, 416, 422, 503),
  },
})

export const deleteFiles = createRoute({
  method: 'delete',
  path: '/api/v1/storage/backends/{backend_id}/files',
  operationId: 'deleteFiles',
  tags,
  summary: 'Delete files and folders',
  description:
    'Folders are deleted with their contents. Every path is checked first (a refused one deletes nothing); then one result per path, in order (`not_found` for a missing one).',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params: BackendIdParams, body: jsonRequest(DeleteFilesRequestSchema) },
  responses: {
    200: jsonResponse('One result per path', DeleteFilesResponseSchema),
    ...errors(400, 403, 404, 413, 422, 503),
  },
})

export const createFolder = createRoute({
  method: 'post',
  path: '/api/v1/storage/backends/{backend_id}/folders',
  operationId: 'createFolder',
  tags,
  summary: 'Create a folder',
  description: 'Creates missing parents too; 409 if anything exists at the path.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params: BackendIdParams, body: jsonRequest(CreateFolderRequestSchema) },
  responses: {
    201: jsonResponse('The folder', StorageFileSchema),
    ...errors(400, 403, 404, 409, 413, 422, 503),
  },
})

export const moveFiles = createRoute({
  method: 'post',
  path: '/api/v1/storage/backends/{backend_id}/files/move',
  operationId: 'moveFiles',
  tags,
  summary: 'Move or rename files and folders',
  description:
    'Moves each of `paths` into the folder `destination`, or with `rename: true` the one path to `destination`. An existing target file is a per-path `conflict` unless `overwrite: true`; an existing folder always is. One result per path, in order.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params: BackendIdParams, body: jsonRequest(MoveFilesRequestSchema) },
  responses: {
    200: jsonResponse('One result per path', MoveFilesResponseSchema),
    ...errors(400, 403, 404, 413, 422, 503),
  },
})

/** `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266), safe for any name. */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_') || 'download'
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`
}

/** Mounts seeds/000 §2: the file browser of each backend, streamed both ways. */
export function fileRoutes(r: Router, pstorage: PStorage): void {
  const { backends } = pstorage

  r.mount('viewer', listFiles, async (c) => {
    const { path, limit, cursor } = c.req.valid('query')
    const page = await backends.listFiles(c.req.valid('param').backend_id, {
      path,
      limit,
      ...(cursor !== undefined && { cursor }),
    })
    return c.json(page, 200)
  })

  r.mount('operator', uploadFiles, async (c) => {
    const id = c.req.valid('param').backend_id
    const type = c.req.header('content-type') ?? ''
    if (!/^multipart\/form-data\s*;/i.test(type)) {
      throw new PStorageError('unsupported_media_type', 'The body must be multipart/form-data')
    }
    // On Node, parse the request itself: the web stream Hono wraps it in would add a copy
    // and a buffer per chunk to every upload.
    const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming
    const body = incoming instanceof Readable ? incoming : c.req.raw.body
    if (!body) throw new PStorageError('bad_request', 'The body is empty')
    await backends.get(id) // 404 before reading a byte
    const query = c.req.valid('query')
    let directory = query.path ?? '/'
    let overwrite = query.overwrite === 'true'
    const stored: StorageFile[] = []
    const count = await streamMultipart(body, type, {
      onField(name, value) {
        if (name === 'path') directory = value
        else if (name === 'overwrite') {
          if (value !== 'true' && value !== 'false') {
            throw new PStorageError('bad_request', "Field 'overwrite' must be true or false")
          }
          overwrite = value === 'true'
        } else throw new PStorageError('bad_request', `Unknown field '${name}'`)
      },
      async onFile({ filename, stream }) {
        stored.push(
          await backends.uploadFile(id, directory, filename, paced(asAsyncIterable(stream)), {
            overwrite,
          }),
        )
      },
    }).catch((error: unknown) => {
      // A refused upload is answered before its body is read: close the connection after
      // the answer instead of reading (possibly gigabytes of) the rest.
      c.header('Connection', 'close')
      throw error
    })
    if (count === 0) throw new PStorageError('bad_request', 'The body holds no file part')
    return c.json({ files: stored }, 201)
  })

  r.mount('viewer', downloadFile, async (c) => {
    const id = c.req.valid('param').backend_id
    const { path } = c.req.valid('query')
    const file = await backends.statFile(id, path)
    if (file.type !== 'file') {
      throw new PStorageError('bad_request', `${file.path} is a directory, not a file`)
    }
    const range = parseRange(c.req.header('range'), file.size ?? 0)
    const opened = await backends.readFile(
      id,
      file.path,
      range ? { offset: range.start, length: range.length } : {},
    )
    c.header('Content-Type', opened.content_type ?? file.mime_type ?? 'application/octet-stream')
    c.header('Content-Length', String(opened.length))
    c.header('Content-Disposition', contentDisposition(file.name))
    c.header('Accept-Ranges', 'bytes')
    c.header('Last-Modified', new Date(file.modified_at).toUTCString())
    if (range) {
      c.header(
        'Content-Range',
        `bytes ${opened.offset}-${opened.offset + opened.length - 1}/${opened.size}`,
      )
    }
    const stream =
      opened.stream instanceof Readable ? opened.stream : asAsyncIterable(opened.stream)
    return sendStream(c, range ? 206 : 200, stream, { ownedChunks: opened.ownedChunks === true })
  })

  r.mount('operator', deleteFiles, async (c) => {
    const results = await backends.deleteFiles(
      c.req.valid('param').backend_id,
      c.req.valid('json').paths,
    )
    return c.json({ results }, 200)
  })

  r.mount('operator', createFolder, async (c) =>
    c.json(
      await backends.createFolder(c.req.valid('param').backend_id, c.req.valid('json').path),
      201,
    ),
  )

  r.mount('operator', moveFiles, async (c) => {
    const results = await backends.moveFiles(c.req.valid('param').backend_id, c.req.valid('json'))
    return c.json({ results }, 200)
  })
}
