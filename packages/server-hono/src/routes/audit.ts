import { createRoute } from '@hono/zod-openapi'
import { AuditListSchema, ListAuditQuerySchema, type PStorage } from '@pstorage/core'
import type { Router } from '../security/access.js'
import { errors, jsonResponse } from './shared.js'

export const listAudit = createRoute({
  method: 'get',
  path: '/api/v1/audit',
  operationId: 'listAudit',
  tags: ['Audit'],
  summary: 'Read the audit log',
  description:
    'Every mutating request and auth event, newest first; filter by actor, action, resource and time. Append-only.',
  request: { query: ListAuditQuerySchema },
  responses: {
    200: jsonResponse('A page of audit entries', AuditListSchema),
    ...errors(401, 403, 422),
  },
})

/** Mounts the audit log (admins). There is no route that changes it. */
export function auditRoutes(r: Router, pstorage: PStorage): void {
  r.mount('admin', listAudit, async (c) => {
    const page = await pstorage.identity.audit.list(c.req.valid('query'))
    c.header('X-Total-Count', String(page.total))
    return c.json(page, 200)
  })
}
