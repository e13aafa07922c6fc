import { z } from 'zod'

/** `GET /health` (seeds/001, "Health Check"). */
export const HealthSchema = z
  .object({
    status: z.enum(['healthy', 'degraded', 'unhealthy']).meta({ example: 'healthy' }),
    reduction_ratio: z.number().min(1).meta({ example: 2.5 }),
    cluster_enabled: z.boolean().meta({ example: false }),
  })
  .meta({ id: 'Health' })
export type Health = z.infer<typeof HealthSchema>

const CheckStatusSchema = z.enum(['healthy', 'degraded', 'unhealthy'])

/** `GET /health/detailed`: each dependency checked, in the spirit of seeds/003 "Health". */
export const HealthDetailedSchema = z
  .object({
    status: CheckStatusSchema.meta({ example: 'healthy' }),
    timestamp: z.iso.datetime().meta({ example: '2024-01-15T10:30:00Z' }),
    service: z.literal('pstorage'),
    version: z.string().meta({ example: '0.1.0' }),
    checks: z.object({
      database: z.object({ status: CheckStatusSchema, error: z.string().nullable() }),
      data_directory: z.object({
        status: CheckStatusSchema,
        path: z.string().nullable().meta({ description: 'null when metadata lives in memory' }),
        exists: z.boolean(),
        writable: z.boolean(),
        total_bytes: z.number().int().min(0).nullable(),
        free_bytes: z.number().int().min(0).nullable(),
      }),
      engine: z.object({
        status: CheckStatusSchema,
        error: z.string().nullable(),
        utilization: z.number().min(0).max(1).nullable(),
        garbage_collection: z.enum(['idle', 'running']).nullable(),
      }),
      system: z.object({
        memory: z.object({
          rss_bytes: z.number().int().min(0),
          heap_used_bytes: z.number().int().min(0),
          total_bytes: z.number().int().min(0),
          available_bytes: z.number().int().min(0),
        }),
        uptime_seconds: z
          .number()
          .min(0)
          .meta({ description: 'Seconds since this process started' }),
      }),
    }),
  })
  .meta({ id: 'HealthDetailed' })
export type HealthDetailed = z.infer<typeof HealthDetailedSchema>
