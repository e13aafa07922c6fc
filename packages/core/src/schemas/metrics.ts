import { z } from 'zod'

/** `GET /api/v1/metrics/reduction` (seeds/001, "Data Reduction Metrics"). */
export const ReductionMetricsSchema = z
  .object({
    overall_reduction_ratio: z.number().min(1).meta({ example: 3.5 }),
    deduplication: z.object({
      ratio: z.number().min(1).meta({ example: 2.1 }),
      unique_blocks: z.number().int().min(0).meta({ example: 1000 }),
      duplicate_blocks: z.number().int().min(0).meta({ example: 1100 }),
    }),
    compression: z.object({
      ratio: z.number().min(1).meta({ example: 1.7 }),
      algorithm: z.string().meta({ example: 'lz4' }),
    }),
    pattern_removal: z.object({
      zero_blocks_found: z.number().int().min(0).meta({ example: 500 }),
      pattern_blocks_found: z.number().int().min(0).meta({ example: 50 }),
    }),
    bytes_saved: z.object({
      pattern: z.number().int().min(0).meta({ example: 2097152 }),
      dedupe: z.number().int().min(0).meta({ example: 4608000 }),
      compression: z.number().int().min(0).meta({ example: 1572864 }),
    }),
  })
  .meta({ id: 'ReductionMetrics' })
export type ReductionMetrics = z.infer<typeof ReductionMetricsSchema>

/** `GET /api/v1/metrics/flash` (seeds/001, "Flash Metrics"). */
export const FlashMetricsSchema = z
  .object({
    capacity: z.object({
      total_bytes: z.number().int().min(0).meta({ example: 268435456 }),
      used_bytes: z.number().int().min(0).meta({ example: 134217728 }),
      free_bytes: z.number().int().min(0).meta({ example: 134217728 }),
      utilization: z.number().min(0).max(1).meta({ example: 0.5 }),
    }),
    health: z.object({
      health_percentage: z.number().min(0).max(100).meta({ example: 99.5 }),
      avg_erase_count: z.number().min(0).meta({ example: 50 }),
      max_erase_count: z.number().int().min(0).meta({ example: 120 }),
    }),
    wear_leveling: z.object({
      blocks_moved: z.number().int().min(0).meta({ example: 15 }),
      wear_variance: z.number().min(0).meta({ example: 25.3 }),
    }),
    garbage_collection: z.object({
      state: z.enum(['idle', 'running']).meta({ example: 'idle' }),
      blocks_reclaimed: z.number().int().min(0).meta({ example: 100 }),
      gc_runs: z.number().int().min(0).meta({ example: 5 }),
    }),
  })
  .meta({ id: 'FlashMetrics' })
export type FlashMetrics = z.infer<typeof FlashMetricsSchema>

/** `GET /api/v1/metrics/volumes` (seeds/001, "Volume Metrics"). */
export const VolumeMetricsSchema = z
  .object({
    volumes: z.object({
      total: z.number().int().min(0).meta({ example: 5 }),
      provisioned_bytes: z.number().int().min(0).meta({ example: 536870912000 }),
      used_bytes: z.number().int().min(0).meta({ example: 107374182400 }),
    }),
    snapshots: z.object({
      total: z.number().int().min(0).meta({ example: 25 }),
      by_volume: z.record(z.string(), z.number().int().min(0)).meta({ example: { 'vol-1': 5 } }),
    }),
  })
  .meta({ id: 'VolumeMetrics' })
export type VolumeMetrics = z.infer<typeof VolumeMetricsSchema>

/** `GET /api/v1/metrics/replication` (seeds/001): the clustering-disabled shape, or the enabled one. */
export const ReplicationMetricsSchema = z
  .union([
    z.object({
      enabled: z.literal(false),
      message: z.string().meta({ example: 'Clustering is not enabled' }),
    }),
    z.object({
      enabled: z.literal(true),
      mode: z.enum(['sync', 'async']),
      peers: z.number().int().min(0),
      operations: z.object({
        replicated: z.number().int().min(0),
        pending: z.number().int().min(0),
        errors: z.number().int().min(0),
      }),
      latency_ms: z.number().min(0),
      failover: z.object({
        state: z.string(),
        total_failovers: z.number().int().min(0),
        avg_time_ms: z.number().min(0),
      }),
    }),
  ])
  .meta({ id: 'ReplicationMetrics' })
export type ReplicationMetrics = z.infer<typeof ReplicationMetricsSchema>

/** `GET /api/v1/metrics`: every metrics document in one. */
export const AllMetricsSchema = z
  .object({
    reduction: ReductionMetricsSchema,
    flash: FlashMetricsSchema,
    volumes: VolumeMetricsSchema,
    replication: ReplicationMetricsSchema,
  })
  .meta({ id: 'AllMetrics' })
export type AllMetrics = z.infer<typeof AllMetricsSchema>
