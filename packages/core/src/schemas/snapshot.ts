import { z } from 'zod'
import { IdSchema, listQuerySchema, TagsSchema, TimestampSchema } from './common.js'

/** A snapshot, exactly as seeds/001 shows it ("Create Snapshot", response). */
export const SnapshotSchema = z
  .object({
    id: IdSchema,
    name: z.string().meta({ example: 'daily-backup-2024-01-15' }),
    volume_id: IdSchema,
    volume_name: z.string().meta({ example: 'production-db' }),
    size_bytes: z.number().int().min(0).meta({ example: 107374182400 }),
    used_bytes: z.number().int().min(0).meta({ example: 52428800 }),
    state: z.enum(['available', 'creating', 'deleting', 'error']).meta({ example: 'available' }),
    description: z.string().nullable().meta({ example: 'Automated daily backup' }),
    created_at: TimestampSchema,
    tags: z.record(z.string(), z.string()).meta({ example: {} }),
  })
  .meta({ id: 'Snapshot' })
export type Snapshot = z.infer<typeof SnapshotSchema>

/** `POST /api/v1/volumes/{id}/snapshots`. */
export const CreateSnapshotRequestSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(255)
      .refine((name) => name.trim().length > 0 && !/[\p{Cc}]/u.test(name), {
        message: 'must not be blank or contain control characters',
      })
      .meta({ example: 'daily-backup-2024-01-15' }),
    description: z.string().max(1024).optional().meta({ example: 'Automated daily backup' }),
    tags: TagsSchema.optional(),
  })
  .meta({ id: 'CreateSnapshotRequest' })
export type CreateSnapshotRequest = z.infer<typeof CreateSnapshotRequestSchema>

/** `POST /api/v1/volumes/{id}/snapshots/{sid}/restore` (seeds/001, "Restore Snapshot"). */
export const RestoreSnapshotRequestSchema = z
  .strictObject({
    target_volume_id: IdSchema.nullable()
      .default(null)
      .meta({ description: 'null: restore to a new volume; an id: overwrite that volume' }),
    name: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .meta({ description: 'Name of the new volume (target_volume_id null); generated if absent' }),
  })
  .meta({ id: 'RestoreSnapshotRequest', example: { target_volume_id: null } })
export type RestoreSnapshotRequest = z.infer<typeof RestoreSnapshotRequestSchema>

export const SNAPSHOT_SORT_KEYS = ['name', 'created_at'] as const
export type SnapshotSortKey = (typeof SNAPSHOT_SORT_KEYS)[number]

/** Query of the snapshot lists. */
export const ListSnapshotsQuerySchema = listQuerySchema(SNAPSHOT_SORT_KEYS)

/** `GET /api/v1/snapshots` and `GET /api/v1/volumes/{id}/snapshots`. */
export const SnapshotListSchema = z
  .object({
    snapshots: z.array(SnapshotSchema),
    total: z.number().int().min(0).meta({ example: 5 }),
  })
  .meta({ id: 'SnapshotList' })
export type SnapshotList = z.infer<typeof SnapshotListSchema>
