import { createRoute } from '@hono/zod-openapi'
import {
  AllMetricsSchema,
  ArrayListSchema,
  FlashMetricsSchema,
  type PStorage,
  ReductionMetricsSchema,
  ReplicationMetricsSchema,
  VolumeMetricsSchema,
} from '@pstorage/core'
import type { Router } from '../security/access.js'
import { jsonResponse } from './shared.js'

const get = <S extends Parameters<typeof jsonResponse>[1]>(
  path: string,
  operationId: string,
  summary: string,
  schema: S,
  tag = 'Metrics',
) =>
  createRoute({
    method: 'get',
    path,
    operationId,
    tags: [tag],
    summary,
    responses: { 200: jsonResponse(summary, schema) },
  })

export const listArrays = get(
  '/api/v1/arrays',
  'listArrays',
  'The storage array, with live capacity',
  ArrayListSchema,
  'Arrays',
)
export const getMetrics = get(
  '/api/v1/metrics',
  'getMetrics',
  'Every metrics document at once',
  AllMetricsSchema,
)
export const getReductionMetrics = get(
  '/api/v1/metrics/reduction',
  'getReductionMetrics',
  'Data reduction: pattern removal, dedupe, compression',
  ReductionMetricsSchema,
)
export const getFlashMetrics = get(
  '/api/v1/metrics/flash',
  'getFlashMetrics',
  'The simulated flash medium: capacity, wear, garbage collection',
  FlashMetricsSchema,
)
export const getVolumeMetrics = get(
  '/api/v1/metrics/volumes',
  'getVolumeMetrics',
  'Volumes and snapshots',
  VolumeMetricsSchema,
)
export const getReplicationMetrics = get(
  '/api/v1/metrics/replication',
  'getReplicationMetrics',
  'Replication (the disabled shape until clustering exists)',
  ReplicationMetricsSchema,
)

/** Mounts `/api/v1/arrays` and the metrics documents of seeds/001, all from live counters. */
export function metricsRoutes(r: Router, pstorage: PStorage): void {
  const { system, engine } = pstorage
  r.mount('viewer', listArrays, async (c) => c.json(await system.arrays(), 200))
  r.mount('viewer', getMetrics, async (c) => c.json(await system.metrics(), 200))
  r.mount('viewer', getReductionMetrics, async (c) => c.json((await engine.stats()).reduction, 200))
  r.mount('viewer', getFlashMetrics, async (c) => c.json((await engine.stats()).flash, 200))
  r.mount('viewer', getVolumeMetrics, async (c) => c.json(await system.volumeMetrics(), 200))
  r.mount('viewer', getReplicationMetrics, async (c) => c.json(await system.replication(), 200))
}
