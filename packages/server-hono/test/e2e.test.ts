import { request as httpRequest } from 'node:http'
import type { PStorageClient } from '@pstorage/client'
import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminClient, apiError, type ServerProcess, startServerProcess } from './server-process.js'

/**
 * The walking skeleton end to end: the real `pstorage-server` bin on a random port, driven
 * through the generated client, every volume route and the bad inputs of issue 2.
 */
let server: ServerProcess
let client: PStorageClient

beforeAll(async () => {
  server = await startServerProcess()
  client = await adminClient(server.url)
})
afterAll(() => server?.stop())

const b64 = (text: string) => Buffer.from(text).toString('base64')
const text = (data: string) => Buffer.from(data, 'base64').toString()

/** The parts of the served OpenAPI document the tests read. */
interface OpenApiDocument {
  openapi: string
  paths: Record<string, Record<string, { operationId: string }>>
  components: { schemas: Record<string, { properties: Record<string, { example?: unknown }> }> }
}

/** The session's credentials, for raw requests. */
const bearer = () => ({ authorization: `Bearer ${client.tokens?.access_token}` })

/** A raw request, for what the typed client cannot even express. */
function raw(method: string, path: string, body?: string, contentType = 'application/json') {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { ...bearer(), ...(body !== undefined && { 'content-type': contentType }) },
    ...(body !== undefined && { body }),
  })
}

/**
 * POSTs `body` and returns the answer even when the server answers before reading the
 * whole body and closes (as it should for a 413): fetch reports that as a network error,
 * while node:http delivers the response and then an EPIPE on the upload, ignored here.
 */
