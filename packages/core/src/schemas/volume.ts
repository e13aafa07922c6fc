import { z } from 'zod'
import { IdSchema, listQuerySchema, TagsSchema, TimestampSchema } from './common.js'

/** Bytes in one "GB" of seeds/001: `size_gb: 100` is `size_bytes: 107374182400`, so GiB. */
export const BYTES_PER_GB = 1024 ** 3

/** The largest volume of seeds/001 ("Size in GB (max 1024)"). */
export const MAX_VOLUME_SIZE_GB = 1024

const NameSchema = z
  .string()
  .min(1)
  .max(255)
  .refine((name) => name.trim().length > 0, { message: 'must not be blank' })
  .refine((name) => !/[\p{Cc}]/u.test(name), { message: 'must not contain control characters' })

const DescriptionSchema = z.string().max(1024)

const SizeGbSchema = z.number().positive().max(MAX_VOLUME_SIZE_GB).meta({
  description: 'Size in GiB, > 0 and <= 1024; rounded up to whole 4 KiB blocks',
  example: 100,
})

/** The lifecycle states of a volume. */
export const VolumeStateSchema = z.enum(['available', 'creating', 'deleting', 'error'])
export type VolumeState = z.infer<typeof VolumeStateSchema>

/** A volume, exactly as seeds/001 shows it ("Create Volume", response). */
/** The data-reduction policy of a volume (the engine's `ReductionPolicy`). */
export const ReductionPolicySchema = z.enum(['lz4', 'dense']).meta({ example: 'lz4' })

export const VolumeSchema = z
  .object({
    id: IdSchema,
    name: z.string().meta({ example: 'production-db' }),
    size_bytes: z.number().int().min(0).meta({ example: 107374182400 }),
    used_bytes: z.number().int().min(0).meta({ example: 0 }),
    state: VolumeStateSchema.meta({ example: 'available' }),
    description: z.string().nullable().meta({ example: 'PostgreSQL data volume' }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
    tags: z
      .record(z.string(), z.string())
      .meta({ example: { env: 'production', app: 'postgres' } }),
    reduction_ratio: z.number().min(1).meta({ example: 1.0 }),
    reduction_policy: ReductionPolicySchema,
  })
  .meta({ id: 'Volume' })
export type Volume = z.infer<typeof VolumeSchema>

/** `POST /api/v1/volumes`. Unknown fields are rejected. */
export const CreateVolumeRequestSchema = z
  .strictObject({
    name: NameSchema.meta({ example: 'production-db' }),
    size_gb: SizeGbSchema,
    description: DescriptionSchema.optional().meta({ example: 'PostgreSQL data volume' }),
    tags: TagsSchema.optional(),
    reduction_policy: ReductionPolicySchema.optional().meta({
      description:
        'Data reduction of the volume: `lz4` (default: fast, LZ4 per small group of blocks) or `dense` (zstd over larger groups: smaller, slower to read). Clones and restores keep it.',
    }),
  })
  .meta({ id: 'CreateVolumeRequest' })
export type CreateVolumeRequest = z.infer<typeof CreateVolumeRequestSchema>

/** `PUT /api/v1/volumes/{id}`: every field optional, only those given change. */
export const UpdateVolumeRequestSchema = z
  .strictObject({
    name: NameSchema.optional(),
    description: DescriptionSchema.nullable().optional(),
    tags: TagsSchema.optional().meta({ description: 'Replaces the existing tags' }),
  })
  .meta({ id: 'UpdateVolumeRequest', example: { description: 'Primary PostgreSQL data' } })
export type UpdateVolumeRequest = z.infer<typeof UpdateVolumeRequestSchema>

/** `POST /api/v1/volumes/{id}/resize`: grow only. */
export const ResizeVolumeRequestSchema = z
  .strictObject({ size_gb: SizeGbSchema.meta({ example: 200 }) })
  .meta({ id: 'ResizeVolumeRequest' })
export type ResizeVolumeRequest = z.infer<typeof ResizeVolumeRequestSchema>

/** `POST /api/v1/volumes/{id}/clone`. */
export const CloneVolumeRequestSchema = z
  .strictObject({
    name: NameSchema.meta({ example: 'production-db-clone' }),
    description: DescriptionSchema.optional().meta({ example: 'Clone for testing' }),
    tags: TagsSchema.optional(),
  })
  .meta({ id: 'CloneVolumeRequest' })
export type CloneVolumeRequest = z.infer<typeof CloneVolumeRequestSchema>

/** The sort keys of `GET /api/v1/volumes`. */
export const VOLUME_SORT_KEYS = ['name', 'created_at', 'updated_at', 'size_bytes'] as const
export type VolumeSortKey = (typeof VOLUME_SORT_KEYS)[number]

/** `GET /api/v1/volumes` query. */
export const ListVolumesQuerySchema = listQuerySchema(VOLUME_SORT_KEYS)

/** `GET /api/v1/volumes` (seeds/001, "List Volumes"). */
export const VolumeListSchema = z
  .object({ volumes: z.array(VolumeSchema), total: z.number().int().min(0).meta({ example: 1 }) })
  .meta({ id: 'VolumeList' })
export type VolumeList = z.infer<typeof VolumeListSchema>
