import { z } from 'zod'
import { LunNameSchema } from '../iscsi/schemas.js'
import { IdSchema, listQuerySchema, TimestampSchema } from '../schemas/common.js'

/** seeds/000 §3 `purpose`. */
export const LUN_PURPOSES = ['boot_from_san', 'install_source', 'auto_provision'] as const
/** seeds/000 §3 `status`: `creating`/`deleting` while a job works, `ready` unassigned, `active` assigned. */
export const LUN_STATUSES = ['active', 'ready', 'error', 'creating', 'deleting'] as const
export type LunStatus = (typeof LUN_STATUSES)[number]

/** Largest LUN: 64 TiB, the size a sparse file on ext4/XFS comfortably holds. */
export const MAX_LUN_SIZE_GB = 65_536

/** `POST /api/v1/storage/luns`: answered 202 `creating`; a job does the work on the host. */
export const CreateLunRequestSchema = z
  .strictObject({
    name: LunNameSchema.meta({
      description: 'a-z 0-9 _ -, up to 64; part of the IQN and the backing file name',
    }),
    size_gb: z.number().int().min(1).max(MAX_LUN_SIZE_GB),
    target_id: z.string().min(1).max(64).meta({ description: 'The iscsi backend (host)' }),
    purpose: z.enum(LUN_PURPOSES).optional().meta({ description: 'Default boot_from_san' }),
    chap_enabled: z.boolean().optional().meta({ description: 'Default false' }),
    shareable: z
      .boolean()
      .optional()
      .meta({ description: 'May be assigned to several nodes (clustered file systems)' }),
  })
  .meta({
    id: 'CreateLunRequest',
    example: {
      name: 'node1-boot',
      size_gb: 40,
      target_id: '550e8400-e29b-41d4-a716-446655440000',
      purpose: 'boot_from_san',
      chap_enabled: true,
    },
  })

/** `PATCH /api/v1/storage/luns/{id}`: CHAP on/off (credentials generated), purpose, sharing. */
export const UpdateLunRequestSchema = z
  .strictObject({
    purpose: z.enum(LUN_PURPOSES).optional(),
    chap_enabled: z.boolean().optional(),
    shareable: z.boolean().optional(),
  })
  .meta({ id: 'UpdateLunRequest', example: { chap_enabled: true } })

/** seeds/000 §3 `IscsiLun`, plus the reason of an `error` and the assignment list. */
export const LunSchema = z
  .object({
    id: IdSchema,
    name: z.string(),
    size_gb: z.number().int(),
    target_id: z.string(),
    target_name: z.string(),
    iqn: z.string(),
    purpose: z.enum(LUN_PURPOSES),
    status: z.enum(LUN_STATUSES),
    status_message: z.string().nullable().meta({ description: 'Why, in `error`' }),
    assigned_node_id: z.string().nullable(),
    assigned_node_name: z.string().nullable(),
    assigned_node_ids: z.array(z.string()),
    shareable: z.boolean(),
    chap_enabled: z.boolean(),
    chap_user: z.string().nullable().meta({ description: 'The secret is never shown here' }),
    portal: z.object({ address: z.string(), port: z.number().int() }),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({
    id: 'IscsiLun',
    example: {
      id: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
      name: 'node1-boot',
      size_gb: 40,
      target_id: '550e8400-e29b-41d4-a716-446655440000',
      target_name: 'san-1',
      iqn: 'iqn.2026-01.local.pstorage:node1-boot',
      purpose: 'boot_from_san',
      status: 'active',
      status_message: null,
      assigned_node_id: '9b2f0e1c-3a4d-4e5f-8a6b-7c8d9e0f1a2b',
      assigned_node_name: 'node1',
      assigned_node_ids: ['9b2f0e1c-3a4d-4e5f-8a6b-7c8d9e0f1a2b'],
      shareable: false,
      chap_enabled: true,
      chap_user: 'node1-boot',
      portal: { address: '192.0.2.10', port: 3260 },
      created_at: '2026-01-20T10:00:00Z',
      updated_at: '2026-01-20T10:00:05Z',
    },
  })
export type Lun = z.infer<typeof LunSchema>

export const LUN_SORT_KEYS = ['name', 'created_at', 'updated_at', 'size_gb'] as const
/** `GET /api/v1/storage/luns` query. */
export const ListLunsQuerySchema = listQuerySchema(LUN_SORT_KEYS).extend({
  target_id: z.string().max(64).optional(),
  status: z.enum(LUN_STATUSES).optional(),
  purpose: z.enum(LUN_PURPOSES).optional(),
})

export const LunListSchema = z
  .object({ luns: z.array(LunSchema), total: z.number().int().min(0) })
  .meta({ id: 'LunList' })
export type LunList = z.infer<typeof LunListSchema>

/** `POST .../assign` and `.../unassign`. */
export const AssignLunRequestSchema = z
  .strictObject({ node_id: z.string().min(1).max(64).meta({ description: 'A machine id' }) })
  .meta({ id: 'AssignLunRequest', example: { node_id: '9b2f0e1c-3a4d-4e5f-8a6b-7c8d9e0f1a2b' } })

/** `POST .../chap/reveal` (admins): what an initiator needs to log in. */
export const ChapCredentialsSchema = z
  .object({ userid: z.string(), secret: z.string() })
  .meta({ id: 'ChapCredentials', example: { userid: 'node1-boot', secret: 'q7Rk2mXa9Lp4Zt' } })

/** `POST /api/v1/storage/backends/{id}/reconcile`: differences, nothing changed. */
export const ReconcileReportSchema = z
  .object({
    backend_id: z.string(),
    checked_at: TimestampSchema,
    in_sync: z.boolean(),
    orphans: z
      .array(
        z.object({
          iqn: z.string(),
          backing_paths: z.array(z.string()),
          initiators: z.array(z.string()),
        }),
      )
      .meta({ description: 'Targets on the host that PStorage does not know' }),
    missing: z
      .array(z.object({ lun_id: z.string(), name: z.string(), iqn: z.string() }))
      .meta({ description: 'LUNs PStorage knows that the host does not serve' }),
    mismatched: z
      .array(
        z.object({
          lun_id: z.string(),
          name: z.string(),
          iqn: z.string(),
          problems: z.array(z.string()),
        }),
      )
      .meta({ description: 'LUNs served differently from their record' }),
  })
  .meta({ id: 'ReconcileReport' })
export type ReconcileReport = z.infer<typeof ReconcileReportSchema>
