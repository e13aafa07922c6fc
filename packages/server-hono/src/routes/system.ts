import { createRoute } from '@hono/zod-openapi'
import { HealthDetailedSchema, HealthSchema, type PStorage } from '@pstorage/core'
import type { Router } from '../security/access.js'
import { jsonResponse } from './shared.js'

export const getHealth = createRoute({
  method: 'get',
  path: '/health',
  operationId: 'getHealth',
  tags: ['Health'],
  summary: 'Health check',
  description: 'Public. `healthy` when the metadata store and the block engine both answer.',
  responses: {
    200: jsonResponse('The service is healthy', HealthSchema),
    503: jsonResponse('The service is unhealthy', HealthSchema),
  },
})

export const getHealthDetailed = createRoute({
  method: 'get',
  path: '/health/detailed',
  operationId: 'getHealthDetailed',
  tags: ['Health'],
  summary: 'Detailed health',
  description:
    'Database, data directory (written to for real), engine, free space, memory and uptime.',
  responses: {
    200: jsonResponse('Healthy or degraded', HealthDetailedSchema),
    503: jsonResponse('Unhealthy', HealthDetailedSchema),
  },
})

/** Mounts `/health` (seeds/001 "Health Check") and `/health/detailed`. */
export function systemRoutes(r: Router, pstorage: PStorage): void {
  r.mount('public', getHealth, async (c) => {
    const health = await pstorage.system.health()
    return health.status === 'unhealthy' ? c.json(health, 503) : c.json(health, 200)
  })
  r.mount('viewer', getHealthDetailed, async (c) => {
    const health = await pstorage.system.healthDetailed()
    return health.status === 'unhealthy' ? c.json(health, 503) : c.json(health, 200)
  })
}
