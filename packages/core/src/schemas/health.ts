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