function earlyAnswer(path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${server.url}${path}`, {
      method: 'POST',
      headers: {
        ...bearer(),
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      },
    })
    request.on('response', (response) => {
      let text = ''
      response.on('data', (chunk) => {
        text += chunk
      })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }))
    })
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error)
    })
    request.end(body)
  })
}

describe('service documents', () => {
  it('serves /health in the seed shape', async () => {
    expect(await client.getHealth()).toEqual({
      status: 'healthy',
      reduction_ratio: 1,
      cluster_enabled: false,
    })
  })

  it('serves a valid OpenAPI 3.1 document listing every route with examples', async () => {
    const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument
    const result = await new Validator().validate(
      document as unknown as Parameters<Validator['validate']>[0],
    )
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(document.openapi).toMatch(/^3\.1\./)
    const operations = Object.values(
      document.paths as Record<string, Record<string, { operationId: string }>>,
    )
      .flatMap((item) => Object.values(item).map((op) => op.operationId))
      .sort()
    expect(operations).toEqual(
      [
        ...['getHealth', 'getHealthDetailed', 'listArrays'],
        ...[
          'createVolume',
          'listVolumes',
          'getVolume',
          'updateVolume',
          'deleteVolume',
          'resizeVolume',
          'cloneVolume',
        ],
        ...['writeVolume', 'readVolume', 'putVolumeData', 'getVolumeData'],
        ...[
          'createSnapshot',
          'listVolumeSnapshots',
          'listSnapshots',
          'getSnapshot',
          'deleteSnapshot',
          'restoreSnapshot',
        ],
        ...[
          'getMetrics',
          'getReductionMetrics',
          'getFlashMetrics',
          'getVolumeMetrics',
          'getReplicationMetrics',
        ],
        ...[
          'getClusterStatus',
          'getReplicationStatus',
          'addPeer',
          'removePeer',
          'failover',
          'failback',
          'heartbeat',
        ],
        ...['login', 'refreshToken', 'logout', 'getMe'],
        ...['listUsers', 'createUser', 'getUser', 'updateUser', 'deleteUser', 'changePassword'],
        ...['createApiKey', 'listApiKeys', 'revokeApiKey', 'listAudit'],
        ...['listBackends', 'getBackend', 'createBackend', 'updateBackend', 'deleteBackend'],
        ...['testBackend', 'listFiles', 'uploadFiles', 'downloadFile', 'deleteFiles'],
        ...['createFolder', 'moveFiles', 'reconcileBackend'],
        ...['listMachines', 'createMachine', 'getMachine', 'updateMachine', 'deleteMachine'],
        ...['listLuns', 'getLun', 'createLun', 'updateLun', 'deleteLun', 'assignLun'],
        ...['unassignLun', 'revealLunChap'],
      ].sort(),
    )
    expect(document.components.schemas.Volume?.properties.size_bytes?.example).toBe(107374182400)
    // Every operation carries at least one example, in its parameters or its (resolved) schemas.
    const resolve = (node: unknown, depth = 0): unknown => {
      if (depth > 24 || node === null || typeof node !== 'object') return node
      const ref = (node as { $ref?: string }).$ref
      if (ref) return resolve(document.components.schemas[ref.split('/').pop()!], depth + 1)
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v, depth + 1)]))
    }
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        expect(JSON.stringify(resolve(operation)), `${method} ${path}`).toContain('"example"')
      }
    }
  })

  it('serves the Swagger UI at /docs, pointing at /openapi.json', async () => {
    const response = await fetch(`${server.url}/docs`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/text\/html/)
    expect(await response.text()).toContain('/openapi.json')
  })

  it('answers unknown routes with 404 in the error shape', async () => {
    const response = await raw('GET', '/api/v1/nothing')
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({
      error: 'not_found',
      request_id: expect.any(String),
    })
  })
})

describe('volume routes through the generated client', () => {
  it('creates, gets, lists, updates, resizes, clones, writes, reads and deletes', async () => {
    const volume = await client.createVolume({
      name: 'production-db',
      size_gb: 100,
      description: 'PostgreSQL data volume',
      tags: { env: 'production', app: 'postgres' },
    })
    expect(volume).toMatchObject({
      name: 'production-db',
      size_bytes: 107374182400,
      used_bytes: 0,
      state: 'available',
      description: 'PostgreSQL data volume',
      tags: { env: 'production', app: 'postgres' },
      reduction_ratio: 1,
    })
    expect(await client.getVolume(volume.id)).toEqual(volume)

    const write = await client.writeVolume(volume.id, { offset: 0, data: 'SGVsbG8gV29ybGQh' })
    expect(write).toEqual({
      volume_id: volume.id,
      offset: 0,
      size: 12,
      reduction_ratio: 1,
      was_deduplicated: false,
      was_compressed: false,
    })
    expect(await client.readVolume(volume.id, { offset: 0 })).toEqual({
      volume_id: volume.id,
      offset: 0,
      size: 12,
      data: 'SGVsbG8gV29ybGQh',
    })
    const padded = await client.readVolume(volume.id, { offset: 6, length: 10 })
    expect(Buffer.from(padded.data, 'base64')).toEqual(
      Buffer.concat([Buffer.from('World!'), Buffer.alloc(4)]),
    )
    expect((await client.getVolume(volume.id)).used_bytes).toBe(12)

    const updated = await client.updateVolume(volume.id, {
      description: 'primary',
      tags: { tier: 'gold' },
    })
    expect(updated).toMatchObject({
      name: 'production-db',
      description: 'primary',
      tags: { tier: 'gold' },
    })
    expect(Date.parse(updated.updated_at)).toBeGreaterThanOrEqual(Date.parse(volume.updated_at))

    const resized = await client.resizeVolume(volume.id, { size_gb: 200 })
    expect(resized.size_bytes).toBe(200 * 1024 ** 3)

    const clone = await client.cloneVolume(volume.id, {
      name: 'production-db-clone',
      description: 'Clone for testing',
    })
    expect(clone).toMatchObject({
      name: 'production-db-clone',
      size_bytes: 200 * 1024 ** 3,
      used_bytes: 12,
    })
    await client.writeVolume(clone.id, { offset: 0, data: b64('Cloned data!') })
    expect(text((await client.readVolume(volume.id, { offset: 0 })).data)).toBe('Hello World!')
    expect(text((await client.readVolume(clone.id, { offset: 0 })).data)).toBe('Cloned data!')

    const listed = await client.listVolumes({ sort: 'name', order: 'asc' })
    expect(listed.total).toBe(2)
    expect(listed.volumes.map((v) => v.name)).toEqual(['production-db', 'production-db-clone'])
    const totalHeader = (await raw('GET', '/api/v1/volumes?limit=1')).headers.get('x-total-count')
    expect(totalHeader).toBe('2')
    expect(
      (await client.listVolumes({ limit: 1, offset: 1, sort: 'name' })).volumes.map((v) => v.name),
    ).toEqual(['production-db-clone'])

    await client.deleteVolume(clone.id)
    await client.deleteVolume(volume.id)
    expect((await apiError(client.getVolume(volume.id))).status).toBe(404)
    expect((await client.listVolumes()).total).toBe(0)
  })
})

describe('bad input: 4xx in the error shape, and nothing written', () => {
  let volumeId: string
  beforeAll(async () => {
    volumeId = (await client.createVolume({ name: 'guarded', size_gb: 1 })).id
    await client.writeVolume(volumeId, { offset: 0, data: b64('keep me') })
  })

  const assertUnchanged = async () => {
    const volumes = await client.listVolumes()
    expect(volumes.volumes.map((v) => [v.name, v.size_bytes, v.used_bytes])).toEqual([
      ['guarded', 1024 ** 3, 7],
    ])
    expect(text((await client.readVolume(volumeId, { offset: 0 })).data)).toBe('keep me')
  }

  it('unaligned offset → 400 bad_request', async () => {
    const error = await apiError(client.writeVolume(volumeId, { offset: 100, data: b64('x') }))
    expect([error.status, error.error]).toEqual([400, 'bad_request'])
    expect(error.detail).toBe('Offset must be aligned to block size (4096)')
    await assertUnchanged()
  })

  it('offset beyond the volume → 400, for writes and reads', async () => {
    const write = await apiError(
      client.writeVolume(volumeId, { offset: 1024 ** 3, data: b64('x') }),
    )
    expect([write.status, write.error]).toEqual([400, 'bad_request'])
    const read = await apiError(client.readVolume(volumeId, { offset: 0, length: 1024 ** 3 + 1 }))
    expect([read.status, read.error]).toEqual([400, 'bad_request'])
    await assertUnchanged()
  })

  it.each(['not base64!', 'SGVsbG8', 'SGVsbG8gV29ybGQh===', ''])(
    'invalid base64 %j → 422',
    async (data) => {
      const error = await apiError(client.writeVolume(volumeId, { offset: 0, data }))
      expect([error.status, error.error]).toEqual([422, 'validation_error'])
      expect(error.details?.issues).toEqual([expect.objectContaining({ path: 'data' })])
      await assertUnchanged()
    },
  )

  it.each([0, 2000, -5])('size_gb %d → 422', async (size_gb) => {
    const error = await apiError(client.createVolume({ name: 'bad-size', size_gb }))
    expect([error.status, error.error]).toEqual([422, 'validation_error'])
    expect(error.details?.issues).toEqual([expect.objectContaining({ path: 'size_gb' })])
    await assertUnchanged()
  })

  it('unknown fields and missing fields → 422', async () => {
    const unknown = await raw(
      'POST',
      '/api/v1/volumes',
      JSON.stringify({ name: 'x', size_gb: 1, sise: 2 }),
    )
    expect(unknown.status).toBe(422)
    expect(((await unknown.json()) as { error: string }).error).toBe('validation_error')
    const missing = await raw('POST', '/api/v1/volumes', JSON.stringify({ name: 'x' }))
    expect(missing.status).toBe(422)
    const proto = await raw(
      'PUT',
      `/api/v1/volumes/${volumeId}`,
      '{"__proto__": {"name": "pwned"}}',
    )
    expect(proto.status).toBe(422)
    await assertUnchanged()
  })

  it('unknown id → 404 on every volume route', async () => {
    const id = '00000000-0000-4000-8000-000000000000'
    const calls = [
      () => client.getVolume(id),
      () => client.updateVolume(id, { description: 'x' }),
      () => client.deleteVolume(id),
      () => client.resizeVolume(id, { size_gb: 2 }),
      () => client.cloneVolume(id, { name: 'c' }),
      () => client.writeVolume(id, { offset: 0, data: b64('x') }),
      () => client.readVolume(id, { offset: 0 }),
      () => client.getVolume('not-a-uuid'),
    ]
    for (const call of calls) {
      const error = await apiError(call())
      expect([error.status, error.error]).toEqual([404, 'not_found'])
    }
    await assertUnchanged()
  })

  it('duplicate name → 409 on create, rename and clone', async () => {
    const otherId = (await client.createVolume({ name: 'other', size_gb: 1 })).id
    for (const call of [
      () => client.createVolume({ name: 'guarded', size_gb: 1 }),
      () => client.updateVolume(otherId, { name: 'guarded' }),
      () => client.cloneVolume(volumeId, { name: 'other' }),
    ]) {
      const error = await apiError(call())
      expect([error.status, error.error]).toEqual([409, 'conflict'])
    }
    await client.deleteVolume(otherId)
    await assertUnchanged()
  })

  it('shrinking resize → 400', async () => {
    const error = await apiError(client.resizeVolume(volumeId, { size_gb: 0.5 }))
    expect([error.status, error.error]).toEqual([400, 'bad_request'])
    await assertUnchanged()
  })

  it.each([
    ['malformed JSON', '{"name": "x", size_gb: 1', 'application/json'],
    ['a non-JSON body', 'name=x&size_gb=1', 'application/x-www-form-urlencoded'],
    ['text with a JSON look', '{"name":"x","size_gb":1}', 'text/plain'],
  ])('%s → 400', async (_label, body, contentType) => {
    const response = await raw('POST', '/api/v1/volumes', body, contentType)
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({
      error: 'bad_request',
      request_id: expect.any(String),
    })
    const update = await raw(
      'PUT',
      `/api/v1/volumes/${volumeId}`,
      'description=x',
      'application/x-www-form-urlencoded',
    )
    expect(update.status).toBe(400)
    await assertUnchanged()
  })

  it('bad query parameters → 422', async () => {
    for (const query of ['limit=0', 'limit=5000', 'order=sideways', 'sort=password', 'bogus=1']) {
      const response = await raw('GET', `/api/v1/volumes?${query}`)
      expect(response.status, query).toBe(422)
      expect(((await response.json()) as { error: string }).error).toBe('validation_error')
    }
    const read = await raw('GET', `/api/v1/volumes/${volumeId}/read?offset=-1`)
    expect(read.status).toBe(422)
  })

  it('a body over the limit → 413 before it is read', async () => {
    const huge = JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), size_gb: 1 })
    const { status, body } = await earlyAnswer('/api/v1/volumes', huge)
    expect(status).toBe(413)
    expect(JSON.parse(body).error).toBe('payload_too_large')
    await assertUnchanged()
  })
})
