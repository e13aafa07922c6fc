import { createRoute, z } from '@hono/zod-openapi'
import {
  AssignLunRequestSchema,
  ChapCredentialsSchema,
  CreateLunRequestSchema,
  CreateMachineRequestSchema,
  ListLunsQuerySchema,
  ListMachinesQuerySchema,
  LunListSchema,
  LunSchema,
  MachineListSchema,
  MachineSchema,
  type PStorage,
  ReconcileReportSchema,
  UpdateLunRequestSchema,
  UpdateMachineRequestSchema,
} from '@pstorage/core'
import { jsonBody } from '../json-body.js'
import type { Router } from '../security/access.js'
import { BackendIdParams } from './backends.js'
import { errors, jsonRequest, jsonResponse, SMALL_BODY_BYTES } from './shared.js'

const lunTags = ['iSCSI LUNs']
const machineTags = ['Machines']
const LunIdParams = z.object({
  lun_id: z
    .string()
    .max(64)
    .meta({
      param: { name: 'lun_id', in: 'path' },
      example: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    }),
})
const MachineIdParams = z.object({
  machine_id: z
    .string()
    .max(64)
    .meta({
      param: { name: 'machine_id', in: 'path' },
      example: '9b2f0e1c-3a4d-4e5f-8a6b-7c8d9e0f1a2b',
    }),
})

export const listMachines = createRoute({
  method: 'get',
  path: '/api/v1/machines',
  operationId: 'listMachines',
  tags: machineTags,
  summary: 'List machines',
  request: { query: ListMachinesQuerySchema },
  responses: { 200: jsonResponse('One page of machines', MachineListSchema), ...errors(422) },
})

export const createMachine = createRoute({
  method: 'post',
  path: '/api/v1/machines',
  operationId: 'createMachine',
  tags: machineTags,
  summary: 'Register a machine',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { body: jsonRequest(CreateMachineRequestSchema) },
  responses: {
    201: jsonResponse('The machine', MachineSchema),
    ...errors(400, 409, 413, 422),
  },
})

export const getMachine = createRoute({
  method: 'get',
  path: '/api/v1/machines/{machine_id}',
  operationId: 'getMachine',
  tags: machineTags,
  summary: 'Get a machine',
  request: { params: MachineIdParams },
  responses: { 200: jsonResponse('The machine', MachineSchema), ...errors(404) },
})

export const updateMachine = createRoute({
  method: 'put',
  path: '/api/v1/machines/{machine_id}',
  operationId: 'updateMachine',
  tags: machineTags,
  summary: 'Update a machine',
  description: 'Any subset of the fields. The initiator cannot change while LUNs are assigned.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params: MachineIdParams, body: jsonRequest(UpdateMachineRequestSchema) },
  responses: {
    200: jsonResponse('The machine', MachineSchema),
    ...errors(400, 404, 409, 413, 422),
  },
})

export const deleteMachine = createRoute({
  method: 'delete',
  path: '/api/v1/machines/{machine_id}',
  operationId: 'deleteMachine',
  tags: machineTags,
  summary: 'Delete a machine',
  description: 'Refused (409) while LUNs are assigned to it.',
  request: { params: MachineIdParams },
  responses: { 204: { description: 'Deleted' }, ...errors(404, 409) },
})

export const listLuns = createRoute({
  method: 'get',
  path: '/api/v1/storage/luns',
  operationId: 'listLuns',
  tags: lunTags,
  summary: 'List LUNs',
  request: { query: ListLunsQuerySchema },
  responses: { 200: jsonResponse('One page of LUNs', LunListSchema), ...errors(422) },
})

export const getLun = createRoute({
  method: 'get',
  path: '/api/v1/storage/luns/{lun_id}',
  operationId: 'getLun',
  tags: lunTags,
  summary: 'Get a LUN',
  request: { params: LunIdParams },
  responses: { 200: jsonResponse('The LUN', LunSchema), ...errors(404) },
})

export const createLun = createRoute({
  method: 'post',
  path: '/api/v1/storage/luns',
  operationId: 'createLun',
  tags: lunTags,
  summary: 'Create a LUN',
  description:
    'Answers 202 with status `creating`; a background job creates the sparse backing file, target, LUN and portal on the host of the `iscsi` backend `target_id` (and CHAP, if enabled), then sets `ready`, or `error` with the reason in `status_message`. The IQN is `iqn.<year-month>.<domain>:<name>`. The job survives a server restart.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { body: jsonRequest(CreateLunRequestSchema) },
  responses: {
    202: jsonResponse('The LUN, being created', LunSchema),
    ...errors(400, 404, 409, 413, 422),
  },
})

export const updateLun = createRoute({
  method: 'patch',
  path: '/api/v1/storage/luns/{lun_id}',
  operationId: 'updateLun',
  tags: lunTags,
  summary: 'Update a LUN',
  description:
    '`chap_enabled: true` generates new credentials (see `chap/reveal`) and requires them at login; `false` stops requiring them. Applied on the host before the answer.',
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params: LunIdParams, body: jsonRequest(UpdateLunRequestSchema) },
  responses: {
    200: jsonResponse('The LUN', LunSchema),
    ...errors(400, 404, 409, 413, 422, 503),
  },
})

export const deleteLun = createRoute({
  method: 'delete',
  path: '/api/v1/storage/luns/{lun_id}',
  operationId: 'deleteLun',
  tags: lunTags,
  summary: 'Delete a LUN',
  description:
    'Answers 202 with status `deleting`; a job removes the target and its backing file from the host, then the record. A failure leaves the LUN in `error` (retry the delete). Refused (409) while `creating` or assigned.',
  request: { params: LunIdParams },
  responses: { 202: jsonResponse('The LUN, being deleted', LunSchema), ...errors(404, 409) },
})

export const assignLun = createRoute({
  method: 'post',
  path: '/api/v1/storage/luns/{lun_id}/assign',
  operationId: 'assignLun',
  tags: lunTags,
  summary: 'Assign to a node',
  description:
    "Adds the machine's initiator name to the target's ACL (status `active`). A LUN is assigned to one node unless `shareable`.",
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params: LunIdParams, body: jsonRequest(AssignLunRequestSchema) },
  responses: {
    200: jsonResponse('The LUN', LunSchema),
    ...errors(400, 404, 409, 413, 422, 503),
  },
})

export const unassignLun = createRoute({
  method: 'post',
  path: '/api/v1/storage/luns/{lun_id}/unassign',
  operationId: 'unassignLun',
  tags: lunTags,
  summary: 'Unassign from a node',
  description: "Removes the machine's initiator from the target's ACL.",
  middleware: [jsonBody(SMALL_BODY_BYTES)] as const,
  request: { params: LunIdParams, body: jsonRequest(AssignLunRequestSchema) },
  responses: {
    200: jsonResponse('The LUN', LunSchema),
    ...errors(400, 404, 409, 413, 422, 503),
  },
})

export const revealLunChap = createRoute({
  method: 'post',
  path: '/api/v1/storage/luns/{lun_id}/chap/reveal',
  operationId: 'revealLunChap',
  tags: lunTags,
  summary: 'Reveal CHAP credentials (admins)',
  description: 'What an initiator needs to log in. Audited; never part of any other answer.',
  request: { params: LunIdParams },
  responses: { 200: jsonResponse('The credentials', ChapCredentialsSchema), ...errors(404, 409) },
})

export const reconcileBackend = createRoute({
  method: 'post',
  path: '/api/v1/storage/backends/{backend_id}/reconcile',
  operationId: 'reconcileBackend',
  tags: lunTags,
  summary: 'Compare an iSCSI host with the records',
  description:
    'Lists the targets on the host and reports orphans (on the host, unknown here), missing LUNs (recorded, not served) and mismatches (size, initiators, CHAP). Nothing is changed or deleted.',
  request: { params: BackendIdParams },
  responses: {
    200: jsonResponse('The differences', ReconcileReportSchema),
    ...errors(400, 404, 503),
  },
})

/** Mounts the machines registry (seeds/003) and the iSCSI LUN API (seeds/000 §3). */
export function lunRoutes(r: Router, pstorage: PStorage): void {
  const { luns, machines } = pstorage
  r.mount('viewer', listMachines, async (c) =>
    c.json(await machines.list(c.req.valid('query')), 200),
  )
  r.mount('operator', createMachine, async (c) =>
    c.json(await machines.create(c.req.valid('json')), 201),
  )
  r.mount('viewer', getMachine, async (c) =>
    c.json(await machines.get(c.req.valid('param').machine_id), 200),
  )
  r.mount('operator', updateMachine, async (c) =>
    c.json(await machines.update(c.req.valid('param').machine_id, c.req.valid('json')), 200),
  )
  r.mount('operator', deleteMachine, async (c) => {
    await machines.delete(c.req.valid('param').machine_id)
    return c.body(null, 204)
  })
  r.mount('viewer', listLuns, async (c) => c.json(await luns.list(c.req.valid('query')), 200))
  r.mount('viewer', getLun, async (c) => c.json(await luns.get(c.req.valid('param').lun_id), 200))
  r.mount('operator', createLun, async (c) => c.json(await luns.create(c.req.valid('json')), 202))
  r.mount('operator', updateLun, async (c) =>
    c.json(await luns.update(c.req.valid('param').lun_id, c.req.valid('json')), 200),
  )
  r.mount('operator', deleteLun, async (c) =>
    c.json(await luns.delete(c.req.valid('param').lun_id), 202),
  )
  r.mount('operator', assignLun, async (c) =>
    c.json(await luns.assign(c.req.valid('param').lun_id, c.req.valid('json')), 200),
  )
  r.mount('operator', unassignLun, async (c) =>
    c.json(await luns.unassign(c.req.valid('param').lun_id, c.req.valid('json')), 200),
  )
  r.mount('admin', revealLunChap, async (c) =>
    c.json(await luns.revealChap(c.req.valid('param').lun_id), 200),
  )
  r.mount('operator', reconcileBackend, async (c) =>
    c.json(await luns.reconcile(c.req.valid('param').backend_id), 200),
  )
}
